"""Figures measured on the real samples in ../shared/data, hard-coded (never read at run time).

Computed by `python -m kefu.sim.calibrate` (see that module for the exact method);
`tests/sim/test_calibration.py` checks they still match the data. Where the simulator departs
from a figure (Twitter replies are slower than shop chat, UCI is a wholesaler), the constant
that departs lives next to it with the reason.
"""

from __future__ import annotations

# --- Taobao UserBehavior sample (4,321 events, 43 users, Nov-Dec 2017, UTC+8) ---------------
# Events per hour of the day in China time, ‰, smoothed with a [1, 2, 1] kernel. Quiet at
# night (2-5 h), a morning peak at 10-11 h, an afternoon bump, the evening peak at 20-22 h.
HOUR_PROFILE = (38, 17, 6, 5, 5, 7, 14, 25, 34, 44, 54, 55,
                46, 40, 49, 64, 61, 43, 39, 52, 62, 77, 91, 71)  # fmt: skip
# Per page view: 128 fav, 190 cart, 77 buy out of 3,926 pv.
FAV_PER_VIEW = 0.0326
CART_PER_VIEW = 0.0484
BUY_PER_VIEW = 0.0196
# Page views per visit (30-minute gap): median 3, mean 5.7 -> log-normal, σ from the two.
VIEWS_PER_VISIT_MEAN = 5.7
# 15.6 % of (buyer, item) pairs viewed more than once.
REPEAT_VIEW_SHARE = 0.156
# First view of an item -> its purchase: median 2,530 s, log-normal σ 2.72 (IQR-implied).
VIEW_TO_BUY_MEDIAN_S = 2530.0
VIEW_TO_BUY_SIGMA = 2.72

# --- Customer Support on Twitter sample (2,188 company replies to customers) ----------------
# Reply delay quantiles p25 306 s, p50 720 s, p75 3,322 s; 14.3 % within 180 s. Twitter is
# asynchronous; shop chat is not, so only the *shape* is used: per-round delays are
# log-normal around each agent's own median with σ 0.55 (median over 49 agents identified by
# their sign-off), and agents of one company differ by σ 0.81 in log median (13 companies).
REPLY_SIGMA_WITHIN_AGENT = 0.55
REPLY_SIGMA_BETWEEN_AGENTS = 0.81
# Departure (hand-set): shop chat is answered in tens of seconds, not Twitter's minutes, so
# agents' medians centre on 30 s; queueing at the peaks and night backlogs add the tail.
AGENT_MEDIAN_REPLY_S = 30.0
# Not usable: the sample covers a few hours of one evening (62 % of replies in two UTC
# hours), so it carries no hour-of-day profile; the buyers' profile above is used instead.

# --- UCI Online Retail sample (9,854 lines, 424 invoices; a UK giftware wholesaler) ---------
# Units per line among lines of 1-3 units: 61.5 % one, 26.3 % two, 12.2 % three.
QTY_WEIGHTS = (0.615, 0.263, 0.122)
# One unit on 34.6 % of all lines but on 54.0 % of lines of the dearest decile of items:
# dear items are bought singly. The simulator scales the one-unit weight by 54.0 / 34.6.
QTY1_BOOST_DEAR = 0.540 / 0.346
# Unit prices across one shop: log-sd 0.96. Simulated shops (category bases, variants with
# σ 0.25) average 0.86, from 0.44 (food) to 1.72 (phones and cables); tests/sim checks it.
PRICE_LOG_SD_SHOP = 0.96
# Departure: invoices hold median 13 lines (only 10.6 % single-line) - a wholesaler. A chat
# buyer's basket here is the inquired item, carted items and accepted recommendations.

# --- JD customer-service chats (JDDC baseline, 10,270 sessions) -----------------------------
# Sessions touching each question kind (keyword families, calibrate.JD_KINDS).
JD_KIND_SESSIONS = {
    "order": 6634, "delivery": 3838, "after": 3270, "price": 707,
    "invoice": 549, "stock": 517, "discount": 409, "size": 155,
}  # fmt: skip
# Pre-sale chats ask price/stock/discount/size/delivery in JD's proportions; delivery there
# is mostly order tracking, so pre-sale "when do you ship" questions get a third of it.
PRESALE_KIND_WEIGHTS = {
    "price": 707, "stock": 517, "discount": 409, "size": 155, "delivery": 1279, "after": 300,
}  # fmt: skip
# Clothes and shoes: JD is mostly electronics and groceries; sizes are the first question in
# a clothes shop, so apparel stores ask about size 8x as often (not calibrated).
APPAREL_SIZE_BOOST = 8
# After-purchase chats: order changes, tracking, after-sales and invoices in JD's proportions.
POSTSALE_KIND_WEIGHTS = {"order": 6634, "delivery": 3838, "after": 3270, "invoice": 549}
# 6.2 % of sessions contain a bare "在吗" (are you there?); 2.7 % type 人工 (a person).
GREETING_SHARE = 0.062
TYPED_TRANSFER_SHARE = 0.027
