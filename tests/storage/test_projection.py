"""Projection of events and engine actions into the entity tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from kefu.engine.actions import Assign, ConversationClosed, ConversationOpen
from kefu.storage import models
from kefu.storage.projection import project, project_actions, project_conversation
from tests.engine.helpers import ev, msg

T0 = ev("search", 0, buyer="x", keyword="x").at
MIN = 60_000


def rows(s: Session, model, *cols: str) -> list[tuple]:
    table = model.__table__
    order = list(table.primary_key.columns)
    return [tuple(r) for r in s.execute(select(*(table.c[c] for c in cols)).order_by(*order))]


def test_a_small_event_list_projects_to_exact_rows(db_session) -> None:
    items = [
        (ev("product", 0, product="p1", title="保温杯", price=89.0, category="home",
            attrs={"color": "red"}, stock=5), None),
        (ev("agent", 0, agent="a1", name="小王", role="agent", groups=["售前"], capacity=3), None),
        (ev("agent.status", 0, agent="a1", status="online"), None),
        (ev("buyer", 0, buyer="b1", province="浙江", gender="f", age_band="25-34"), None),
        (msg("b1", 1, text="有货吗", product="p1"), "b1~1"),
        (msg("b1", 2, sender="agent", agent="a1", text="有的"), "b1~1"),
        (msg("b2", 2, sender="agent", agent="a2", text="在的", products=["p1"]), "b2~1"),
        (ev("view", 3, buyer="b3", product="p1"), None),
        (ev("order", 3, order="o1", buyer="b1", items=[{"product": "p1", "qty": 2,
            "price": 89.0}], amount=178.0), None),
        (ev("payment", 4, order="o1", amount=178.0), None),
        (ev("order", 5, order="o2", buyer="b1", items=[], amount=5.0), None),
        (ev("order.cancel", 6, order="o2"), None),
        (ev("aftersale.open", 7, buyer="b1", order="o1"), None),
        (ev("aftersale.close", 8, buyer="b1", order="o1"), None),
    ]  # fmt: skip
    project(db_session, "s1", items)
    db_session.commit()
    s = db_session
    assert rows(s, models.Store, "id", "name", "tier", "created_ms") == [("s1", "", None, T0)]
    assert rows(s, models.Product, "store", "product", "title", "price", "category", "attrs",
                "description", "status", "stock") == [
        ("s1", "p1", "保温杯", 89.0, "home", {"color": "red"}, None, "on_sale", 5)]  # fmt: skip
    assert rows(s, models.Agent, "agent", "name", "role", "groups", "capacity", "status",
                "updated_ms") == [
        ("a1", "小王", "agent", ["售前"], 3, "online", T0),
        ("a2", "", "agent", [], None, "offline", T0 + 2 * MIN),  # only seen speaking
    ]  # fmt: skip
    assert rows(s, models.Buyer, "buyer", "province", "gender", "age_band", "first_seen_ms") == [
        ("b1", "浙江", "f", "25-34", T0),
        ("b2", None, None, None, T0 + 2 * MIN),
        ("b3", None, None, None, T0 + 3 * MIN),
    ]  # fmt: skip
    assert rows(s, models.Message, "seq", "conversation", "buyer", "sender", "agent", "text",
                "product", "products", "ts_ms") == [
        (1, "b1~1", "b1", "buyer", None, "有货吗", "p1", None, T0 + MIN),
        (2, "b1~1", "b1", "agent", "a1", "有的", None, None, T0 + 2 * MIN),
        (3, "b2~1", "b2", "agent", "a2", "在的", None, ["p1"], T0 + 2 * MIN),
    ]  # fmt: skip
    assert rows(s, models.Order, "order_id", "buyer", "amount", "items", "created_ms", "status",
                "cancelled_ms") == [
        ("o1", "b1", 178.0, [{"product": "p1", "qty": 2, "price": 89.0}], T0 + 3 * MIN, "paid",
         None),
        ("o2", "b1", 5.0, [], T0 + 5 * MIN, "cancelled", T0 + 6 * MIN),
    ]  # fmt: skip
    assert rows(s, models.Payment, "order_id", "amount", "paid_ms") == [
        ("o1", 178.0, T0 + 4 * MIN)]  # fmt: skip
    assert rows(s, models.Aftersale, "order_id", "buyer", "opened_ms", "closed_ms") == [
        ("o1", "b1", T0 + 7 * MIN, T0 + 8 * MIN)]  # fmt: skip


def test_changes_in_later_calls_update_rows_made_by_earlier_ones(db_session) -> None:
    s = db_session
    project(s, "s1", [
        (ev("buyer", 0, buyer="b1", province="浙江"), None),
        (ev("agent", 0, agent="a1", name="小王", groups=["售后"]), None),
        (ev("order", 1, order="o1", buyer="b1", amount=10.0), None),
        (ev("order", 1, order="o2", buyer="b1", amount=20.0), None),
        (ev("order", 1, order="o3", buyer="b1", amount=30.0), None),
        (ev("aftersale.open", 2, buyer="b1", order="o1"), None),
    ])  # fmt: skip
    project(s, "s1", [
        (ev("buyer", 10, buyer="b1", province="江苏"), None),
        (msg("b1", 10, sender="agent", agent="a1", text="您好"), None),  # keeps a1's profile
        (ev("agent.status", 11, agent="a1", status="busy"), None),
        (ev("payment", 12, order="o1", amount=10.0), None),
        (ev("order.cancel", 12, order="o2"), None),
        (ev("payment", 13, order="o2", amount=20.0), None),  # too late: stays cancelled
        (ev("aftersale.close", 14, buyer="b1", order="o1"), None),
    ])  # fmt: skip
    s.commit()
    assert rows(s, models.Store, "id", "created_ms") == [("s1", T0)]
    assert rows(s, models.Buyer, "buyer", "province", "first_seen_ms") == [("b1", "江苏", T0)]
    assert rows(s, models.Agent, "agent", "name", "groups", "status", "updated_ms") == [
        ("a1", "小王", ["售后"], "busy", T0 + 11 * MIN)]  # fmt: skip
    assert rows(s, models.Order, "order_id", "status", "cancelled_ms") == [
        ("o1", "paid", None),
        ("o2", "cancelled", T0 + 12 * MIN),
        ("o3", "created", None),
    ]
    assert rows(s, models.Aftersale, "order_id", "closed_ms") == [("o1", T0 + 14 * MIN)]
    assert [r[0] for r in rows(s, models.Payment, "order_id")] == ["o1", "o2"]


def test_conversation_rows_follow_open_assign_close(db_session) -> None:
    s = db_session
    project_actions(s, [
        ConversationOpen(ts=1, store="s1", buyer="b1", conversation="b1~1"),
        Assign(ts=2, store="s1", buyer="b1", conversation="b1~1", agent="a1", reason="x"),
        ConversationOpen(ts=3, store="s1", buyer="b2", conversation="b2~1"),
    ])  # fmt: skip
    project_actions(s, [
        ConversationClosed(ts=4, store="s1", buyer="b1", conversation="b1~1", reason="timeout"),
        Assign(ts=5, store="s1", buyer="b2", conversation="b2~1", agent="a2", reason="x"),
        Assign(ts=6, store="s1", buyer="b9", conversation="b9~1", agent="a2", reason="x"),
    ])  # fmt: skip
    s.commit()
    cols = ("conversation", "buyer", "opened_ms", "agent", "closed_ms", "status", "close_reason")
    assert rows(s, models.Conversation, *cols) == [
        ("b1~1", "b1", 1, "a1", 4, "closed", "timeout"),
        ("b2~1", "b2", 3, "a2", None, "open", None),
    ]  # an assign for a conversation never opened invents no row


def test_project_conversation_upserts_one_row(db_session) -> None:
    s = db_session
    project_conversation(s, "s1", "c1", "b1", opened_ms=100)
    project_conversation(s, "s1", "c1", "b1", agent="a1")
    project_conversation(s, "s1", "c1", "b1", closed_ms=200, status="closed", close_reason="close")
    s.commit()
    cols = ("conversation", "opened_ms", "agent", "closed_ms", "status", "close_reason")
    assert rows(s, models.Conversation, *cols) == [("c1", 100, "a1", 200, "closed", "close")]


def test_rows_of_one_store_are_invisible_to_another(db_session) -> None:
    s = db_session
    project(s, "A", [(msg("b1", 1, text="hi"), "b1~1"), (ev("order", 1, order="o1", buyer="b1",
                                                           amount=1.0), None)])  # fmt: skip
    project(s, "B", [(msg("b1", 1, text="hello"), "b1~1")])
    project(s, "B", [(ev("payment", 2, order="o1", amount=1.0), None)])  # B's o1 is not A's
    s.commit()
    m = models.Message
    assert s.scalars(select(m.text).where(m.store == "A")).all() == ["hi"]
    assert s.scalars(select(m.text).where(m.store == "B")).all() == ["hello"]
    assert rows(s, models.Order, "store", "order_id", "status") == [("A", "o1", "created")]
    assert rows(s, models.Store, "id") == [("A",), ("B",)]
    assert rows(s, models.Buyer, "store", "buyer") == [("A", "b1"), ("B", "b1")]


def test_thousands_of_events_take_a_handful_of_statements(db_engine) -> None:
    items = []
    for i in range(3_000):
        b = f"b{i % 400}"
        items.append((msg(b, i / 100, text=f"m{i}"), f"{b}~1"))
        if i % 3 == 0:
            items.append((ev("order", i / 100, order=f"o{i}", buyer=b, amount=1.0), None))
        if i % 5 == 0:
            items.append((ev("agent.status", i / 100, agent=f"a{i % 7}", status="online"), None))
    statements: list[str] = []
    event.listen(db_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def writes() -> int:
        n = sum(not q.lstrip().upper().startswith(("BEGIN", "SELECT")) for q in statements)
        statements.clear()
        return n

    with Session(db_engine) as s, s.begin():
        project(s, "s1", items)
        # 1 store, 1 agents, 1 buyers, 1 orders (1 000) and the 3 000 messages (in pages of
        # at most 1 000 rows where the driver pages).
        assert writes() <= 8
        project(s, "s1", [(ev("payment", 99, order=f"o{i}", amount=1.0), None)
                          for i in range(0, 3_000, 3)])  # fmt: skip
        # Payment rows, the store (no-op upsert), ONE executemany update of 1 000 orders.
        assert writes() <= 3
        opens = [ConversationOpen(ts=i, store="s1", buyer=f"b{i}", conversation=f"c{i}")
                 for i in range(1_000)]  # fmt: skip
        project_actions(s, opens)
        assert writes() <= 1
        later = [Assign(ts=2_000 + i, store="s1", buyer=f"b{i}", conversation=f"c{i}",
                        agent="a1", reason="x") for i in range(1_000)]  # fmt: skip
        later += [ConversationClosed(ts=3_000 + i, store="s1", buyer=f"b{i}",
                                     conversation=f"c{i}", reason="close")
                  for i in range(1_000)]  # fmt: skip
        project_actions(s, later)
        assert writes() <= 1
    with Session(db_engine) as s:
        assert s.scalar(select(models.Message.seq).order_by(models.Message.seq.desc())) == 3_000
        o = models.Order
        assert s.scalar(select(func.count()).where(o.status == "paid")) == 1_000
        c = models.Conversation
        closed = select(func.count()).where(c.status == "closed", c.agent == "a1")
        assert s.scalar(closed) == 1_000
