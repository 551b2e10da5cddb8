"""The FAQ editor's view of a store: every entry (disabled ones too) and "try a question".

Entries are `faq` events in the store's log — the one source of truth the engine, a restart
and a replay share. The engine keeps only enabled entries (`StoreState.faq`); a disabled
entry is the store's latest `faq` event of that id with `enabled: false`, read back from the
log so the editor can show it and switch it on again. An entry the editor deletes is logged
disabled with `removed: true` (a field the engine ignores) and is not listed any more.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from kefu.storage import models

# (store, faq_rev) -> the store's disabled entries: every `faq` event changes `faq_rev`.
_disabled: dict[str, tuple[str, list[dict[str, Any]]]] = {}


def entry_doc(e: Any, enabled: bool = True) -> dict[str, Any]:
    """An engine FaqEntry (or a logged payload) as the API returns it."""
    get = e.get if isinstance(e, dict) else lambda k, d=None: getattr(e, k, d)
    return {"faq": get("faq"), "question": get("question"), "answer": get("answer"),
            "variants": list(get("variants") or []), "keywords": list(get("keywords") or []),
            "related": list(get("related") or []), "enabled": enabled}  # fmt: skip


def disabled_entries(service: Any, store: str) -> list[dict[str, Any]]:
    """The store's entries whose latest `faq` event disabled them (not removed ones)."""
    with service.state_of(store) as st:
        rev = st.faq_rev if st is not None else ""
        live = set(st.faq) if st is not None else set()
    hit = _disabled.get(store)
    if hit is not None and hit[0] == rev:
        return [d for d in hit[1] if d["faq"] not in live]
    last: dict[str, dict[str, Any]] = {}
    e = models.Event
    with service.sessions() as s:
        q = select(e.payload).where(e.store == store, e.type == "faq").order_by(e.seq)
        for payload in s.scalars(q):
            try:
                doc = json.loads(payload)
            except ValueError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("faq"), str):
                last[doc["faq"]] = doc
    off = [entry_doc(d, enabled=False) for k, d in sorted(last.items())
           if d.get("enabled") is False and not d.get("removed")]  # fmt: skip
    _disabled[store] = (rev, off)
    return [d for d in off if d["faq"] not in live]


def all_entries(service: Any, store: str, include_disabled: bool) -> list[dict[str, Any]]:
    """Enabled entries from the engine, with the disabled ones when asked; sorted by id."""
    with service.state_of(store) as st:
        items = [entry_doc(st.faq[k]) for k in sorted(st.faq)] if st is not None else []
    if include_disabled:
        items = sorted([*items, *disabled_entries(service, store)], key=lambda d: d["faq"])
    return items


def find(service: Any, store: str, faq: str) -> dict[str, Any] | None:
    """One entry (enabled or disabled), or None."""
    with service.state_of(store) as st:
        entry = st.faq.get(faq) if st is not None else None
    if entry is not None:
        return entry_doc(entry)
    return next((d for d in disabled_entries(service, store) if d["faq"] == faq), None)


def try_question(service: Any, store: str, text: str, product: str | None = None) -> dict[str, Any]:
    """What the bot would do with `text` right now, on the live index at the store's
    threshold: `decision` is `answer`, `unsure` (best match below the threshold: the
    unsure text and the person button), `miss` (nothing matches), `transfer` (a hand-over
    keyword) or `bot_off`. Nothing is logged and no conversation is touched."""
    from kefu.conversations import bot
    from kefu.conversations.rules import _wants_person

    s = service.engine.settings(store)
    threshold = s.bot.threshold
    with service.state_of(store) as st:
        found = bot.answer(st, text, product, threshold) if st is not None else None
        entry = st.faq.get(found.faq) if st is not None and found is not None else None
    if not s.bot.enabled:
        decision, reply = "bot_off", None
    elif s.handoff.enabled and _wants_person(text, s.handoff.keywords):
        decision, reply = "transfer", None
    elif found is None:
        decision, reply = "miss", s.bot.miss_text
    elif not found.confident:
        decision, reply = "unsure", s.bot.unsure_text
    else:
        decision, reply = "answer", found.text
    match = None
    if found is not None:
        match = {"faq": found.faq, "question": entry.question if entry else found.question,
                 "answer": found.text, "confidence": round(found.score, 4),
                 "source": found.source, "supplementary": found.supplementary}  # fmt: skip
    return {"question": text, "threshold": threshold, "decision": decision, "reply": reply,
            "match": match}  # fmt: skip
