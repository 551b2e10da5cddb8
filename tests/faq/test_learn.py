"""Learning FAQ entries from conversations, and the supervisor's review of them."""

from __future__ import annotations

import orjson
import pytest

from kefu.engine.readers import decode_line
from kefu.faq import FaqIndex, ReviewError, accepted, approve, edit, learn, merge, reject
from kefu.faq.learn import group_conversations, qa_pairs, read_conversations, read_proposals

T0 = 1_767_000_000_000  # epoch ms
MIN = 60_000


def msg(t, buyer, sender, text, conv=None, agent="a1"):
    e = {"type": "message", "ts": T0 + t, "store": "s1", "buyer": buyer, "sender": sender,
         "text": text}  # fmt: skip
    if sender == "agent":
        e["agent"] = agent
    if conv:
        e["conversation"] = conv
    return e


def rating(t, buyer, score, conv=None):
    e = {"type": "rating", "ts": T0 + t, "store": "s1", "buyer": buyer, "score": score}
    return e | ({"conversation": conv} if conv else {})


def order(t, buyer):
    return {"type": "order", "ts": T0 + t, "store": "s1", "order": f"o{t}", "buyer": buyer,
            "amount": 10}  # fmt: skip


def decode(events):
    return [decode_line(orjson.dumps(e)) for e in events]


def chat(n, question, answer, score=None, ordered=False, agent="a1"):
    """One small conversation of buyer b<n>, 2 hours after the previous one."""
    t = n * 120 * MIN
    b = f"b{n}"
    evs = [msg(t, b, "buyer", question), msg(t + MIN, b, "agent", answer, agent=agent)]
    if score is not None:
        evs.append(rating(t + 2 * MIN, b, score))
    if ordered:
        evs.append(order(t + 3 * MIN, b))
    return evs


def test_grouping_by_explicit_id_and_by_30_minute_gaps():
    evs = decode([
        msg(0, "b1", "buyer", "在吗"), msg(MIN, "b1", "agent", "在的"),
        msg(29 * MIN, "b1", "buyer", "发货了吗"),  # within 30 min: same conversation
        msg(70 * MIN, "b1", "buyer", "到了吗"),  # 41 min later: a new one
        msg(0, "b2", "buyer", "x", conv="c9"), msg(300 * MIN, "b2", "buyer", "y", conv="c9"),
        rating(301 * MIN, "b2", 5, conv="c9"), order(75 * MIN, "b1"),
    ])  # fmt: skip
    chats = {c.id: c for c in group_conversations(evs)}
    assert sorted(chats) == ["b1#1", "b1#2", "c9"]
    assert [m.text for m in chats["b1#1"].messages] == ["在吗", "在的", "发货了吗"]
    assert chats["c9"].rating == 5 and len(chats["c9"].messages) == 2
    assert chats["b1#2"].orders == [T0 + 75 * MIN]


def test_turns_pair_buyer_questions_with_agent_answers():
    evs = decode([msg(0, "b", "buyer", "你好"), msg(1, "b", "buyer", "包邮吗"),
                  msg(2, "b", "agent", "亲"), msg(3, "b", "agent", "满99包邮"),
                  msg(4, "b", "buyer", "好的")])  # fmt: skip
    (c,) = group_conversations(evs)
    pairs = list(qa_pairs(c))
    assert [(p.question, p.answer) for p in pairs] == [("你好，包邮吗", "亲，满99包邮")]


def test_frequent_question_gets_the_most_reused_answer():
    evs = []
    for n, q in enumerate(["什么时候发货", "啥时候发货呀", "什么时候发货？"]):
        evs += chat(n, q, "亲，48小时内发货哦")
    evs += chat(3, "什么时候发货", "明天发")
    evs += chat(4, "能开发票吗", "可以的")  # asked once: below min_support
    props = learn(group_conversations(decode(evs)))
    assert len(props) == 1
    p = props[0]
    assert p.answer == "亲，48小时内发货哦"
    assert p.status == "proposed"
    assert p.question == "什么时候发货"
    assert set(p.variants) == {"啥时候发货呀", "什么时候发货？"}
    assert p.evidence.uses == 3 and p.evidence.asked == 4
    assert p.evidence.conversations == ["b0#1", "b1#1", "b2#1"]
    assert p.evidence.alternatives == ["明天发"]


def test_an_answer_followed_by_orders_beats_one_reused_as_often():
    evs = []
    evs += chat(0, "有优惠吗", "没有哦") + chat(1, "有优惠吗", "没有哦")
    evs += chat(2, "有优惠吗", "领券满199减20", ordered=True)
    evs += chat(3, "有优惠吗", "领券满199减20", ordered=True)
    (p,) = learn(group_conversations(decode(evs)))
    assert p.answer == "领券满199减20"
    assert p.evidence.orders_after == 2


def test_never_learns_from_badly_rated_conversations():
    evs = []
    for n in range(3):  # the rude answer is given most often, but every time rated 1 or 2
        evs += chat(n, "可以退换吗", "不退不换", score=1 + n % 2)
    evs += chat(3, "可以退换吗", "支持七天无理由退换", score=5)
    evs += chat(4, "可以退换吗", "支持七天无理由退换", score=3)
    (p,) = learn(group_conversations(decode(evs)))
    assert p.answer == "支持七天无理由退换"
    assert p.evidence.mean_rating == 4.0
    assert "不退不换" not in p.evidence.alternatives
    assert all(c in ("b3#1", "b4#1") for c in p.evidence.conversations)
    # only badly rated conversations: nothing at all is learned
    only_bad = chat(0, "可以退换吗", "不退不换", score=2) + chat(
        1, "可以退换吗", "不退不换", score=1
    )
    assert learn(group_conversations(decode(only_bad))) == []


def proposal():
    evs = chat(0, "包邮吗", "满99包邮") + chat(1, "包不包邮", "满99包邮")
    (p,) = learn(group_conversations(decode(evs)))
    return p


def test_approval_flow_makes_the_bot_answer():
    p = proposal()
    assert accepted([p]) == []
    ok = approve(p, "boss", at=5)
    assert (ok.status, ok.decided_by, ok.decided_at) == ("approved", "boss", 5)
    assert p.status == "proposed"  # the input is not changed
    idx = FaqIndex.build(accepted([ok]))
    ans = idx.answer("包邮吗")
    assert ans.faq == p.id and ans.text == "满99包邮" and ans.confident


def test_edit_keeps_the_learned_answer_and_answers_with_the_new_one():
    p = edit(proposal(), "boss", answer="全店满99元包邮（偏远地区除外）", at=7)
    assert p.status == "edited" and p.learned_answer == "满99包邮"
    (item,) = accepted([p])
    assert item.answer == "全店满99元包邮（偏远地区除外）"
    with pytest.raises(ReviewError):
        edit(p, "boss", answer="  ")


def test_rejected_proposals_never_answer_and_are_not_proposed_again():
    p = reject(proposal(), "boss", note="wrong threshold", at=9)
    assert p.status == "rejected" and p.note == "wrong threshold"
    assert accepted([p]) == []
    with pytest.raises(ReviewError):
        edit(p, "boss", answer="x")
    again = merge([p], [proposal()])
    assert [(q.id, q.status) for q in again] == [(p.id, "rejected")]
    with pytest.raises(ReviewError):
        approve(approve(proposal(), "boss"), "boss")


def test_merge_refreshes_undecided_and_keeps_unseen(tmp_path):
    old = proposal()
    other = reject(old, "boss").__class__(id="learned-x", question="q", answer="a")
    fresh = proposal()
    assert [p.id for p in merge([old, other], [fresh])] == [old.id, "learned-x"]


def test_learn_command_reads_events_and_writes_proposals(tmp_path):
    from typer.testing import CliRunner

    events = tmp_path / "events.jsonl"
    lines = chat(0, "包邮吗", "满99包邮") + chat(1, "包邮吗？", "满99包邮")
    lines += chat(2, "包邮吗", "不包邮", score=1)
    events.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in lines))
    assert len(read_conversations(events)) == 3

    import typer

    from kefu.cli import faq_cmd

    app = typer.Typer()
    app.callback()(lambda: None)
    faq_cmd.register(app)
    out = tmp_path / "p.jsonl"
    res = CliRunner().invoke(app, ["faq", "learn", "--events", str(events), "--out", str(out)])
    assert res.exit_code == 0, res.output
    (p,) = read_proposals(out)
    assert p.answer == "满99包邮" and p.evidence.uses == 2
    res = CliRunner().invoke(app, ["faq", "ask", "包邮吗", "--proposals", str(out)])
    assert res.exit_code == 0 and orjson.loads(res.stdout) == {"answer": None}  # not approved
