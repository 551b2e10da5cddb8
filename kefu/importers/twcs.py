"""Customer Support on Twitter (TWCS, Kaggle / Thought Vector): reply trees to conversations.

Two streaming passes over the CSV: the first keeps only the tree structure (author, side,
parent, addressed customer) to find each tweet's root, store and buyer; the second emits
the messages. Readings (see docs/importers.md):

- store = the company account of the tree (`sprintcare`, `AmazonHelp` ...);
- buyer = the customer's author id; a company tweet's buyer is the customer it answers
  (its parent's author, or the first numeric @mention when the parent is absent);
- conversation = `twcs-<root tweet id>` for the customer who opened the tree, with
  `-<buyer>` appended for other customers who joined the same tree;
- agent = the sign-off at the end of a company tweet (`^JK`, `-Becky`, `*TMT`, `/KB` ...),
  else the company itself; each agent is declared (`agent`, `agent.status` online) at its
  first message, and every conversation is closed (`conversation.close`) at its last one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from sys import intern

from kefu.importers.common import (
    PRIO_CLOSE,
    PRIO_DECLARE,
    EventSink,
    ImportReport,
    ProgressFn,
    csv_records,
    epoch_ms,
    event,
    no_progress,
    open_text,
    rfc3339,
)

# What a replay of this log needs (written beside the events by `kefu import`): the companies'
# own agents answered every tweet, in English, on UTC timestamps — no bot, no urge.
SETTINGS = {
    "store": {"timezone": "UTC"},
    "bot": {"enabled": False},
    "urge": {"enabled": False},
    "guide": {"enabled": False},
}
SETTINGS_WHY = "bot, urge and guide off: the log holds the companies' own English replies"

NAME = "twcs"
COLUMNS = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}

# Sign-offs. The tail (links, "1/2" thread counters, "..." of truncated tweets) goes first.
_TOKEN = r"([A-Za-z](?:[A-Za-z]|\.(?=[A-Za-z])){0,19})\.?"
_TAIL = re.compile(r"(?:\s*(?:https?://\S+|\(?(?:\.{2,3}|…)?\d/\d\)?\.?|\.{3}|…|(?<=\s)\.))+\s*$")
_CARET = re.compile(r"\^\s?" + _TOKEN + r"\s*$")  # ^JK ^Jane ^cr (case as written)
_MARK = re.compile(r"(?:(?<=[\W\d])|^)(?:\*|~|=|/|-{1,2}|–|—)\s?" + _TOKEN + r"\s*$")  # -KC *TMT
_HYPHEN = re.compile(r"(?<=[a-z]{2})-\s?([A-Z][a-z]{2,11})\.?\s*$")  # Thanks-Anwar, it-Tabby
_NAME = re.compile(r"(?:[.!?)。！？]|[:;=]\)|\n)\s*([A-Z][a-z]{2,11})\.?\s*$")  # ... here. Robbie
_INITIALS = re.compile(r"(?:^|(?<=\W))([A-Z]{2,3})$")  # ...ください。ET
_NOT_AGENTS = frozenset(
    re.findall(
        r"\w+",
        "Thanks Thank Cheers Regards Enjoy Yes No Sorry Apologies Team Care Help Thx You Please "
        "Almost TY DM US UK USA OK TV PC ID FYI LOL PM AM EU IT FAQ ASAP NYC ATM",
    )
)  # words that end tweets but are not names
_MENTION = re.compile(r"^\s*(?:@\w+\s+)*?@(\d+)\b")


def signature(text: str) -> str | None:
    """The agent sign-off at the end of a company tweet (`^JK` -> `JK`), or None."""
    s = _TAIL.sub("", text.rstrip())
    m = _CARET.search(s)
    if m:
        return m.group(1).replace(".", "")
    for rx in (_MARK, _HYPHEN):
        m = rx.search(s)
        if m and m.group(1)[0].isupper() and m.group(1) not in _NOT_AGENTS:
            return m.group(1).replace(".", "")
    for rx in (_NAME, _INITIALS):
        m = rx.search(s)
        if m and m.group(1) not in _NOT_AGENTS:
            return m.group(1)
    return None


def parse_created_at(value: str) -> datetime:
    """Twitter's `Tue Oct 31 22:10:47 +0000 2017` as an aware datetime (locale-independent)."""
    parts = value.split()
    if len(parts) != 6 or parts[1] not in MONTHS:
        raise ValueError(f"not a Twitter date: {value[:40]!r}")
    hh, mm, ss = (int(x) for x in parts[3].split(":"))
    off = parts[4]
    if len(off) != 5 or off[0] not in "+-":
        raise ValueError(f"bad offset in {value[:40]!r}")
    sign = 1 if off[0] == "+" else -1
    tz = timezone(sign * timedelta(hours=int(off[1:3]), minutes=int(off[3:5])))
    return datetime(int(parts[5]), MONTHS[parts[1]], int(parts[2]), hh, mm, ss, tzinfo=tz)


def _tweet_id(value: str) -> int | None:
    """`3.0` or `3` -> 3; empty -> None (pandas wrote parents as floats)."""
    v = value.strip()
    if not v:
        return None
    if v.endswith(".0"):
        v = v[:-2]
    return int(v)


@dataclass(slots=True)
class Row:
    """One tweet as read from the CSV."""

    line: int
    tweet: int
    author: str
    inbound: bool
    at: datetime
    text: str
    parent: int | None


def _rows(
    path: Path, report: ImportReport, limit: int | None, progress: ProgressFn, phase: str
) -> Iterator[Row]:
    """Valid rows in file order; bad ones go to `report` with their first physical line."""
    with open_text(path, progress, phase) as fh:
        records = csv_records(fh, report)
        first = next(records, None)
        if first is None:
            return
        header = first[1]
        index = {name.strip(): i for i, name in enumerate(header)}
        missing = [c for c in COLUMNS if c not in index]
        if missing:
            raise ValueError(f"not a TWCS file: missing columns {', '.join(missing)}")
        cols = [index[c] for c in COLUMNS]
        width = len(header)
        for n, (line, rec) in enumerate(records):
            if limit is not None and n >= limit:
                break
            report.rows += 1
            if len(rec) != width:
                report.skip(line, "malformed CSV row", f"{len(rec)} columns instead of {width}")
                continue
            tid, author, inbound, created, text, _, parent = (rec[i] for i in cols)
            try:
                tweet = _tweet_id(tid)
                parent_id = _tweet_id(parent)
                at = parse_created_at(created)
            except ValueError as err:
                report.skip(line, "bad value", str(err))
                continue
            if tweet is None or not author.strip():
                report.skip(line, "bad value", "empty tweet_id or author_id")
                continue
            if inbound not in ("True", "False"):
                report.skip(line, "bad value", f"inbound is {inbound[:20]!r}")
                continue
            yield Row(line, tweet, intern(author.strip()), inbound == "True", at, text, parent_id)


@dataclass(slots=True)
class _Last:
    """The latest message of a conversation so far: when, whose, and the last agent in it."""

    ms: int
    ts: str
    buyer: str
    agent: str | None


class Trees:
    """The reply structure of the file: roots, stores and buyers of every tweet."""

    def __init__(self) -> None:
        # tweet -> (author, inbound, parent, first numeric @mention)
        self.tweets: dict[int, tuple[str, bool, int | None, str | None]] = {}
        self.company_reply: dict[int, str] = {}  # tweet -> company that first answered it
        self.tree_company: dict[int, str] = {}  # root -> first company seen in the tree
        self._root: dict[int, int] = {}

    def add(self, row: Row) -> bool:
        """Record a tweet; False when its id was already seen."""
        if row.tweet in self.tweets:
            return False
        m = None if row.inbound else _MENTION.match(row.text)
        self.tweets[row.tweet] = (row.author, row.inbound, row.parent, m.group(1) if m else None)
        if not row.inbound and row.parent is not None:
            self.company_reply.setdefault(row.parent, row.author)
        return True

    def finish(self) -> None:
        """Name each tree's company once every tweet is known."""
        for tweet, (author, inbound, _, _) in self.tweets.items():
            if not inbound:
                self.tree_company.setdefault(self.root(tweet), author)

    def _parent(self, tweet: int) -> int | None:
        p = self.tweets[tweet][2]
        return p if p is not None and p in self.tweets else None

    def root(self, tweet: int) -> int:
        """The earliest ancestor present in the file (a missing parent makes a new root)."""
        path: list[int] = []
        t = tweet
        seen: set[int] = set()
        while t not in self._root:
            seen.add(t)
            p = self._parent(t)
            if p is None or p in seen:  # no parent, or a (corrupt) cycle
                self._root[t] = t
                break
            path.append(t)
            t = p
        r = self._root[t]
        for x in path:
            self._root[x] = r
        return r

    def buyer(self, tweet: int) -> str | None:
        """The customer a tweet belongs to: its author, or the customer a company answers."""
        seen: set[int] = set()
        t: int | None = tweet
        while t is not None and t not in seen:
            seen.add(t)
            author, inbound, _, mention = self.tweets[t]
            if inbound:
                return author
            p = self._parent(t)
            if p is None:
                return mention
            t = p
        return None

    def store(self, tweet: int) -> str | None:
        """The company of a tweet: its author, the company it talks to, or the tree's company."""
        author, inbound, _, _ = self.tweets[tweet]
        if not inbound:
            return author
        p = self._parent(tweet)
        if p is not None and not self.tweets[p][1]:
            return self.tweets[p][0]
        return self.company_reply.get(tweet) or self.tree_company.get(self.root(tweet))

    def conversation(self, tweet: int, buyer: str) -> str:
        """`twcs-<root>` for the tree's own customer, `twcs-<root>-<buyer>` for the others."""
        r = self.root(tweet)
        return f"twcs-{r}" if self.buyer(r) == buyer else f"twcs-{r}-{buyer}"


def read(
    path: Path,
    sink: EventSink,
    report: ImportReport,
    *,
    store: str | None = None,
    limit: int | None = None,
    progress: ProgressFn = no_progress,
) -> None:
    """Import TWCS tweets; `store` keeps only that company's conversations."""
    trees = Trees()
    for row in _rows(path, ImportReport(NAME), limit, progress, "scanning"):
        trees.add(row)
    trees.finish()

    agents: dict[tuple[str, str], tuple[int, str]] = {}  # (store, agent) -> first ms, ts
    convs: dict[tuple[str, str], _Last] = {}
    done: set[int] = set()
    for row in _rows(path, report, limit, progress, "reading"):
        if row.tweet in done:
            report.skip(row.line, "duplicate tweet_id", str(row.tweet))
            continue
        done.add(row.tweet)
        shop = trees.store(row.tweet)
        if shop is None:
            report.skip(row.line, "customer tweet no company answered", str(row.tweet))
            continue
        if store is not None and shop != store:
            report.filtered += 1
            continue
        buyer = trees.buyer(row.tweet)
        if buyer is None:
            report.skip(row.line, "company tweet addressed to no customer", str(row.tweet))
            continue
        conv = trees.conversation(row.tweet, buyer)
        text = html.unescape(row.text)
        ms, ts = epoch_ms(row.at), rfc3339(row.at)
        agent = None if row.inbound else signature(text) or shop
        sender = "buyer" if row.inbound else "agent"
        msg = event("message", ts, shop, f"twcs-{row.tweet}", buyer=buyer, sender=sender)
        if agent is not None:
            msg["agent"] = agent
        msg |= {"text": text, "conversation": conv}
        if not sink.add(msg, ms, line=row.line):
            continue
        if agent is not None and ms < agents.get((shop, agent), (ms + 1, ""))[0]:
            agents[(shop, agent)] = (ms, ts)
        last = convs.get((shop, conv))
        if last is None:
            convs[(shop, conv)] = _Last(ms, ts, buyer, agent)
        elif ms >= last.ms:
            last.ms, last.ts = ms, ts
            last.agent = agent or last.agent
        elif agent is not None and last.agent is None:
            last.agent = agent

    for (shop, agent), (ms, ts) in agents.items():
        declare = event("agent", ts, shop, f"twcs-agent-{shop}-{agent}", agent=agent)
        sink.add(declare | {"name": agent, "role": "agent"}, ms, PRIO_DECLARE)
        online = event("agent.status", ts, shop, f"twcs-on-{shop}-{agent}", agent=agent)
        sink.add(online | {"status": "online"}, ms, PRIO_DECLARE)
    for (shop, conv), last in convs.items():
        close = event("conversation.close", last.ts, shop, f"{conv}-close", buyer=last.buyer)
        close["conversation"] = conv
        if last.agent is not None:
            close["agent"] = last.agent
        sink.add(close, last.ms, PRIO_CLOSE)
