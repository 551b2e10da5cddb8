"""People see names, not ids (issue: 'store title s001', agent ids in the top bar): /me and the
widget carry the store's and the account's display names; ids stay for tooltips."""

from __future__ import annotations

from tests.accounts.support import Live, live

__all__ = ["live"]


def test_me_and_the_widget_name_the_store_and_the_agent(live: Live) -> None:
    c = live.client
    h = live.online("s1", "s1-a1", name="山野茶坊:小宇")
    me = c.get("/api/v1/me", headers=h).json()
    assert (me["store"], me["store_name"]) == ("s1", "山野茶坊")  # the shop its accounts name
    assert (me["agent"], me["agent_name"]) == ("s1-a1", "山野茶坊:小宇")
    widget = c.get("/api/v1/buyer/widget", headers=live.buyer("s1", "b1")).json()
    assert widget["name"] == "山野茶坊"


def test_a_store_without_names_shows_its_id(live: Live) -> None:
    h = live.staff("s2", "boss", "admin")
    me = live.client.get("/api/v1/me", headers=h).json()
    assert (me["store_name"], me["agent_name"]) == ("s2", "boss")
