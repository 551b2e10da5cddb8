"""metrics.md §0 building blocks as Ibis expressions: assignment time, holders, rounds, credit.

Everything here is a lazy Ibis table over the fact tables (`kefu.insight.facts`), so it runs
unchanged on DuckDB and Spark. Readings chosen where the spec leaves room:

- Human: the conversation had an `assign` or an agent message.
- Assignment time: the first `assign` when it came from a transfer, routing or the queue; when
  the first one is an agent's own message (`agent_message`, what a log from a real system
  gives) or there is none, the first buyer/agent message after the bot's last message before
  the first agent message (the first buyer/agent message when the bot never spoke first).
- Holder: who had the conversation at a moment (the latest `assign` at or before it; the first
  assignee before any). A buyer message is credited to its holder, an agent message to its
  sender; an answered round to the agent who answered, an unanswered one (only ever the last
  round) to the last holder.
- Times of one conversation use its UTC offset at opening (`off_ms`).
- Credit (`attribution`): the last agent message to the buyer strictly before the order (or
  payment), on the same store-local day or up to `validity_days - 1` days earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import ibis
import ibis.expr.types as ir

DAY_MS = 86_400_000
NEVER = 2**62  # an end time after every real one
WINDOW_START_MS = 8 * 3_600_000  # 08:00, metrics.md §3
WINDOW_END_MS = 23 * 3_600_000  # 23:00 (exclusive)
REPLY_LIMIT_S = 180


def day_of(local_ms: ir.IntegerValue) -> ir.IntegerValue:
    """Days since 1970-01-01 of a store-local time in milliseconds."""
    return (local_ms // DAY_MS).cast("int64")


def time_of_day(local_ms: ir.IntegerValue) -> ir.IntegerValue:
    """Milliseconds since local midnight."""
    return (local_ms % DAY_MS).cast("int64")


def left_join(left: ir.Table, right: ir.Table, keys: list[str]) -> ir.Table:
    """Left join on equal-named keys, keeping one copy of each key."""
    joined = left.view().left_join(right.view(), keys)
    return joined.drop(*[f"{k}_right" for k in keys if f"{k}_right" in joined.columns])


@dataclass
class Derived:
    """The §0 building blocks over one set of fact tables (all lazy Ibis tables)."""

    f: dict[str, Any]
    materialize: bool = False

    def _keep(self, t: ir.Table) -> ir.Table:
        """Materialize a shared intermediate once (`Table.cache`) when asked to."""
        return t.cache() if self.materialize else t

    @cached_property
    def conversations(self) -> ir.Table:
        """Conversations with human, assigned_ms, day, buyer_initiated, proactive, last_agent."""
        c, m, a = self.f["conversations"], self.f["messages"], self.f["assignments"]
        settings = self.f["settings"]
        rn = ibis.row_number().over(group_by=a.cid, order_by=[a.ts_ms, a.seq])
        ranked = a.mutate(rn=rn, n=a.cid.count().over(group_by=a.cid))
        ranked = ranked.mutate(rl=ranked.n - 1 - ranked.rn)  # one sort, not two
        first_a = ranked.filter(ranked.rn == 0).select("cid", fa_ts="ts_ms", fa_reason="reason")
        last_a = ranked.filter(ranked.rl == 0).select("cid", last_agent="agent", la_ts="ts_ms")
        agent_first = (
            m.filter(m.sender == "agent").group_by("cid").aggregate(first_agent_ts=m.ts_ms.min())
        )
        bots = left_join(m.filter(m.sender == "bot"), agent_first, ["cid"])
        last_bot = (
            bots.filter(bots.ts_ms < bots.first_agent_ts.fill_null(NEVER))
            .group_by("cid")
            .aggregate(last_bot=bots.ts_ms.max())
        )
        people = left_join(m.filter(m.sender.isin(["buyer", "agent"])), last_bot, ["cid"])
        fallback = (
            people.filter(people.ts_ms > people.last_bot.fill_null(-1))
            .group_by("cid")
            .aggregate(fallback_ts=people.ts_ms.min())
        )
        t = c
        for part in (first_a, last_a, agent_first, fallback):
            t = left_join(t, part, ["cid"])
        t = left_join(t, settings, ["store"])
        human = t.fa_ts.notnull() | t.first_agent_ts.notnull()
        real_assign = t.fa_ts.notnull() & (t.fa_reason != "agent_message")
        assigned = ibis.ifelse(real_assign, t.fa_ts, t.fallback_ts)
        # only what the parts read (materializing costs by the column)
        return self._keep(
            t.select(
                "cid", "store", "buyer", "opened_ms", "off_ms", "last_agent", "la_ts",
                "variant", "button_shown", "validity_days", "proactive_excluded",
                human=human,
                assigned_ms=ibis.ifelse(human, assigned, ibis.null("int64")),
                day=day_of(t.opened_ms + t.off_ms),
                buyer_initiated=t.first_sender == "buyer",
                proactive=t.first_sender == "agent",
            )
        )  # fmt: skip

    @cached_property
    def holders(self) -> ir.Table:
        """Who held each conversation when: [start_ms, end_ms) per assignment."""
        a = self.f["assignments"]
        w = ibis.window(group_by=a.cid, order_by=[a.ts_ms, a.seq])
        t = a.mutate(nxt=a.ts_ms.lead().over(w), rn=ibis.row_number().over(w))
        return t.select(
            "cid",
            holder="agent",
            start_ms=ibis.ifelse(t.rn == 0, 0, t.ts_ms),
            end_ms=t.nxt.fill_null(NEVER),
        )

    @cached_property
    def messages(self) -> ir.Table:
        """Buyer and agent messages with `agent` = sender (agent) or holder (buyer), day, human."""
        m, h = self.f["messages"], self.holders
        conv = self.conversations.select("cid", "human")
        buyers = m.filter(m.sender == "buyer")
        held = buyers.left_join(
            h, [buyers.cid == h.cid, buyers.ts_ms >= h.start_ms, buyers.ts_ms < h.end_ms]
        ).select("store", "cid", "buyer", "sender", "ts_ms", "local_ms", agent="holder")
        agents = m.filter(m.sender == "agent").select(
            "store", "cid", "buyer", "sender", "ts_ms", "local_ms", "agent"
        )
        both = held.union(agents)
        both = left_join(both, conv, ["cid"])
        return self._keep(both.mutate(day=day_of(both.local_ms), human=both.human.fill_null(False)))

    @cached_property
    def rounds(self) -> ir.Table:
        """metrics.md §0 rounds of human conversations, with response time and credited agent."""
        m = self.f["messages"]
        conv = self.conversations.filter(lambda t: t.human)
        people = m.filter(m.sender.isin(["buyer", "agent"])).select(
            "cid", "seq", "sender", "agent", "ts_ms"
        )  # what the window carries: the sort is the cost
        is_agent = (people.sender == "agent").cast("int64")
        w = ibis.cumulative_window(group_by=people.cid, order_by=[people.ts_ms, people.seq])
        people = people.mutate(k=is_agent.sum().over(w) - is_agent)
        # (cid, k): the k-th run of buyer messages and the one agent message that ends it
        # (k counts the agent messages before a message), in one aggregation
        is_buyer = people.sender == "buyer"
        g = people.group_by(["cid", "k"]).aggregate(
            first_buyer_ms=people.ts_ms.min(where=is_buyer),
            end_ms=people.ts_ms.max(where=~is_buyer),
            responder=people.agent.max(where=~is_buyer),
        )
        r = g.filter(g.first_buyer_ms.notnull())
        first_k = r.group_by("cid").aggregate(first_k=r.k.min())
        r = r.join(first_k, "cid")
        r = r.join(
            conv.select(
                "cid", "store", "buyer", "assigned_ms", "off_ms", "last_agent", "buyer_initiated",
                conv_day=conv.day,
            ),
            "cid",
        )  # fmt: skip
        start = ibis.greatest(r.first_buyer_ms, r.assigned_ms)
        r = r.mutate(start_ms=start)
        local = r.start_ms + r.off_ms
        answered = r.end_ms.notnull()
        rt = (r.end_ms - r.start_ms).cast("float64") / 1000.0
        tod = time_of_day(local)
        return self._keep(
            r.mutate(
                answered=answered,
                response_s=ibis.ifelse(answered, rt, ibis.null("float64")),
                agent=r.responder.fill_null(r.last_agent),
                day=day_of(local),
                in_window=(tod >= WINDOW_START_MS) & (tod < WINDOW_END_MS),
                first=r.k == r.first_k,  # the conversation's first round
            )
        )

    @cached_property
    def conversation_agents(self) -> ir.Table:
        """(cid, agent) for every agent who held or wrote in a conversation."""
        a, m = self.f["assignments"], self.f["messages"]
        held = a.select("cid", "agent")
        wrote = m.filter(m.sender == "agent").select("cid", "agent")
        return held.union(wrote).distinct()

    @cached_property
    def inquiries(self) -> ir.Table:
        """Inquiry conversations (§1): human, buyer-initiated or (setting) proactive."""
        c = self.conversations
        counted = c.buyer_initiated | (c.proactive & ~c.proactive_excluded)
        return c.filter(c.human & counted.fill_null(False)).select(
            "store", "cid", "buyer", "day", "opened_ms", "validity_days"
        )

    def _credit(self, t: ir.Table, ts: str, day: str, name: str, key: str) -> ir.Table:
        """For each row of `t` (unique on `key`), the last agent to write to its buyer before."""
        m = self.f["messages"]
        replies = m.filter(m.sender == "agent").select(
            "store", "buyer", "agent", r_ts="ts_ms", r_seq="seq", r_day=day_of(m.local_ms)
        )
        j = t.select("store", key, "buyer", ts, day, "validity_days").join(
            replies, ["store", "buyer"]
        )
        j = j.filter((j.r_ts < j[ts]) & (j[day] - j.r_day < j.validity_days))
        j = j.mutate(
            rn=ibis.row_number().over(
                group_by=[j.store, j[key]], order_by=[j.r_ts.desc(), j.r_seq.desc()]
            )
        )
        return j.filter(j.rn == 0).select("store", key, **{name: j.agent})

    @cached_property
    def orders(self) -> ir.Table:
        """Orders with day, payment (first time, total amount, day) and credited agents."""
        o, p, settings = self.f["orders"], self.f["payments"], self.f["settings"]
        o = left_join(o, settings, ["store"])
        o = o.mutate(day=day_of(o.local_ms))
        order_credit = self._credit(o, "ts_ms", "day", "order_agent", "order")
        paid = p.group_by(["store", "order"]).aggregate(
            pay_ms=p.ts_ms.min(),
            pay_local=p.local_ms.min(),
            pay_amount=p.amount.sum(),
            pay_buyer=p.buyer.max(),
        )
        # payments of orders never seen still count as sales (silent unless credited)
        t = paid.outer_join(o, ["store", "order"])
        t = t.select(
            store=t.store.fill_null(t.store_right),
            order=t.order.fill_null(t.order_right),
            buyer=t.buyer.fill_null(t.pay_buyer),
            amount=t.amount,
            ts_ms=t.ts_ms,
            day=t.day,
            pay_ms=t.pay_ms,
            pay_day=day_of(t.pay_local),
            pay_amount=t.pay_amount,
        )
        t = left_join(t, settings, ["store"])
        pay_credit = self._credit(
            t.filter(t.pay_ms.notnull() & t.buyer.notnull()), "pay_ms", "pay_day", "pay_agent",
            "order",
        )  # fmt: skip
        t = left_join(
            left_join(t, order_credit, ["store", "order"]), pay_credit, ["store", "order"]
        )
        credited = ibis.cases(
            (t.attribution == "order", t.order_agent),
            (t.attribution == "payment", t.pay_agent),
            else_=t.order_agent.fill_null(t.pay_agent),
        )
        return self._keep(t.mutate(credited=credited))
