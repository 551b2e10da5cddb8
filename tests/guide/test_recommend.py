"""The built-in provider: exclusions, incremental updates, decay, cold items, snapshots."""

from __future__ import annotations

import pickle
import random

import pytest

from kefu.engine.state import ProductState
from kefu.guide.recommend import BuiltinProvider, PopularityProvider, Provider

DAY = 86_400_000
T0 = 1_700_000_000_000


def cat(**items: str) -> dict[str, ProductState]:
    """A catalogue: product id -> category, all on sale with unknown stock."""
    return {p: ProductState(product=p, category=c) for p, c in items.items()}


def fed(baskets: list[list[str]], provider: Provider | None = None, ts: int = T0) -> Provider:
    p = provider or BuiltinProvider()
    for i, b in enumerate(baskets):
        p.observe_order("s1", f"u{i}", b, ts + i)
    return p


SHOP = cat(dress="连衣裙", belt="腰带", shoes="高跟鞋", bag="帆布包", dress2="连衣裙", cup="保温杯")
BASKETS = [["dress", "belt"]] * 4 + [["dress", "shoes"]] * 3 + [["dress", "bag"]] * 2


def test_complements_ranked_by_co_purchase():
    p = fed(BASKETS)
    assert p.complements("s1", "dress", 3, SHOP) == ["belt", "shoes", "bag"]


def test_inquired_item_never_recommended():
    p = fed(BASKETS + [["belt", "shoes"]] * 5)
    assert "belt" not in p.complements("s1", "belt", 10, SHOP)


def test_off_sale_and_out_of_stock_items_are_excluded():
    shop = cat(dress="连衣裙", belt="腰带", shoes="高跟鞋", bag="帆布包")
    shop["belt"].status = "off_sale"
    shop["shoes"].stock = 0
    shop["bag"].status = "out_of_stock"
    p = fed(BASKETS + [["cup"]] * 9)
    assert p.complements("s1", "dress", 5, shop) == []


def test_items_missing_from_the_catalogue_are_excluded():
    p = fed(BASKETS)
    assert p.complements("s1", "dress", 5, cat(dress="连衣裙", shoes="高跟鞋")) == ["shoes"]


def test_same_category_items_are_substitutes_and_excluded():
    p = fed(BASKETS + [["dress", "dress2"]] * 2 + [["dress2"]] * 20)
    assert "dress2" not in p.complements("s1", "dress", 10, SHOP)


def test_same_category_bought_together_often_enough_is_not_a_substitute():
    p = fed(BASKETS + [["dress", "dress2"]] * 3)  # support 3 = same_category_support
    assert "dress2" in p.complements("s1", "dress", 10, SHOP)


def test_unknown_category_makes_nothing_a_substitute():
    shop = cat(a="", b="")
    p = fed([["a", "b"]])
    assert p.complements("s1", "a", 3, shop) == ["b"]


def test_incremental_update_changes_the_ranking():
    p = fed(BASKETS)
    assert p.complements("s1", "dress", 1, SHOP) == ["belt"]
    fed([["dress", "bag"]] * 5, p, ts=T0 + 100)
    assert p.complements("s1", "dress", 3, SHOP) == ["bag", "belt", "shoes"]


def test_older_baskets_count_less():
    old = [["dress", "belt"]] * 3
    new = [["dress", "shoes"]] * 2
    decayed = fed(new, fed(old), ts=T0 + 365 * DAY)
    assert decayed.complements("s1", "dress", 2, SHOP) == ["shoes", "belt"]
    flat = fed(new, fed(old, BuiltinProvider(half_life_days=1e9)), ts=T0 + 365 * DAY)
    assert flat.complements("s1", "dress", 2, SHOP) == ["belt", "shoes"]


def test_decayed_support_halves_after_one_half_life():
    p = BuiltinProvider(half_life_days=30)
    fed([["dress", "belt"]] * 4, p)
    p.observe_order("s1", "u", ["cup"], T0 + 30 * DAY)
    assert round(p.stats["s1"].support("dress", "belt"), 6) == 2.0


def test_cold_item_gets_its_category_complements_then_popularity():
    shop = SHOP | cat(dress3="连衣裙", mug="杯子")
    p = fed(BASKETS + [["cup"]] * 6 + [["mug"]] * 5)
    # dress3 was never ordered: what dresses sell with, then the best sellers.
    assert p.complements("s1", "dress3", 5, shop) == ["belt", "shoes", "bag", "cup", "mug"]


def test_cold_item_of_a_cold_category_gets_popularity():
    shop = SHOP | cat(kettle="水壶")
    p = fed(BASKETS + [["cup"]] * 20)
    assert p.complements("s1", "kettle", 2, shop) == ["cup", "dress"]


def test_stores_do_not_mix():
    p = fed(BASKETS)
    assert p.complements("s2", "dress", 3, SHOP) == []


def test_state_survives_a_pickle_round_trip():
    p = fed(BASKETS)
    p.complements("s1", "dress3", 3, SHOP | cat(dress3="连衣裙"))  # builds the category index
    q = pickle.loads(pickle.dumps(p))
    assert q.complements("s1", "dress", 3, SHOP) == p.complements("s1", "dress", 3, SHOP)
    fed([["dress", "bag"]] * 9, q, ts=T0 + 50)
    assert q.complements("s1", "dress", 1, SHOP) == ["bag"]


def test_prior_is_tuned_per_store_from_its_baskets():
    strong = [[f"a{i}", f"b{i}"] for i in range(30) for _ in range(3)]
    p = fed(strong + [["pop"]] * 200)
    assert p.prior_of("s1") <= 100.0  # pairs predict each other: trust them
    shop = cat(**dict.fromkeys([*(x for b in strong for x in b), "pop"], ""))
    assert p.complements("s1", "a7", 1, shop) == ["b7"]  # not the best seller


def test_popularity_provider_ignores_the_question_but_not_the_rules():
    shop = SHOP.copy()
    shop["cup"] = ProductState(product="cup", category="保温杯", status="off_sale")
    p = fed(BASKETS + [["cup"]] * 20, PopularityProvider())
    assert p.complements("s1", "dress", 3, shop) == ["belt", "shoes", "bag"]
    assert p.complements("s1", "belt", 2, shop) == ["dress", "shoes"]


def test_item_knn_hop_promotes_partners_of_neighbours():
    shop = cat(a="", b="", c="", d="")
    baskets = [["a", "b"]] * 3 + [["b", "c"]] * 3 + [["d"]] * 5
    assert fed(baskets).complements("s1", "a", 3, shop) == ["b", "d", "c"]
    hop = fed(baskets, BuiltinProvider(hop=1.0))
    assert hop.complements("s1", "a", 3, shop) == ["b", "c", "d"]


def test_add_on_counts_follow_line_order():
    p = fed([["a", "b", "c"], ["b", "a", "b"], ["c"]])
    cp = p.stats["s1"]
    w = 1.0 + 1e-10  # the second basket's weight (1 ms later)
    assert cp.addon == pytest.approx({"b": 1.0, "c": 1.0, "a": w})  # any line but the first
    assert (cp.lines, cp.addon_lines) == pytest.approx((6.0, 3.0))  # duplicates collapse


# Baskets open with a main product and end with an add-on; mains also sell alone, so they are
# the best sellers, and every main goes with every add-on alike (no pair stands out).
MAINS = [f"m{i}" for i in range(5)]
ADDONS = [f"x{i}" for i in range(5)]
ORDERED = [[MAINS[i % 5], ADDONS[(i // 5) % 5]] for i in range(400)] + [
    [MAINS[i % 5]] for i in range(400)
]
SHELF = cat(**dict.fromkeys(MAINS + ADDONS, ""))


def test_prior_leans_towards_add_ons_where_line_order_says_so():
    p = fed(ORDERED)
    assert p.mix_of("s1") >= 0.5
    assert set(p.complements("s1", "m0", 3, SHELF)) <= set(ADDONS)
    plain = fed(ORDERED, BuiltinProvider(prior=10_000.0, mix=0.0))  # popularity prior
    assert set(plain.complements("s1", "m0", 3, SHELF)) <= set(MAINS)


def test_prior_stays_popularity_when_line_order_says_nothing():
    both_ways = [b for b in ORDERED if len(b) == 2]
    p = fed(both_ways + [b[::-1] for b in both_ways])
    assert p.mix_of("s1") == 0.0


def test_products_never_bought_with_anything_fall_back_to_the_prior():
    p = fed([*ORDERED, ["kettle"]])
    assert set(p.complements("s1", "kettle", 3, SHELF | cat(kettle="水壶"))) <= set(ADDONS)


def test_snapshots_from_before_epochs_and_the_add_on_prior_still_load():
    p = fed(ORDERED)
    state = p.__getstate__()  # remove what older versions did not have
    for name in ("mix", "epochs", "touched", "_siblings"):
        del state[name]
    state["rankings"] = {}
    cp = state["stats"]["s1"]
    cp_state = {k: v for k, v in cp.__dict__.items() if k not in ("addon", "lines", "addon_lines")}
    cp.__dict__.clear()
    cp.__setstate__(cp_state)  # what unpickling an old CoPurchase does
    del state["tuners"]["s1"].__dict__["mix"]
    old = BuiltinProvider.__new__(BuiltinProvider)
    old.__setstate__(state)
    assert cp.lines == pytest.approx(1200.0) and cp.addon == {}
    assert old.mix_of("s1") == 0.0 and "rankings" not in old.__dict__
    assert len(old.complements("s1", "m0", 3, SHELF)) == 3
    fed([["m0", "x1"]], old, ts=T0 + 10_000)
    assert cp.addon == pytest.approx({"x1": cp.addon["x1"]}) and len(cp.addon) == 1


def test_answers_depend_on_the_orders_only_not_on_earlier_questions_or_a_restore():
    rng = random.Random(3)
    products = [f"p{i}" for i in range(60)]
    shop = cat(**{p: f"c{i % 6}" for i, p in enumerate(products)}, new="c1")
    asking, quiet = BuiltinProvider(), BuiltinProvider()
    for i in range(1500):
        basket = [rng.choice(products) for _ in range(rng.randint(1, 4))]
        asking.observe_order("s1", "u", basket, T0 + i * 60_000)
        quiet.observe_order("s1", "u", basket, T0 + i * 60_000)
        if i % 7 == 0:  # questions between orders keep lists in one provider only
            asking.complements("s1", products[i % 60], 5, shop)
            asking.complements("s1", "new", 5, shop)
        if i == 1000:
            quiet = pickle.loads(pickle.dumps(quiet))
    assert asking.epochs["s1"].orders < 1500  # the last epoch spans several orders
    assert asking._lists["s1"]  # and answers were kept within it
    for p in [*products, "new"]:
        assert asking.complements("s1", p, 5, shop) == quiet.complements("s1", p, 5, shop)
