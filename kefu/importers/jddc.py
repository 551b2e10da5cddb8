"""JDDC 2018 baseline corpus (JD.com customer service, Chinese): context/reply pairs to chats.

Each line of the context file (`*_context.txt`, `*.enc`) is one window of a real chat, the
same line of the response file (`*_response.txt`, `*.dec`) the agent's next reply. JD's
baseline script built a window from exactly five turns, buyer/agent/buyer/agent/buyer, each
turn being one or more messages, every message followed by an ASCII comma; the reply is one
agent turn (one or more messages). The turns' borders were lost: we split on the ASCII comma
(messages keep full-width commas) and recover the borders with `split_turns`, which places
the four borders where they best fit a lexicon of agent and buyer wording (see
docs/importers.md).

There are no timestamps, session ids, buyer ids or agent ids: each line becomes its own
conversation (`jddc-<line>`) of buyer `jddc-b<line>` with one agent, on a synthetic clock
(every event carries `"synthetic_ts": true`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from itertools import zip_longest
from pathlib import Path

from kefu.importers.common import (
    PRIO_CLOSE,
    PRIO_DECLARE,
    EventSink,
    ImportReport,
    ProgressFn,
    epoch_ms,
    event,
    no_progress,
    open_text,
    rfc3339,
)

# What a replay of this log needs (written beside the events by `kefu import`).
SETTINGS = {"bot": {"enabled": False}}
SETTINGS_WHY = "bot off: the log holds the agents' own replies"

NAME = "jddc"
DEFAULT_STORE = "jd"
AGENT = "jd-agent"
CST = timezone(timedelta(hours=8))
START = datetime(2018, 3, 1, 9, 0, tzinfo=CST)  # JDDC was published in spring 2018
SAME_SENDER_GAP = timedelta(seconds=10)
TURN_GAP = timedelta(seconds=30)
CONVERSATION_GAP = timedelta(minutes=5)
TURNS = 5  # buyer, agent, buyer, agent, buyer

# Weights of wording: positive leans agent (客服), negative leans buyer. Built by reading the
# corpus; checked on the fragments whose side is certain (first and last of each context are
# the buyer's, every reply fragment is the agent's).
AGENT_WORDS: dict[str, float] = {
    "有什么问题我可以帮您": 6,
    "请问您是咨询之前的问题": 6,
    "请问还有其他": 5,
    "很高兴": 3,
    "评价": 3,
    "祝您": 3,
    "妹子": 3,
    "小妹": 3,
    "亲爱的": 3,
    "为您": 2.5,
    "帮您": 2.5,
    "给您": 2.5,
    "请您": 2.5,
    "您的": 2,
    "麻烦您": 2,
    "辛苦您": 2,
    "还请": 2,
    "核实": 2,
    "亲": 2,
    "您": 1.5,
    "抱歉": 1.5,
    "感谢": 1.5,
    "不客气": 2,
    "建议": 1.5,
    "客户": 1.5,
    "这边": 1,
    "哦": 1,
    "呢": 1,
    "的哈": 1,
    "~": 1.5,
    "理解": 1,
    "工作日": 2,
    "原路": 2,
    "配送员": 2,
    "服务单号": 1.5,
    "售后服务电话": 3,
    "请问是这个商品吗": 3,
    "已经为您": 2,
    "可以的": 1,
    "好滴": 1.5,
    "放心": 1.5,
}
BUYER_WORDS: dict[str, float] = {
    "咨询订单号": 8,
    "订单编号:": 5,
    "订单号:": 3,
    "item.jd.com": 8,
    "item.m.jd.com": 8,
    "顾客通过": 8,
    "我": 1.5,
    "你": 1.5,
    "?": 1,
    "？": 1,
    "吗": 0.5,
    "啊": 1.5,
    "怎么": 1.5,
    "为什么": 2,
    "能不能": 2,
    "谢谢": 1.5,
    "人工": 2,
    "没有了": 2,
    "没了": 2,
    "急": 1,
    "到底": 2,
    "什么时候": 1.5,
    "多久": 1.5,
    "在吗": 3,
    "在么": 3,
    "在不": 3,
    "人呢": 3,
    "好吧": 2,
    "好的": 0.5,
    "是的": 0.5,
    "预计送达时间": 2,
}
_PLACEHOLDER_ONLY = re.compile(r"^\s*(\[[A-Za-z_\u4e00-\u9fff]+[^\]]*\]\s*)+$")
_ITEM_URL = re.compile(r"item(?:\.m)?\.jd\.com/(?:product/)?(\d+)\.html")


def agent_score(fragment: str) -> float:
    """How much a message reads like the agent (> 0) or like the buyer (< 0)."""
    s = 0.0
    for word, w in AGENT_WORDS.items():
        if word in fragment:
            s += w
    for word, w in BUYER_WORDS.items():
        if word in fragment:
            s -= w
    if _PLACEHOLDER_ONLY.match(fragment):
        s -= 1  # a bare order id / name / phone: usually the buyer answering a question
    if len(fragment) > 40:
        s += 1  # long, formal explanations are the agent's
    return s


def split_turns(messages: list[str]) -> list[int]:
    """Turn number (0..4: buyer, agent, buyer, agent, buyer) of each message of a context.

    Dynamic programming over the four borders: maximise the agent score of the messages put
    in agent turns (turns 1 and 3), every turn non-empty; on a tie the earlier border wins.
    """
    n = len(messages)
    if n < TURNS:
        raise ValueError(f"{n} messages, fewer than the {TURNS} turns of a context")
    scores = [agent_score(m) for m in messages]
    neg = float("-inf")
    # best[i][k]: best total for messages[0..i] with message i in turn k; back pointers in `came`
    best = [[neg] * TURNS for _ in range(n)]
    came = [[0] * TURNS for _ in range(n)]
    best[0][0] = 0.0
    for i in range(1, n):
        for k in range(TURNS):
            gain = scores[i] if k % 2 == 1 else 0.0
            stay = best[i - 1][k]
            step = best[i - 1][k - 1] if k > 0 else neg
            if step >= stay and step > neg:  # ties move the border earlier
                best[i][k], came[i][k] = step + gain, k - 1
            elif stay > neg:
                best[i][k], came[i][k] = stay + gain, k
    turns = [0] * n
    k = TURNS - 1
    for i in range(n - 1, -1, -1):
        turns[i] = k
        k = came[i][k]
    return turns


def response_path(context: Path) -> Path:
    """The reply file next to a context file: `*context*` -> `*response*`, `.enc` -> `.dec`."""
    name = context.name
    if "context" in name:
        return context.with_name(name.replace("context", "response"))
    if name.endswith(".enc"):
        return context.with_name(name[:-4] + ".dec")
    raise ValueError(f"cannot name the response file of {name} (expected *context* or *.enc)")


def messages_of(line: str) -> list[str]:
    """The messages of one line: every message was written followed by a comma.

    Empty messages are kept (a picture or emoji removed by the corpus' cleaning, say): they
    still mark whose turn it was.
    """
    body = line.rstrip("\r\n")
    if not body:
        return []
    body = body.removesuffix(",")
    return [m.strip() for m in body.split(",")]


def read(
    path: Path,
    sink: EventSink,
    report: ImportReport,
    *,
    store: str | None = None,
    limit: int | None = None,
    progress: ProgressFn = no_progress,
) -> None:
    """Import context/reply pairs as one synthetic-time conversation per line."""
    shop = store or DEFAULT_STORE
    replies = response_path(path)
    if not replies.exists():
        raise FileNotFoundError(f"response file not found: {replies}")
    clock = START
    declared = False
    with open_text(path, progress) as ctx_fh, open_text(replies) as rsp_fh:
        for n, (context, reply) in enumerate(zip_longest(ctx_fh, rsp_fh), 1):
            if context is None:
                break  # extra replies without context: nothing to attach them to
            if limit is not None and n > limit:
                break
            report.rows += 1
            if reply is None:
                report.skip(n, "no reply line", "the response file is shorter")
                continue
            said = messages_of(context)
            answer = messages_of(reply)
            try:
                turns = split_turns(said)
            except ValueError as err:
                report.skip(n, "short context", str(err))
                continue
            if not declared:
                _declare(sink, shop, clock)
                declared = True
            clock = _conversation(sink, shop, n, said, turns, answer, clock)
            clock += CONVERSATION_GAP


def _declare(sink: EventSink, shop: str, at: datetime) -> None:
    ts, ms = rfc3339(at), epoch_ms(at)
    declare = event("agent", ts, shop, f"jddc-agent-{AGENT}", agent=AGENT, name="JD 客服")
    sink.add(declare | {"role": "agent", "synthetic_ts": True}, ms, PRIO_DECLARE)
    online = event("agent.status", ts, shop, f"jddc-online-{AGENT}", agent=AGENT)
    online |= {"status": "online", "synthetic_ts": True}
    sink.add(online, ms, PRIO_DECLARE)


def _conversation(
    sink: EventSink,
    shop: str,
    line: int,
    said: list[str],
    turns: list[int],
    answer: list[str],
    start: datetime,
) -> datetime:
    """Emit one line's messages from `start`; returns the time of its last event."""
    buyer, conv = f"jddc-b{line}", f"jddc-{line}"
    at = start
    previous: str | None = None
    messages = [(m, "agent" if t % 2 else "buyer") for m, t in zip(said, turns, strict=True)]
    messages += [(m, "agent") for m in answer]
    for i, (text, sender) in enumerate(messages):
        if previous is not None:
            at += SAME_SENDER_GAP if sender == previous else TURN_GAP
        previous = sender
        msg = event("message", rfc3339(at), shop, f"{conv}-{i}", buyer=buyer, sender=sender)
        if sender == "agent":
            msg["agent"] = AGENT
        msg["text"] = text
        if sender == "buyer" and (m := _ITEM_URL.search(text)):
            msg["product"] = m.group(1)
        msg |= {"conversation": conv, "synthetic_ts": True}
        sink.add(msg, epoch_ms(at), line=line)
    close = event("conversation.close", rfc3339(at), shop, f"{conv}-close", buyer=buyer)
    close |= {"agent": AGENT, "conversation": conv, "synthetic_ts": True}
    sink.add(close, epoch_ms(at), PRIO_CLOSE, line=line)
    return at
