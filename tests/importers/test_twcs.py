"""`kefu import twcs` on slices of the real Customer Support on Twitter sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.importers import run_import
from kefu.importers.twcs import parse_created_at, signature
from tests.importers.conftest import SliceFn
from tests.importers.helpers import of_type, read_output

TWCS = "conversations/twcs_sample_head.csv"


@pytest.fixture
def head300(data_slice: SliceFn, tmp_path: Path) -> list[dict]:
    """The first 300 physical lines (263 tweets: some texts span lines) imported."""
    src = data_slice(TWCS, first=301)
    report = run_import("twcs", src, tmp_path / "events.jsonl")
    assert report.rows == 263
    assert report.events == 435
    assert dict(report.skipped) == {"company tweet addressed to no customer": 1}
    assert report.examples == [(90, "company tweet addressed to no customer: 81")]  # a promo
    return read_output(tmp_path / "events.jsonl")


def test_reply_tree_is_one_conversation_in_time_order(head300: list[dict]) -> None:
    # Tweets 1..8 of sprintcare and customer 115712 form one tree rooted at tweet 8.
    conv = [e for e in of_type(head300, "message") if e["conversation"] == "twcs-8"]
    assert [e["id"] for e in conv] == [f"twcs-{t}" for t in (8, 6, 5, 4, 3, 1, 2)]
    assert {(e["store"], e["buyer"]) for e in conv} == {("sprintcare", "115712")}
    assert [e["sender"] for e in conv] == ["buyer", "agent"] * 3 + ["buyer"]
    assert conv[0]["text"] == "@sprintcare is the worst customer service"


def test_timestamps_are_converted_to_rfc3339(head300: list[dict]) -> None:
    by_id = {e["id"]: e for e in head300}
    assert by_id["twcs-1"]["ts"] == "2017-10-31T22:10:47+00:00"  # "Tue Oct 31 22:10:47 +0000 2017"
    assert by_id["twcs-8"]["ts"] == "2017-10-31T21:45:10+00:00"
    assert parse_created_at("Sun Nov 26 00:08:18 +0530 2017").isoformat() == (
        "2017-11-26T00:08:18+05:30"
    )


def test_agent_comes_from_sign_off_initials_else_the_company(head300: list[dict]) -> None:
    by_id = {e["id"]: e for e in head300}
    assert by_id["twcs-21"]["agent"] == "JK"  # "@115716 What information is incorrect? ^JK"
    assert by_id["twcs-21"]["store"] == "Ask_Spectrum"
    assert by_id["twcs-11"]["agent"] == "KC"  # "... look into this for you. -KC"
    assert by_id["twcs-15"]["agent"] == "AA"
    assert by_id["twcs-6"]["agent"] == "sprintcare"  # no sign-off
    sprint = {e["agent"] for e in of_type(head300, "agent") if e["store"] == "sprintcare"}
    assert sprint == {"sprintcare", "AA", "KC", "FR"}


def test_each_agent_is_declared_and_online_before_its_first_message(head300: list[dict]) -> None:
    kinds = [
        (e["type"], e["ts"])
        for e in head300
        if e["store"] == "Ask_Spectrum" and e.get("agent") == "JK"
    ]
    assert kinds[:3] == [
        ("agent", "2017-10-31T22:14:37+00:00"),
        ("agent.status", "2017-10-31T22:14:37+00:00"),
        ("message", "2017-10-31T22:14:37+00:00"),
    ]
    status = [e for e in of_type(head300, "agent.status") if e["agent"] == "JK"]
    assert status[0]["status"] == "online"
    assert len(of_type(head300, "agent")) == len(of_type(head300, "agent.status")) == 50


def test_conversations_are_counted_and_closed_at_their_last_message(head300: list[dict]) -> None:
    convs = {(e["store"], e["conversation"]) for e in of_type(head300, "message")}
    assert len(convs) == 73
    closes = of_type(head300, "conversation.close")
    assert len(closes) == 73
    close8 = next(e for e in closes if e["conversation"] == "twcs-8")
    assert close8["ts"] == "2017-10-31T22:11:45+00:00"  # tweet 2, the customer's last word
    assert close8["agent"] == "sprintcare"
    assert head300.index(close8) > next(i for i, e in enumerate(head300) if e["id"] == "twcs-2")


def test_a_customer_answering_a_promo_gets_a_conversation_of_their_own(
    head300: list[dict],
) -> None:
    # Tweet 81 is a ChipotleTweets promo (skipped: addressed to no one); customer 115733
    # answered it (tweet 80), so their exchange is keyed by the tree root and the buyer.
    convs = {
        e["conversation"] for e in of_type(head300, "message") if "twcs-81" in e["conversation"]
    }
    assert convs == {"twcs-81-115733"}
    first = next(e for e in head300 if e.get("conversation") == "twcs-81-115733")
    assert (first["id"], first["buyer"], first["store"]) == ("twcs-80", "115733", "ChipotleTweets")


def test_store_option_keeps_one_company(data_slice: SliceFn, tmp_path: Path) -> None:
    src = data_slice(TWCS, first=301)
    report = run_import("twcs", src, tmp_path / "s.jsonl", store="sprintcare")
    events = read_output(tmp_path / "s.jsonl")
    assert {e["store"] for e in events} == {"sprintcare"}
    messages = of_type(events, "message")
    assert len(messages) == 15
    assert sorted({e["conversation"] for e in messages}) == ["twcs-18", "twcs-20", "twcs-8"]
    assert report.filtered == 263 - 15  # other companies are left out before any check
    assert report.skipped_total == 0


def test_a_broken_record_is_skipped_with_its_line_and_the_rest_kept(
    data_slice: SliceFn, tmp_path: Path
) -> None:
    # Physical line 2589 holds tweet 3399 cut by bare carriage returns (a broken export).
    src = data_slice(TWCS, first=1, extra=range(2584, 2595))
    report = run_import("twcs", src, tmp_path / "b.jsonl")
    assert report.rows == 11
    assert dict(report.skipped) == {"malformed CSV row": 1}
    assert report.examples == [(7, "malformed CSV row: new-line character seen in unquoted field")]
    ids = {e["id"] for e in read_output(tmp_path / "b.jsonl")}
    assert "twcs-3399" not in ids
    assert {"twcs-3398", "twcs-3400"} <= ids


@pytest.mark.parametrize(
    ("text", "agent"),
    [
        ("@115716 What information is incorrect? ^JK", "JK"),
        ("@115713 ... look into this for you. -KC", "KC"),
        ("Thanks! *TMT https://t.co/abc", "TMT"),
        ("which app are you using? /PB", "PB"),
        ("You may have a series recording scheduled. - Matt", "Matt"),
        ("This is the 2/2 ^Oliver", "Oliver"),
        ("Flight details, please. 2/2 ^Jane 2/2", "Jane"),
        ("Cheers! ^cr", "cr"),
        ("manage booking. Thanks-Sha", "Sha"),
        ("When did you visit? Robbie", "Robbie"),
        ("ご参照ください。https://t.co/2pbG55qJ7h ET", "ET"),
        ("Please DM us the details. *DannyHarvey", "DannyHarvey"),
        ("Send us a DM and we'll go from there.", None),
        ("Please reach out via DM", None),
        ("it. Almost. #TrickorTweet", None),
        ("Connect to your Wi-Fi", None),
    ],
)
def test_signature(text: str, agent: str | None) -> None:
    assert signature(text) == agent
