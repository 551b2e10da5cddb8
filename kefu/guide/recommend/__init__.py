"""Complementary ("buy together") recommendations: one provider interface, several providers.

`provider_for(name)` gives the store's one provider; `kefu.guide.rules` keeps it in the
store's state, feeds it `order` baskets and asks it for a panel's complements.
"""

from kefu.guide.recommend.blend import BlendProvider
from kefu.guide.recommend.builtin import BuiltinProvider
from kefu.guide.recommend.plugins import GROUP, ProviderError, provider_for, provider_names
from kefu.guide.recommend.popularity import PopularityProvider
from kefu.guide.recommend.provider import Catalogue, CatalogueItem, Provider, available

__all__ = [
    "GROUP",
    "BlendProvider",
    "BuiltinProvider",
    "Catalogue",
    "CatalogueItem",
    "PopularityProvider",
    "Provider",
    "ProviderError",
    "available",
    "provider_for",
    "provider_names",
]
