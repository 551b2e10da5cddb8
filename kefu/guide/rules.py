"""The shopping-guide panel (智能导购, rules.md §3, seed 000) as pure rules.

When a buyer sends a product card — or names a catalogue product by its title — in a
conversation a person is serving, and the buyer's purchase intent is at least
`guide.min_intent`, the serving agent gets a `guide.panel`: the inquired product first, then
up to `guide.max_items` complements from the store's one recommendation provider. Products
off sale or out of stock are never shown (the inquired one included). The same inquired
product does not raise a second panel in the same conversation. Orders feed the provider
incrementally; switching `guide.provider` applies to panels from then on.

When an inquiry raises no panel, the conversation remembers why (`guide_reason`: the intent
was below the store's threshold, or there is nothing to suggest with the product) so the
workbench can tell the agent instead of staying silent.
"""

from __future__ import annotations

from typing import Any

from kefu.engine import events as ev
from kefu.engine.actions import Action, GuidePanel
from kefu.engine.core import Capability, Ctx
from kefu.engine.state import ProductState, StoreState
from kefu.guide.intent_model import buyer_intent
from kefu.guide.recommend.provider import Catalogue


def available(p: Any) -> bool:
    """On sale and in stock (unknown stock counts as in stock)."""
    return p is not None and p.status == "on_sale" and (p.stock is None or p.stock > 0)


def providers(st: StoreState) -> dict[str, Any]:
    """The store's recommendation providers by name (their state lives in the snapshot)."""
    table: dict[str, Any] | None = st.ext.get("guide_providers")
    if table is None:
        table = st.ext["guide_providers"] = {}
    return table


def provider(st: StoreState, name: str) -> Any:
    """The store's provider `name`, created on first use."""
    from kefu.guide.recommend import provider_for

    table = providers(st)
    p = table.get(name)
    if p is None:
        p = table[name] = provider_for(name)
    return p


def catalogue(st: StoreState) -> dict[str, ProductState]:
    """What providers may read of the store's products."""
    return st.products


def complements_of(
    rec: Any, store: str, buyer: str, product: str, k: int, catalogue: Catalogue
) -> list[str]:
    """Up to `k` available complements of `product` for `buyer`: the provider's own answer
    (buyer-aware when it offers `complements_for`), re-checked for availability."""
    many = getattr(rec, "complements_for", None)
    if many is not None:
        got = many(store, buyer, product, k, catalogue)
    else:
        got = rec.complements(store, product, k * 3, catalogue)
    return [p for p in dict.fromkeys(got) if p != product and available(catalogue.get(p))][:k]


def learn(
    rec: Any, store: str, buyer: str, items: list[str], ts_ms: int, catalogue: Catalogue
) -> None:
    """One order teaches a provider (which may read the catalogue when it re-tunes)."""
    bind = getattr(rec, "use_catalogue", None)
    if bind is not None:
        bind(store, catalogue)
    rec.observe_order(store, buyer, items, ts_ms)


def named_product(st: StoreState, text: str) -> str | None:
    """A catalogue product whose full title appears in the buyer's words (longest first)."""
    if len(text) < 2:
        return None
    hits = [(len(p.title), pid) for pid, p in st.products.items() if p.title and p.title in text]
    return max(hits)[1] if hits else None


def _why(reason: str, product: str, intent: float, threshold: float) -> dict[str, Any]:
    return {"reason": reason, "product": product, "intent": round(intent, 4),
            "threshold": threshold}  # fmt: skip


def on_message(st: StoreState, e: ev.Message, ctx: Ctx) -> list[Action] | None:
    """A buyer's card (or a named product) in a served conversation may raise the panel."""
    conv = ctx.conversation
    g = ctx.settings.guide
    if e.sender != "buyer" or conv is None or not conv.human or conv.agent is None or not g.enabled:
        return None
    inquired = e.product or (e.products[0] if e.products else None)
    if inquired is None:
        inquired = named_product(st, e.text)
    if inquired is None or conv.ext.get("guide_last") == inquired:
        return None
    score = buyer_intent(st, e.buyer, ctx)
    if score < g.min_intent:
        conv.ext["guide_reason"] = _why("low_intent", inquired, score, g.min_intent)
        return None
    picks: list[str] = []
    if g.max_items > 0:
        rec = provider(st, g.provider)
        picks = complements_of(rec, st.store, e.buyer, inquired, g.max_items, catalogue(st))
    shown = available(st.products.get(inquired))
    products = ([inquired] if shown else []) + picks[: g.max_items]
    if not picks and g.max_items > 0:
        # Nothing to suggest with it (no other product on sale): say so instead of a panel.
        reason = "no_complements" if shown else "unavailable"
        conv.ext["guide_reason"] = _why(reason, inquired, score, g.min_intent)
        return None
    if not products:
        return None
    conv.ext.pop("guide_reason", None)
    conv.ext["guide_last"] = inquired
    conv.ext["guide_panel"] = products  # what F6 sends (kefu.guide.api)
    return [GuidePanel(ts=ctx.now, store=st.store, buyer=e.buyer, conversation=conv.id,
                       agent=conv.agent, products=products, intent=score)]  # fmt: skip


def on_order(st: StoreState, e: ev.Order, ctx: Ctx) -> list[Action] | None:
    """Every provider of the store learns from orders (baskets)."""
    items = [i.product for i in e.items]
    if len(items) == 0:
        return None
    provider(st, ctx.settings.guide.provider)
    for p in providers(st).values():
        learn(p, st.store, e.buyer, items, ctx.now, catalogue(st))
    return None


def on_view(st: StoreState, e: ev.View, ctx: Ctx) -> list[Action] | None:
    """Providers that read views (substitute evidence: viewed together, rarely bought
    together) learn them."""
    for p in providers(st).values():
        see = getattr(p, "observe_view", None)
        if see is not None:
            see(st.store, e.buyer, e.product, ctx.now)
    return None


CAPABILITY = Capability(
    name="guide", events={"message": on_message, "order": on_order, "view": on_view}
)
