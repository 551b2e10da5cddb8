"""The hard-coded calibration still matches the real samples, and the simulator honours it."""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter

import msgspec
import pytest

from kefu.engine.events import AnyEvent
from kefu.sim import calibrate, generate
from kefu.sim import calibration as cal
from kefu.sim.catalogue import build_catalogue, choose_categories
from kefu.testing import shared_data

DEC = msgspec.json.Decoder(AnyEvent)


def test_hard_coded_figures_match_the_shared_data() -> None:
    root = shared_data("behaviour/taobao_userbehavior_sample.csv").parents[1]
    for rel in (calibrate.TWCS, calibrate.UCI, calibrate.JDDC):
        shared_data(rel)
    got = calibrate.compute(root)
    tb, tw, uci, jd = got["taobao"], got["twcs"], got["uci"], got["jddc"]
    assert tuple(tb["hour_profile_permille"]) == cal.HOUR_PROFILE
    assert (tb["fav_per_view"], tb["cart_per_view"], tb["buy_per_view"]) == (
        cal.FAV_PER_VIEW, cal.CART_PER_VIEW, cal.BUY_PER_VIEW)  # fmt: skip
    assert tb["views_per_visit_mean"] == cal.VIEWS_PER_VISIT_MEAN
    assert tb["repeat_view_share"] == cal.REPEAT_VIEW_SHARE
    assert (tb["view_to_buy_p50_s"], tb["view_to_buy_sigma"]) == (
        cal.VIEW_TO_BUY_MEDIAN_S, cal.VIEW_TO_BUY_SIGMA)  # fmt: skip
    assert tw["sigma_within_agent"] == cal.REPLY_SIGMA_WITHIN_AGENT
    assert tw["sigma_between_agents"] == cal.REPLY_SIGMA_BETWEEN_AGENTS
    assert tw["share_of_replies_in_top_2_utc_hours"] > 0.5  # why it gives no hour profile
    assert tuple(uci["qty_share_1_2_3_of_small"]) == cal.QTY_WEIGHTS
    assert uci["qty1_share_top_decile_price"] / uci["qty1_share_all"] == cal.QTY1_BOOST_DEAR
    assert uci["price_log_sd"] == cal.PRICE_LOG_SD_SHOP
    assert jd["sessions_per_kind"] == cal.JD_KIND_SESSIONS
    assert (jd["share_greeting_zaima"], jd["share_typed_rengong"]) == (
        cal.GREETING_SHARE, cal.TYPED_TRANSFER_SHARE)  # fmt: skip
    for kind in ("price", "stock", "discount", "size"):
        assert cal.PRESALE_KIND_WEIGHTS[kind] == cal.JD_KIND_SESSIONS[kind]
    for kind, n in cal.POSTSALE_KIND_WEIGHTS.items():
        assert n == cal.JD_KIND_SESSIONS[kind]


def test_the_funnel_per_view_matches_the_taobao_sample() -> None:
    kinds: Counter[str] = Counter()
    list(generate(stores=3, buyers=1500, days=4, seed=11, counts=kinds))
    views = kinds["view"]
    assert views > 10_000
    for got, want in ((kinds["favorite"], cal.FAV_PER_VIEW), (kinds["cart.add"], cal.CART_PER_VIEW),
                      (kinds["order"], cal.BUY_PER_VIEW)):  # fmt: skip
        assert got / views == pytest.approx(want, rel=0.2)


def test_buyer_arrivals_follow_the_hour_profile() -> None:
    firsts: dict[str, int] = {}
    for line in generate(stores=2, buyers=2000, days=3, seed=12):
        if b'"type":"buyer"' in line or b'"type":"search"' in line:
            e = DEC.decode(line)
            firsts.setdefault(f"{e.buyer}{e.at // 86_400_000}", (e.at // 3_600_000 + 8) % 24)
    hours = Counter(firsts.values())
    total = sum(hours.values())
    share = [hours[h] / total for h in range(24)]
    want = [w / sum(cal.HOUR_PROFILE) for w in cal.HOUR_PROFILE]
    assert sum(abs(a - b) for a, b in zip(share, want, strict=True)) < 0.12


def test_shop_price_ladders_spread_like_the_uci_shop_on_average() -> None:
    sds = []
    for seed in range(60):
        rng = random.Random(seed)
        theme, cats = choose_categories(rng, seed)
        prices = [p.price for p in build_catalogue(rng, "s", theme, cats)]
        sds.append(statistics.pstdev(math.log(p) for p in prices))
    assert statistics.mean(sds) == pytest.approx(cal.PRICE_LOG_SD_SHOP, rel=0.2)


def test_units_per_line_favour_one_and_dear_items_are_bought_singly() -> None:
    qty: Counter[int] = Counter()
    for line in generate(stores=2, buyers=1500, days=3, seed=13):
        if b'"type":"order"' in line:
            qty.update(i.qty for i in DEC.decode(line).items)
    total = sum(qty.values())
    assert qty[1] > qty[2] > qty[3] > 0
    assert qty[1] / total == pytest.approx(cal.QTY_WEIGHTS[0], abs=0.12)
