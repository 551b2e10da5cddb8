"""Response bodies of the FAQ endpoints (kefu.faq.api)."""

from __future__ import annotations

from kefu.api.schemas import ApiModel, Num


class Entry(ApiModel):
    """A FAQ entry as the bot answers from it."""

    faq: str
    question: str
    answer: str
    variants: list[str]
    keywords: list[str]
    related: list[str]
    enabled: bool


class EntryPage(ApiModel):
    """Entries sorted by id; `next` is the `after` of the next page, `total` the count."""

    store: str
    items: list[Entry]
    next: str | None
    total: int


class TryMatch(ApiModel):
    """The entry that matched a tried question and how confidently."""

    faq: str | None
    question: str | None
    answer: str | None
    confidence: Num
    source: str
    supplementary: str | None


class TryResult(ApiModel):
    """What the bot would do: `answer`, `unsure`, `miss`, `transfer` or `bot_off`."""

    question: str
    threshold: Num
    decision: str
    reply: str | None
    match: TryMatch | None


class Evidence(ApiModel):
    """Why a proposal is made: how often, by whom, how it went."""

    asked: int
    uses: int
    conversations: list[str]
    agents: list[str]
    mean_rating: Num | None
    orders_after: int
    alternatives: list[str]


class ProposalOut(ApiModel):
    """A learnt FAQ proposal and its review state."""

    id: str
    question: str
    answer: str
    variants: list[str]
    score: Num
    status: str
    evidence: Evidence
    decided_by: str | None
    decided_at: int | None
    note: str
    learned_answer: str | None
    kind: str
    target: str | None


class ProposalPage(ApiModel):
    """Proposals best first; `total` counts the filtered list."""

    store: str
    total: int
    offset: int
    items: list[ProposalOut]


class Learnt(ApiModel):
    """A learning run: conversations mined, proposals made and how many are new."""

    store: str
    conversations: int
    proposals: int
    new: int


class Suggestion(ApiModel):
    """A reply the agent may send (`source`: faq or history; `ref`: its FAQ or history id)."""

    text: str
    source: str
    score: Num
    ref: str
    question: str


class Assist(ApiModel):
    """Smart assist's replies for the conversation's latest message (or the text given)."""

    conversation: str
    question: str | None
    suggestions: list[Suggestion]
