"""The deterministic event engine: state + event + settings → actions.

Capabilities register pure handlers per event type and per timer kind. The engine feeds
events in time order, fires due timers before any event with a later timestamp, and keeps
one `StoreState` per store. It does no I/O: the live service persists what it returns, and
`kefu replay` writes it to files.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kefu.engine.actions import Action, ConversationClosed, ConversationOpen
from kefu.engine.clock import Clock, VirtualClock
from kefu.engine.events import Event
from kefu.engine.settings import Config, Settings, SettingsError, merge_values
from kefu.engine.state import Conversation, StoreState, Timer

Emitted = Iterable[Action] | None
EventHandler = Callable[[StoreState, Any, "Ctx"], Emitted]
TimerHandler = Callable[[StoreState, Timer, "Ctx"], Emitted]
ConversationHook = Callable[[StoreState, Conversation, "Ctx"], Emitted]


@dataclass(frozen=True)
class Capability:
    """A capability's rules: handlers by event type, by timer kind, and conversation hooks."""

    name: str
    events: dict[str, EventHandler] = field(default_factory=dict)
    timers: dict[str, TimerHandler] = field(default_factory=dict)
    on_open: ConversationHook | None = None
    on_close: ConversationHook | None = None


class Ctx:
    """What a handler may use besides the state: settings, the time, timers, conversations."""

    __slots__ = ("_engine", "conversation", "now", "settings", "state")

    def __init__(self, engine: Engine, state: StoreState, settings: Settings, now: int) -> None:
        self._engine = engine
        self.state = state
        self.settings = settings
        self.now = now
        self.conversation: Conversation | None = None

    def schedule(self, key: str, due: int, kind: str, **data: Any) -> Timer:
        """Set (or replace) the timer `key` to fire `kind` at `due`.

        Moving a pending timer later (the common case: each message pushes an urge back)
        only updates it; its heap entry re-arms itself when reached.
        """
        st = self.state
        self._engine.timer_touched(st.store, key)
        current = st.timers.get(key)
        if current is not None and current.kind == kind and current.due <= due:
            current.due = due
            current.data = data
            return current
        st.timer_seq += 1
        timer = Timer(key=key, due=due, kind=kind, seq=st.timer_seq, data=data)
        st.timers[key] = timer
        self._engine._push(st.store, timer)
        return timer

    def cancel(self, key: str) -> None:
        """Cancel the timer `key` if it is pending."""
        if self.state.timers.pop(key, None) is not None:
            self._engine.timer_touched(self.state.store, key)

    def open_conversation(self, buyer: str, first_sender: str, conv_id: str | None) -> Conversation:
        """Open a conversation for `buyer` (closing any other open one) and run open hooks."""
        return self._engine._open(self, buyer, first_sender, conv_id)

    def close_conversation(self, conv: Conversation, reason: str, agent: str | None = None) -> None:
        """Close `conv` and run every capability's close hook."""
        self._engine._close(self, conv, reason, agent)

    def emit(self, actions: Emitted) -> None:
        """Add actions produced outside the handler's return value (hooks, helpers)."""
        if actions:
            self._engine._out.extend(actions)


class Engine:
    """Runs capabilities over events for every store; see the module docstring."""

    def __init__(
        self,
        config: Config | None = None,
        capabilities: Sequence[Capability] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if capabilities is None:
            raise TypeError(
                "Engine needs its capabilities (the engine knows none itself): "
                "kefu.runtime.registry.default_engine() makes one with the default set"
            )
        self.config = config or Config()
        self.capabilities = list(capabilities)
        self.clock = clock or VirtualClock()
        self.states: dict[str, StoreState] = {}
        self._settings: dict[str, Settings] = {}
        self._heap: list[tuple[int, int, str, str, int]] = []
        # Timer keys set, moved, cancelled or fired per store since the live service last
        # wrote them (None: not tracked, as in a replay, which keeps no timer table).
        self.timer_changes: dict[str, set[str]] | None = None
        self._heap_seq = 0
        self._out: list[Action] = []
        self._handlers: dict[str, list[EventHandler]] = {}
        self._timer_handlers: dict[str, TimerHandler] = {}
        self._open_hooks = [c.on_open for c in self.capabilities if c.on_open]
        self._close_hooks = [c.on_close for c in self.capabilities if c.on_close]
        for cap in self.capabilities:
            for etype, handler in cap.events.items():
                self._handlers.setdefault(etype, []).append(handler)
            for kind, th in cap.timers.items():
                if kind in self._timer_handlers:
                    raise ValueError(f"timer kind {kind!r} registered twice")
                self._timer_handlers[kind] = th

    # -- stores -----------------------------------------------------------------------------
    def settings(self, store: str) -> Settings:
        """The effective settings of `store`."""
        s = self._settings.get(store)
        if s is None:
            st = self.states.get(store)
            changes = st.settings if st is not None else {}
            s = self._settings[store] = self.config.with_changes(store, changes)
        return s

    def _change_settings(self, st: StoreState, values: dict[str, dict[str, Any]]) -> None:
        """Apply a `settings` event; a change that does not validate merged is ignored."""
        merged = merge_values(st.settings, values)
        try:
            settings = self.config.with_changes(st.store, merged)
        except SettingsError:
            return  # the API validates before logging; an old log may hold a stale change
        st.settings = merged
        self._settings[st.store] = settings

    def state(self, store: str) -> StoreState:
        """The state of `store`, created on first use."""
        st = self.states.get(store)
        if st is None:
            st = self.states[store] = StoreState(store=store)
        return st

    def load_state(self, state: StoreState) -> None:
        """Install a state restored from a snapshot, re-arming its pending timers."""
        self.states[state.store] = state
        self._settings.pop(state.store, None)
        for timer in sorted(state.timers.values(), key=lambda t: (t.due, t.seq)):
            self._push(state.store, timer)

    # -- feeding ----------------------------------------------------------------------------
    def feed(self, event: Event) -> list[Action]:
        """Apply one event (after firing every timer due at or before it); return actions."""
        at = event.at
        out = self._out = []
        if self._heap and self._heap[0][0] <= at:
            self._fire_until(at)
        self.clock.advance(at)
        st = self.states.get(event.store) or self.state(event.store)
        if at > st.last_ts:
            st.last_ts = at
        tag = event.__struct_config__.tag
        if tag == "settings":
            self._change_settings(st, event.values)  # type: ignore[attr-defined]
        handlers = self._handlers.get(tag)  # type: ignore[arg-type]
        if handlers:
            settings = self._settings.get(event.store) or self.settings(event.store)
            ctx = Ctx(self, st, settings, at)
            for handler in handlers:
                produced = handler(st, event, ctx)
                if produced:
                    out.extend(produced)
        return out

    def advance(self, now: int) -> list[Action]:
        """Fire every timer due at or before `now` (the live server's tick)."""
        self._out = []
        self._fire_until(now)
        self.clock.advance(now)
        return self._out

    def drain(self) -> list[Action]:
        """Fire every pending timer, whenever due (end of a replay)."""
        self._out = []
        self._fire_until(None)
        return self._out

    def timer_touched(self, store: str, key: str) -> None:
        """Note a timer change for the live service's next write (when tracking)."""
        changes = self.timer_changes
        if changes is not None:
            keys = changes.get(store)
            if keys is None:
                keys = changes[store] = set()
            keys.add(key)

    def due_stores(self, now: int) -> set[str]:
        """Stores with a timer due at or before `now` (what a tick will touch)."""
        return {store for due, _, store, _, _ in self._heap if due <= now}

    def next_due(self) -> int | None:
        """When the earliest pending timer is due, if any."""
        while self._heap:
            due, _, store, key, seq = self._heap[0]
            t = self.states[store].timers.get(key)
            if t is not None and t.seq == seq:
                return due
            heapq.heappop(self._heap)
        return None

    # -- internals --------------------------------------------------------------------------
    def _push(self, store: str, timer: Timer) -> None:
        self._heap_seq += 1
        heapq.heappush(self._heap, (timer.due, self._heap_seq, store, timer.key, timer.seq))

    def _fire_until(self, limit: int | None) -> None:
        heap = self._heap
        out = self._out
        while heap and (limit is None or heap[0][0] <= limit):
            due, _, store, key, seq = heapq.heappop(heap)
            st = self.states[store]
            timer = st.timers.get(key)
            if timer is None or timer.seq != seq:
                continue  # cancelled or replaced
            if timer.due > due:  # moved later since it was pushed: re-arm at its new time
                self._heap_seq += 1
                heapq.heappush(heap, (timer.due, self._heap_seq, store, key, seq))
                continue
            del st.timers[key]
            self.timer_touched(store, key)
            handler = self._timer_handlers.get(timer.kind)
            if handler is None:
                continue
            ctx = Ctx(self, st, self.settings(store), due)
            produced = handler(st, timer, ctx)
            if produced:
                out.extend(produced)

    def _open(self, ctx: Ctx, buyer: str, first_sender: str, conv_id: str | None) -> Conversation:
        st = ctx.state
        current = st.open.get(buyer)
        if current is not None:
            self._close(ctx, current, "reopen", None)
        n = st.conversation_count.get(buyer, 0) + 1
        st.conversation_count[buyer] = n
        conv = Conversation(
            id=conv_id or f"{buyer}~{n}",
            buyer=buyer,
            opened=ctx.now,
            last_message=ctx.now,
            explicit=conv_id is not None,
            first_sender=first_sender,
        )
        st.open[buyer] = conv
        st.last_conversation[buyer] = conv
        self._out.append(
            ConversationOpen(ts=ctx.now, store=st.store, buyer=buyer, conversation=conv.id)
        )
        for hook in self._open_hooks:
            produced = hook(st, conv, ctx)
            if produced:
                self._out.extend(produced)
        return conv

    def _close(self, ctx: Ctx, conv: Conversation, reason: str, agent: str | None) -> None:
        st = ctx.state
        if conv.closed is not None:
            return
        conv.closed = ctx.now
        if st.open.get(conv.buyer) is conv:
            del st.open[conv.buyer]
        self._out.append(
            ConversationClosed(
                ts=ctx.now,
                store=st.store,
                buyer=conv.buyer,
                conversation=conv.id,
                reason=reason,
                agent=agent or conv.agent,
            )
        )
        for hook in self._close_hooks:
            produced = hook(st, conv, ctx)
            if produced:
                self._out.extend(produced)
