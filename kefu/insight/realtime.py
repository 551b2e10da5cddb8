"""Today so far, for the supervisor monitor: key numbers of the store's current day and of
yesterday up to the same time of day, from the roll-ups.

Cheap by construction: the roll-ups are caught up (only the events since the last refresh are
replayed), the rows read are those of the buyers active yesterday or today, and only the
parts the numbers need run. Yesterday is cut at the same local time of day ("as of" then:
later rows of yesterday's buyers are dropped), so the two columns compare like with like.
Results are cached per store until a new event is taken in or the minute changes.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from typing import Any

from kefu.insight.metrics import compute, day_number
from kefu.insight.rollup import Rollups, arrow_to_facts, read_rows

# The monitor's numbers: consultations, 3-minute reply rate, first response, inquiry
# conversion so far, transfer rate, sales through chat (and all sales, for the share).
TODAY_IDS = (
    "consulted_buyers",
    "received_buyers",
    "reply_3min_rate",
    "first_response_s",
    "avg_response_s",
    "inquiry_buyers",
    "inquiry_order_buyers",
    "inquiry_paid_buyers",
    "inquiry_to_order_rate",
    "inquiry_to_pay_rate",
    "button_conversations",
    "transfer_clicks",
    "transfer_rate",
    "assisted_sales",
    "store_sales",
)
TODAY_PARTS = ("messages", "rounds", "replies", "funnel", "sales", "transfer")

_cache: dict[tuple[int, str], tuple[tuple[int, int], dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def today_numbers(rollups: Rollups, store: str, now_ms: int) -> dict[str, Any]:
    """`{store, now, day, today: {id: v}, yesterday: {day, until, values: {id: v}}, seq}`."""
    seq = rollups.refresh(store).last_seq
    key = (id(rollups), store)
    stamp = (seq, now_ms // 60_000)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    tz = rollups.config.for_store(store).tz
    now = datetime.fromtimestamp(now_ms / 1000, tz)
    today: date = now.date()
    yday = today - timedelta(days=1)
    then = datetime.combine(yday, now.timetz().replace(tzinfo=None), tz)  # same wall time
    rows = read_rows(rollups.db, [store], day_number(yday), day_number(today))

    def numbers(day: date, as_of: int) -> dict[str, Any]:
        doc = compute(arrow_to_facts(rows, as_of), rollups.config, day_from=day, day_to=day,
                      stores=[store], parts=TODAY_PARTS)  # fmt: skip
        totals = doc["stores"][store]["totals"]  # over the one day
        return {i: totals[i] for i in TODAY_IDS}

    body = {
        "store": store,
        "now": now.isoformat(timespec="seconds"),
        "day": today.isoformat(),
        "today": numbers(today, now_ms),
        "yesterday": {
            "day": yday.isoformat(),
            "until": then.isoformat(timespec="seconds"),
            "values": numbers(yday, _ms(then)),
        },
        "seq": seq,
    }
    with _cache_lock:
        _cache[key] = (stamp, body)
    return body
