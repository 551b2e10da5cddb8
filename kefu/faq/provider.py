"""An optional OpenAI-compatible model (self-hosted Ollama/vLLM or a hosted one) that re-ranks.

The model only *picks* among the entries the built-in matcher found (their questions and
answers are shown to it); it never writes a reply, so it cannot invent a policy. Any failure —
time-out, connection refused, a malformed reply, an id that was not offered — falls back to the
built-in decision (`FaqIndex.answer`). Off unless a store sets an endpoint. It is not used by
the engine's rules (an HTTP call would make a replay differ from the live run); smart assist and
`kefu faq ask --provider-url` use it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from kefu.faq.answer import Answer
from kefu.faq.index import FaqIndex, Hit

NONE = "none"
_PROMPT = (
    "你是网店客服的检索助手。下面是店铺已有的问答条目。请判断哪一个条目回答了买家的问题，"
    "只回复该条目的编号；没有条目回答时只回复 none。不要写别的内容。"
)


@dataclass(frozen=True)
class Provider:
    """Chat-completions endpoint (`{url}/chat/completions`), model name and time-out."""

    url: str
    model: str
    timeout_s: float = 2.0
    api_key: str | None = None

    def _ask(self, messages: list[dict[str, str]]) -> str:
        body = json.dumps({"model": self.model, "messages": messages, "temperature": 0,
                           "max_tokens": 16}).encode()  # fmt: skip
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(
            self.url.rstrip("/") + "/chat/completions", body, headers, method="POST"
        )
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
            doc: Any = json.loads(resp.read())
        return str(doc["choices"][0]["message"]["content"])

    def pick(self, question: str, hits: list[Hit]) -> str | None:
        """The id of the entry the model picks, "" when it says none answers, None on failure."""
        if not hits:
            return None
        lines = [f"[{n}] 问：{h.item.question} 答：{h.item.answer}" for n, h in enumerate(hits, 1)]
        user = "\n".join(lines) + f"\n买家：{question}"
        messages = [{"role": "system", "content": _PROMPT}, {"role": "user", "content": user}]
        try:
            said = self._ask(messages).strip().strip("[]。. ").lower()
        except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError, TypeError):
            return None  # time-out, refused, not JSON, not the chat-completions shape
        if said == NONE:
            return ""
        if said.isdigit() and 1 <= int(said) <= len(hits):
            return hits[int(said) - 1].item.faq
        return None  # an answer that is not one of the offered ids: ignored


def answer_with(
    index: FaqIndex, text: str, provider: Provider | None, k: int = 5
) -> tuple[Answer | None, str]:
    """The answer with the provider's pick (and where it came from: provider | builtin).

    The provider's entry is answered with that entry's own confidence, but as confident (the
    model vouched for it); "none" makes the bot unsure. Failures use the built-in answer.
    """
    builtin = index.answer(text)
    if provider is None or (builtin is not None and builtin.source in ("product", "keyword")):
        return builtin, "builtin"
    hits = index.search(text, k=k)
    picked = provider.pick(text, hits)
    if picked is None:
        return builtin, "builtin"
    if picked == "":
        if builtin is None:
            return None, "provider"
        return Answer(builtin.faq, builtin.text, builtin.score, confident=False,
                      question=builtin.question, source=builtin.source), "provider"  # fmt: skip
    hit = next(h for h in hits if h.item.faq == picked)
    return Answer(hit.item.faq, hit.item.answer, round(hit.score, 4), confident=True,
                  question=hit.variant, source=hit.item.source), "provider"  # fmt: skip
