"""The event contract: decoding, timestamps and field-named errors."""

from __future__ import annotations

import msgspec
import pytest

from kefu.engine.events import EVENT_TYPES, AnyEvent, parse_ts
from kefu.engine.readers import explain

DEC = msgspec.json.Decoder(AnyEvent)


def test_every_contract_type_is_decodable() -> None:
    contract = {
        "product", "agent", "agent.status", "message", "transfer.click", "conversation.close",
        "guide.view", "rating", "order", "payment", "order.cancel", "aftersale.open",
        "aftersale.close", "impression", "view", "search", "cart.add", "favorite", "buyer",
    }  # fmt: skip
    assert contract <= set(EVENT_TYPES)


def test_rfc3339_and_epoch_ms_give_the_same_instant() -> None:
    a = DEC.decode(b'{"ts":"2026-03-01T09:10:00+08:00","type":"search","store":"s","buyer":"b",'
                   b'"keyword":"x"}')  # fmt: skip
    b = DEC.decode(b'{"ts":1772327400000,"type":"search","store":"s","buyer":"b","keyword":"x"}')
    assert a.ts == b.ts == 1772327400000


def test_utc_z_suffix_is_accepted() -> None:
    assert parse_ts("2026-03-01T01:10:00Z") == 1772327400000


@pytest.mark.parametrize(
    ("line", "field", "reason_part"),
    [
        (b'{"ts":"2026-03-01T09:00:00","type":"search","store":"s","buyer":"b","keyword":"k"}',
         "ts", "offset"),
        (b'{"ts":1,"type":"nope","store":"s"}', "type", "Invalid value 'nope'"),
        (b'{"ts":1,"type":"message","store":"s","buyer":"b","sender":"agent"}', "agent",
         "needs `agent`"),
        (b'{"ts":1,"type":"rating","store":"s","buyer":"b","score":6}', "score", "<= 5"),
        (b'{"ts":1,"type":"order","store":"s","order":"o","buyer":"b"}', "amount", "missing"),
        (b'{"ts":1,"type":"view","store":"s","buyer":"b","product":"p","source":"tv"}', "source",
         "Invalid enum value 'tv'"),
        (b'{"ts":1,"type":"message","store":"","buyer":"b","sender":"buyer"}', "store", "length"),
        (b'{"ts":true,"type":"search","store":"s","buyer":"b","keyword":"k"}', "ts", "Expected"),
    ],
)  # fmt: skip
def test_bad_events_name_the_field(line: bytes, field: str, reason_part: str) -> None:
    with pytest.raises((msgspec.ValidationError, ValueError)) as info:
        DEC.decode(line)
    got_field, reason = explain(info.value)
    assert got_field == field
    assert reason_part in reason


def test_unknown_fields_are_kept_out_but_do_not_reject() -> None:
    e = DEC.decode(b'{"ts":1,"type":"search","store":"s","buyer":"b","keyword":"k","extra":1}')
    assert e.keyword == "k"


def test_malformed_json_has_no_field() -> None:
    with pytest.raises(msgspec.DecodeError) as info:
        DEC.decode(b"{broken")
    assert explain(info.value)[0] is None
    assert explain(info.value)[1].startswith("not valid JSON")
