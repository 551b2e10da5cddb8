"""Projection of events into entity tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.storage import models
from kefu.storage.projection import project, project_actions
from tests.engine.helpers import ev, msg


def test_orders_payments_cancels_and_aftersales_are_projected(db_engine) -> None:
    items = [
        (ev("product", 0, product="p1", title="保温杯", price=89.0, category="home"), None),
        (ev("agent", 0, agent="a1", name="A1", role="agent", groups=["售前"], capacity=3), None),
        (ev("agent.status", 0, agent="a1", status="online"), None),
        (msg("b1", 1, text="有货吗", product="p1"), "b1~1"),
        (msg("b1", 2, sender="agent", agent="a1", text="有的"), "b1~1"),
        (ev("order", 3, order="o1", buyer="b1", items=[{"product": "p1", "qty": 2,
            "price": 89.0}], amount=178.0), None),
        (ev("payment", 4, order="o1", amount=178.0), None),
        (ev("order", 5, order="o2", buyer="b1", items=[], amount=5.0), None),
        (ev("order.cancel", 6, order="o2"), None),
        (ev("aftersale.open", 7, buyer="b1", order="o1"), None),
        (ev("aftersale.close", 8, buyer="b1", order="o1"), None),
    ]  # fmt: skip
    with Session(db_engine) as s, s.begin():
        project(s, "s1", items)
    with Session(db_engine) as s:
        orders = {o.order_id: o for o in s.scalars(select(models.Order))}
        assert orders["o1"].status == "paid"
        assert orders["o1"].items == [{"product": "p1", "qty": 2, "price": 89.0}]
        assert (orders["o2"].status, orders["o2"].cancelled_ms is not None) == ("cancelled", True)
        (pay,) = s.scalars(select(models.Payment))
        assert (pay.order_id, pay.amount) == ("o1", 178.0)
        (case,) = s.scalars(select(models.Aftersale))
        assert case.closed_ms is not None and case.closed_ms > case.opened_ms
        (agent,) = s.scalars(select(models.Agent))
        assert (agent.status, agent.groups, agent.capacity) == ("online", ["售前"], 3)
        msgs = s.execute(select(models.Message.sender, models.Message.conversation)).all()
        assert sorted(msgs) == [("agent", "b1~1"), ("buyer", "b1~1")]


def test_a_later_upsert_in_another_batch_updates_and_keeps_first_seen(db_engine) -> None:
    with Session(db_engine) as s, s.begin():
        project(s, "s1", [(ev("buyer", 0, buyer="b1", province="浙江"), None)])
    with Session(db_engine) as s, s.begin():
        project(s, "s1", [(ev("buyer", 60, buyer="b1", province="江苏"), None)])
    with Session(db_engine) as s:
        (b,) = s.scalars(select(models.Buyer))
        assert b.province == "江苏"
        assert b.first_seen_ms == ev("buyer", 0, buyer="x").at


def test_conversation_rows_follow_open_assign_close(db_engine) -> None:
    from kefu.engine.actions import Assign, ConversationClosed, ConversationOpen

    acts = [
        ConversationOpen(ts=1, store="s1", buyer="b1", conversation="b1~1"),
        Assign(ts=2, store="s1", buyer="b1", conversation="b1~1", agent="a1", reason="x"),
        ConversationClosed(ts=3, store="s1", buyer="b1", conversation="b1~1", reason="timeout"),
    ]
    with Session(db_engine) as s, s.begin():
        project_actions(s, acts)
    with Session(db_engine) as s:
        (c,) = s.scalars(select(models.Conversation))
        assert (c.opened_ms, c.agent, c.closed_ms, c.status, c.close_reason) == (
            1, "a1", 3, "closed", "timeout")  # fmt: skip


def test_rows_of_one_store_are_invisible_to_another(db_engine) -> None:
    with Session(db_engine) as s, s.begin():
        project(s, "A", [(msg("b1", 1, text="hi"), "b1~1")])
        project(s, "B", [(msg("b1", 1, text="hello"), "b1~1")])
    with Session(db_engine) as s:
        texts = s.scalars(select(models.Message.text).where(models.Message.store == "A")).all()
        assert texts == ["hi"]
