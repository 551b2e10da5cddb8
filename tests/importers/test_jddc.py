"""`kefu import jddc` on the first lines of the real JDDC baseline context/response files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.importers import run_import
from kefu.importers.jddc import messages_of, response_path, split_turns
from tests.importers.conftest import SliceFn
from tests.importers.helpers import of_type, read_output

CONTEXT = "conversations/jddc_baseline_train_context.txt"
RESPONSE = "conversations/jddc_baseline_train_response.txt"


@pytest.fixture
def head200(data_slice: SliceFn, tmp_path: Path) -> list[dict]:
    """The first 200 context lines and their replies, imported."""
    src = data_slice(CONTEXT, first=200)
    data_slice(RESPONSE, first=200)  # beside it, found by name
    report = run_import("jddc", src, tmp_path / "events.jsonl")
    assert (report.rows, report.skipped_total) == (200, 0)
    return read_output(tmp_path / "events.jsonl")


def test_each_line_is_one_conversation_of_its_own_buyer(head200: list[dict]) -> None:
    messages = of_type(head200, "message")
    assert len({e["conversation"] for e in messages}) == 200
    assert len(of_type(head200, "conversation.close")) == 200
    line12 = [e for e in messages if e["conversation"] == "jddc-12"]
    assert {e["buyer"] for e in line12} == {"jddc-b12"}
    assert [(e["sender"], e["text"]) for e in line12] == [
        ("buyer", "我要咨询其他问题"),
        ("buyer", "你好"),
        ("agent", "有什么问题我可以帮您处理或解决呢?"),
        ("buyer", "我没有收到铝合金气门"),
        ("buyer", "就一个轮胎"),
        ("agent", "亲爱的客户，还麻烦您提供下订单号，妹子这边给您查询哦~"),
        ("buyer", "[ORDERID_10002538]"),
        ("agent", "您收到几个包裹呢"),  # line 12 of the response file
    ]
    assert {e["agent"] for e in line12 if e["sender"] == "agent"} == {"jd-agent"}


def test_timestamps_are_synthetic_and_regular(head200: list[dict]) -> None:
    assert all(e["synthetic_ts"] is True for e in head200)
    line1 = [e for e in of_type(head200, "message") if e["conversation"] == "jddc-1"]
    # Five buyer messages 10 s apart, then a 30 s gap at every change of sender.
    assert [e["ts"][11:19] for e in line1] == [
        "09:00:00", "09:00:10", "09:00:20", "09:00:30", "09:00:40",
        "09:01:10", "09:01:20", "09:01:30", "09:02:00", "09:02:30", "09:03:00", "09:03:30",
    ]  # fmt: skip
    assert line1[0]["ts"] == "2018-03-01T09:00:00+08:00"
    assert line1[-1]["text"] == "可以给您操作有货的先发"
    line2 = next(e for e in head200 if e.get("conversation") == "jddc-2")
    assert line2["ts"] == "2018-03-01T09:08:30+08:00"  # five minutes after line 1 ends


def test_one_agent_is_declared_online_first(head200: list[dict]) -> None:
    assert [(e["type"], e["agent"]) for e in head200[:2]] == [
        ("agent", "jd-agent"),
        ("agent.status", "jd-agent"),
    ]
    assert head200[1]["status"] == "online"
    assert {e["store"] for e in head200} == {"jd"}


def test_product_link_from_the_buyer_becomes_the_inquired_product(head200: list[dict]) -> None:
    first7 = next(e for e in head200 if e["id"] == "jddc-7-0")
    assert first7["text"] == "https://item.jd.com/210322.html"
    assert first7["product"] == "210322"


def test_turns_follow_buyer_agent_buyer_agent_buyer() -> None:
    # Line 1866 of the train file: an empty agent message still marks the agent's turn.
    line = (
        "你好,有什么问题我可以帮您处理或解决呢?,你帮我查下这个快递到了吗,,"
        "怎么没给我打电话啊   我去哪领,"
    )
    said = messages_of(line)
    assert said[3] == ""
    assert split_turns(said) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="fewer than the 5 turns"):
        split_turns(["a", "b", "c", "d"])


def test_response_file_is_found_by_name(tmp_path: Path) -> None:
    assert response_path(Path("d/jddc_baseline_test_context.txt")).name == (
        "jddc_baseline_test_response.txt"
    )
    assert response_path(Path("data/train.enc")).name == "train.dec"
    lonely = tmp_path / "x_context.txt"
    lonely.write_text("a,b,c,d,e,\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"x_response\.txt"):
        run_import("jddc", lonely, tmp_path / "out.jsonl")
