"""Who sees the 转人工 button: stable-hash rollout by percent and store tier, and the A/B split.

The bucket is a hash of store + buyer, so a buyer inside a 5 % rollout stays inside at 10, 20,
50 and 100 %. The A/B arm uses an independent hash, so arms are balanced inside the rollout.
"""

from __future__ import annotations

import zlib

from kefu.engine.settings import Settings
from kefu.engine.state import StoreState

DAY_MS = 86_400_000
LARGE_STORE_BUYERS = 1000


def bucket(store: str, buyer: str, salt: str = "") -> int:
    """A stable bucket 0–99 for this buyer in this store."""
    return zlib.crc32(f"{salt}{store}\x1f{buyer}".encode()) % 100


def store_tier(st: StoreState, settings: Settings) -> str:
    """small (< 1000 buyers received a day) or large; `auto` reads yesterday's reception.

    Until a full day has been seen, today's reception so far decides.
    """
    if settings.store.tier != "auto":
        return settings.store.tier
    n = st.reception_yesterday if st.reception_yesterday >= 0 else len(st.reception_today)
    return "large" if n >= LARGE_STORE_BUYERS else "small"


def note_reception(st: StoreState, buyer: str, now: int, offset_ms: int) -> None:
    """Count distinct buyers per store-local day (for the automatic tier)."""
    day = (now + offset_ms) // DAY_MS
    if day != st.reception_day:
        if st.reception_day >= 0:
            st.reception_yesterday = len(st.reception_today) if day == st.reception_day + 1 else 0
        st.reception_day = day
        st.reception_today = set()
    st.reception_today.add(buyer)


def button_arm(st: StoreState, buyer: str, settings: Settings) -> tuple[bool, str, int]:
    """(shown, variant, bucket): whether this buyer gets the button, and the A/B arm."""
    h = settings.handoff
    b = bucket(st.store, buyer)
    if not h.enabled:
        return False, "off", b
    if b >= h.rollout_percent:
        return False, "outside_rollout", b
    if store_tier(st, settings) not in h.tiers:
        return False, "tier_excluded", b
    if h.ab_test:
        arm = "button" if bucket(st.store, buyer, "ab") < 50 else "no_button"
        return arm == "button", arm, b
    return True, "button", b
