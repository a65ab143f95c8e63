"""The realtime bus: seq, shared log, fan-out to subscribers, presence.

Design (see ARCHITECTURE.md):

* ``publish()`` runs on any thread, never raises and never blocks. It assigns
  the seq, encodes the SSE frame **once**, stores it in a fixed-size ring (the
  shared log) and hands it to the journal writer. Subscribers hold no copies:
  each one has a *cursor* (the last seq it was sent) into the shared log.
* Events become *visible* to subscribers once they are durable (journal on) or
  immediately (journal off). A visible seq is then never reused.
* A writer that wakes up takes every visible frame after its cursor that its
  scope accepts and sends them as one chunk. A subscriber that fell further
  behind than the ring holds gets an ``event: gap`` frame naming what it
  missed, then continues from the oldest retained event: drop-oldest, bounded,
  and never silent.
* All asyncio objects live on one event loop (the server's), bound with
  :meth:`RealtimeBus.attach_loop`. Other threads only ever schedule one
  coalesced wake-up on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Collection
from dataclasses import dataclass
from typing import Any

from .defaults import (
    DEFAULT_BACKLOG,
    DEFAULT_FEED_LIMIT,
    DEFAULT_HEARTBEAT,
    DEFAULT_RETRY_MS,
    DEFAULT_TTL,
    FEED_LIMIT,
    PROTOCOL_VERSION,
    REPLAY_TAIL,
    STATUS_INTERVAL,
)
from .events import enrich, now_iso, to_json
from .journal import Journal
from .presence import PresenceEntry, PresenceRegistry
from .scope import WorkspaceScope, accepts
from .sse import encode_comment, encode_data, encode_named, encode_retry

__all__ = ["RealtimeBus", "Subscriber"]

log = logging.getLogger(__name__)

MAX_CHUNK_FRAMES = 1024  # frames per write; a long backlog goes out in several
MAX_CHUNK_BYTES = 256 * 1024  # ... and bytes per write (at least one frame)


@dataclass(slots=True, frozen=True)
class _Entry:
    seq: int
    workspace_id: str | None
    frame: bytes  # b"id: <seq>\ndata: <json>\n\n"

    @property
    def data(self) -> bytes:
        start = self.frame.index(b"\ndata: ") + 7
        return self.frame[start:-2]

    def event(self) -> dict[str, Any]:
        value = json.loads(self.data)
        return value if isinstance(value, dict) else {"seq": self.seq, "payload": value}


class Subscriber:
    """One open stream: its scope, its cursor into the shared log, its wake-up.

    Created and used only on the bus's event loop.
    """

    __slots__ = (
        "client_ids",
        "closed",
        "cursor",
        "id",
        "live",
        "prefix",
        "scope",
        "user",
        "_loop",
        "_waiter",
        "_woken",
    )

    def __init__(
        self,
        sub_id: int,
        scope: WorkspaceScope,
        user: str,
        client_ids: Collection[str],
        cursor: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.id = sub_id
        self.scope = scope
        self.user = user
        self.client_ids = tuple(client_ids)
        self.cursor = cursor
        self.live = False  # False while replaying a resume, True once caught up
        self.prefix = b""  # frames to send before anything else (reset notice)
        self.closed = False
        self._loop = loop
        self._waiter: asyncio.Future[bool] | None = None
        self._woken = False

    def notify(self) -> None:
        self._woken = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def close(self) -> None:
        """End the stream at its next wake-up (loop thread only)."""
        self.closed = True
        self.notify()

    async def wait(self, timeout: float) -> bool:
        """Wait for new events or close; False when ``timeout`` passed first."""
        if self._woken:
            self._woken = False
            return True
        fut: asyncio.Future[bool] = self._loop.create_future()
        self._waiter = fut
        handle = self._loop.call_later(timeout, _expire, fut)
        try:
            return await fut
        finally:
            handle.cancel()
            self._waiter = None
            self._woken = False


def _expire(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)


class RealtimeBus:
    """In-process pub/sub with a shared, durable log and presence.

    Parameters are the reference's limits (``feed_limit`` 200, replay tail 10,
    heartbeat 15 s) plus ``backlog`` (how far, in events, a subscriber may fall
    behind before it gets a gap) and ``presence_ttl``.
    """

    def __init__(
        self,
        *,
        journal: Journal | None = None,
        feed_limit: int = FEED_LIMIT,
        replay_tail: int = REPLAY_TAIL,
        backlog: int = DEFAULT_BACKLOG,
        heartbeat: float = DEFAULT_HEARTBEAT,
        presence_ttl: float = DEFAULT_TTL,
        presence_hold: float | None = None,
        status_interval: float = STATUS_INTERVAL,
        retry_ms: int = DEFAULT_RETRY_MS,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], str] = now_iso,
        server_version: str = "",
    ) -> None:
        if heartbeat <= 0:
            raise ValueError("heartbeat must be positive")
        self.feed_limit = feed_limit
        self.replay_tail = replay_tail
        self.heartbeat = heartbeat
        self.retry_ms = retry_ms
        self.server_version = server_version
        self._wallclock = wallclock
        self._journal = journal
        cap = max(backlog, feed_limit, journal.retention if journal else 0)
        self._cap = cap
        self._ring: list[_Entry | None] = [None] * cap
        self._lock = threading.Lock()
        # counters for GET /metrics (metrics.py reads them when scraped):
        # plain ints bumped where the work is done, no lock of their own
        self.published = 0  # events published since start (under _lock)
        self.frames_sent = 0  # frames handed to streams (loop thread)
        self.gaps: Counter[str] = Counter()  # gap frames by reason (loop thread)
        self._seq = 0  # last assigned
        self._visible = 0  # last seq subscribers may see
        self._first = 1  # oldest seq the ring was ever filled from
        self._subs: dict[int, Subscriber] = {}
        self._next_sub = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake_scheduled = False
        self._closed = False
        self._presence_lock = threading.Lock()
        self._presence = PresenceRegistry(
            ttl=presence_ttl, clock=clock, wallclock=wallclock, stream_hold=presence_hold,
            status_interval=status_interval,
        )
        self._clock = clock
        self._status_timer: asyncio.TimerHandle | None = None  # the trailing status publish
        self._status_due = 0.0  # when it fires, on ``clock``
        if journal is not None:
            state = journal.load(limit=cap)
            self._seq = self._visible = state.last_seq
            self._first = state.events[0][0] if state.events else state.last_seq + 1
            for seq, workspace_id, data in state.events:
                self._ring[seq % cap] = _Entry(seq, workspace_id, encode_data(data, event_id=seq))
            if not state.clean_shutdown:
                log.warning("journal: previous run did not shut down cleanly (seq %d)", self._seq)
            journal.on_durable = self._on_durable
            journal.start()

    # ------------------------------------------------------------------ publish
    def publish(self, event: Any) -> dict[str, Any]:
        """Enrich, log and fan out ``event``; returns the enriched event.

        Callable from any thread; never raises, never blocks on I/O.
        """
        try:
            with self._lock:
                seq = self._seq + 1
                enriched = enrich(event, seq, self._wallclock())
                data = to_json(enriched)
                workspace_id = enriched["workspace_id"]
                self._ring[seq % self._cap] = _Entry(
                    seq, workspace_id, encode_data(data, event_id=seq)
                )
                self._seq = seq
                self.published += 1
                if self._journal is not None:
                    self._journal.append(seq, workspace_id, data)
                else:
                    self._visible = seq
            if self._journal is None:
                self._schedule_wake()
            return enriched
        except Exception:  # noqa: BLE001 - publish must never break a write path
            log.exception("publish failed; event dropped")
            return {"seq": None, "area": "workspace", "event_type": "event",
                    "workspace_id": None, "payload": {}, "error": "publish failed"}

    __call__ = publish

    def publish_many(self, events: list[Any]) -> list[dict[str, Any]]:
        return [self.publish(e) for e in events]

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def visible_seq(self) -> int:
        return self._visible

    def durable(self, seq: int) -> asyncio.Future[None] | None:
        """An awaitable (on the bus loop) that completes when ``seq`` is durable.

        ``None`` when there is no journal (nothing to wait for).
        """
        if self._journal is None:
            return None
        return asyncio.wrap_future(self._journal.durable(seq))

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Block until everything published so far is durable (tests, shutdown)."""
        return True if self._journal is None else self._journal.flush(timeout)

    def _on_durable(self, seq: int) -> None:  # journal writer thread
        with self._lock:
            if seq > self._visible:
                self._visible = seq
        self._schedule_wake()

    # ---------------------------------------------------------------- the loop
    def attach_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Bind the bus to the running event loop that serves its streams."""
        self._loop = loop or asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._closed = False

    def _schedule_wake(self) -> None:
        loop = self._loop
        if loop is None or self._wake_scheduled or not self._subs:
            return
        self._wake_scheduled = True
        try:
            if threading.get_ident() == self._loop_thread:
                loop.call_soon(self._wake_all)
            else:
                loop.call_soon_threadsafe(self._wake_all)
        except RuntimeError:  # loop closed: nobody is listening any more
            self._wake_scheduled = False

    def _wake_all(self) -> None:
        self._wake_scheduled = False
        for sub in list(self._subs.values()):
            sub.notify()

    def close(self) -> None:
        """End every open stream (loop thread). New subscriptions are refused."""
        self._closed = True
        if self._status_timer is not None:
            self._status_timer.cancel()
            self._status_timer = None
        for sub in list(self._subs.values()):
            sub.close()

    # ------------------------------------------------------------- subscribers
    def subscribe(
        self,
        scope: WorkspaceScope = None,
        *,
        user: str = "",
        client_ids: Collection[str] = (),
        last_event_id: int | None = None,
    ) -> Subscriber:
        """Register a subscriber (on the bus loop); see :meth:`stream`."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self.attach_loop(loop)
        if self._closed:
            raise RuntimeError("bus is closed")
        self._next_sub += 1
        sub = Subscriber(self._next_sub, scope, user, client_ids, self._visible, loop)
        if last_event_id is None:
            sub.cursor = self._tail_cursor(scope)
        elif last_event_id > self._seq:
            sub.cursor = self._tail_cursor(scope)
            sub.prefix = encode_named(
                "reset",
                {"last_event_id": last_event_id, "server_seq": self._visible, "reason": "ahead"},
                event_id=sub.cursor,
            )
        else:
            sub.cursor = max(0, last_event_id)
        self._subs[sub.id] = sub
        if client_ids:
            self.touch(client_ids, user=user)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.closed = True
        self._subs.pop(sub.id, None)

    def _tail_cursor(self, scope: WorkspaceScope) -> int:
        """Cursor such that the last ``replay_tail`` in-scope feed events follow."""
        hi = self._visible
        lo = max(self._first, hi - self.feed_limit + 1, 1)
        found = 0
        cursor = hi
        for seq in range(hi, lo - 1, -1):
            if found >= self.replay_tail:
                break
            entry = self._ring[seq % self._cap]
            if entry is None or entry.seq != seq:
                break
            if accepts(scope, entry.workspace_id):
                found += 1
                cursor = seq - 1
        return cursor

    def collect(
        self,
        sub: Subscriber,
        max_frames: int = MAX_CHUNK_FRAMES,
        max_bytes: int = MAX_CHUNK_BYTES,
    ) -> bytes:
        """What ``sub`` should be sent now, as one chunk (may be empty).

        At most ``max_frames`` data frames and, past the first frame, at most
        ``max_bytes``: what one write may add to a connection's buffer is
        bounded, however far behind the subscriber is or however large the
        events are; the rest goes out in the next chunks.
        """
        parts: list[bytes] = []
        if sub.prefix:
            parts.append(sub.prefix)
            sub.prefix = b""
        hi = self._visible
        seq = sub.cursor + 1
        scope = sub.scope
        ring, cap = self._ring, self._cap
        frames = size = 0
        while seq <= hi and frames < max_frames and size < max_bytes:
            entry = ring[seq % cap]
            if entry is None or entry.seq != seq:
                oldest = max(self._first, self._seq - cap + 1)
                if seq >= oldest:  # not yet written into the ring (cannot happen)
                    break
                reason = "overflow" if sub.live else "retention"
                parts.append(self._gap(seq, oldest - 1, reason))
                self.gaps[reason] += 1
                seq = oldest
                continue
            if scope is None or entry.workspace_id is None or entry.workspace_id in scope:
                parts.append(entry.frame)
                frames += 1
                size += len(entry.frame)
            seq += 1
        sub.cursor = seq - 1
        if seq > hi:
            sub.live = True
        self.frames_sent += len(parts)  # data, gap and reset frames
        return b"".join(parts)

    @staticmethod
    def _gap(from_seq: int, to_seq: int, reason: str) -> bytes:
        body = {
            "from_seq": from_seq,
            "to_seq": to_seq,
            "missed": to_seq - from_seq + 1,
            "reason": reason,
        }
        return encode_named("gap", body, event_id=to_seq)

    async def stream(
        self, sub: Subscriber, *, heartbeat: float | None = None
    ) -> AsyncGenerator[bytes, None]:
        """SSE chunks for ``sub``: retry hint, replay, then live frames.

        Emits ``: heartbeat`` when nothing was sent for ``heartbeat`` seconds.
        The subscriber is removed when the generator ends or is closed.
        """
        interval = self.heartbeat if heartbeat is None else heartbeat
        try:
            first = encode_retry(self.retry_ms) + self.collect(sub)
            yield first
            while not sub.closed:
                chunk = self.collect(sub)
                if chunk:
                    yield chunk
                    continue
                if not await sub.wait(interval) and not sub.closed:
                    yield encode_comment("heartbeat")
        finally:
            self.unsubscribe(sub)

    # ------------------------------------------------------------------- reads
    def recent(
        self, limit: int = DEFAULT_FEED_LIMIT, scope: WorkspaceScope = None
    ) -> list[dict[str, Any]]:
        """Visible feed events (the last ``feed_limit``) in scope, newest first."""
        return [e.event() for e in self._feed_entries(limit, scope)]

    def recent_json(
        self, limit: int = DEFAULT_FEED_LIMIT, scope: WorkspaceScope = None
    ) -> list[bytes]:
        """The same as :meth:`recent`, as the JSON bytes already encoded once."""
        return [e.data for e in self._feed_entries(limit, scope)]

    def _feed_entries(self, limit: int, scope: WorkspaceScope) -> list[_Entry]:
        limit = max(0, min(limit, self.feed_limit))
        hi = self._visible
        lo = max(self._first, hi - self.feed_limit + 1, 1)
        out: list[_Entry] = []
        for seq in range(hi, lo - 1, -1):
            if len(out) >= limit:
                break
            entry = self._ring[seq % self._cap]
            if entry is None or entry.seq != seq:
                break
            if accepts(scope, entry.workspace_id):
                out.append(entry)
        return out

    def feed_size(self) -> int:
        hi = self._visible
        return max(0, min(self.feed_limit, hi - max(self._first, 1) + 1))

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": PROTOCOL_VERSION,
            "subscribers": len(self._subs),
            "presence": len(self._presence),
            "feed_size": self.feed_size(),
            "transport": "sse",
            "seq": self._visible,
            "presence_ttl": self._presence.ttl,
        }
        if self.server_version:
            out["server_version"] = self.server_version
        if self._journal is not None:
            out["journal"] = "degraded" if self._journal.degraded else "ok"
        else:
            out["journal"] = "off"
        return out

    # ---------------------------------------------------------------- presence
    def join(
        self,
        *,
        user: str = "",
        client_id: str | None = None,
        workspace_id: str | None = None,
        display_name: str | None = None,
        status: str | None = None,
        status_text: str | None = None,
    ) -> dict[str, Any]:
        """Join or re-join presence (see PresenceRegistry.join); the entry's wire shape."""
        with self._presence_lock:
            entry, events = self._presence.join(
                user=user, client_id=client_id, workspace_id=workspace_id,
                display_name=display_name, status=status, status_text=status_text,
            )
            public = entry.public()
            for event in events:
                self.publish(event)
        if status is not None:
            self._arm_status()
        return public

    def set_status(
        self, client_id: str, status: str, status_text: str | None = None
    ) -> dict[str, Any] | None:
        """Change an entry's status (coalesced, see presence.py); its wire shape,
        or None when there is no such entry."""
        with self._presence_lock:
            entry = self._presence.get(client_id)
            if entry is None:
                return None
            for event in self._presence.set_status(client_id, status, status_text):
                self.publish(event)
            public = entry.public()
        self._arm_status()
        return public

    def flush_status(self) -> int:
        """Publish the status changes whose coalescing interval is over; how many."""
        with self._presence_lock:
            events = self._presence.flush_status()
            for event in events:
                self.publish(event)
        return len(events)

    def _arm_status(self) -> None:
        """Have the loop publish pending status changes when they are due (any thread)."""
        loop = self._loop
        if loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._arm_status_timer()
            return
        try:
            loop.call_soon_threadsafe(self._arm_status_timer)
        except RuntimeError:  # loop closed: the server is gone
            pass

    def _arm_status_timer(self) -> None:  # loop thread
        with self._presence_lock:
            due = self._presence.next_status_due()
        if due is None or self._closed or self._loop is None:
            return
        if self._status_timer is not None:
            if self._status_due <= due:
                return
            self._status_timer.cancel()
        self._status_due = due
        delay = max(0.0, due - self._clock())
        self._status_timer = self._loop.call_later(delay, self._on_status_timer)

    def _on_status_timer(self) -> None:  # loop thread
        self._status_timer = None
        self.flush_status()
        self._arm_status_timer()

    def leave(self, client_id: str, *, reason: str = "left") -> bool:
        with self._presence_lock:
            events = self._presence.leave(client_id, reason=reason)
            for event in events:
                self.publish(event)
        return bool(events)

    def presence_entry(self, client_id: str) -> PresenceEntry | None:
        return self._presence.get(client_id)

    def presence_count(self, user: str) -> int:
        with self._presence_lock:
            return self._presence.count_for_user(user)

    def presence(self, scope: WorkspaceScope = None) -> list[dict[str, Any]]:
        with self._presence_lock:
            return self._presence.snapshot(scope)

    def touch(self, client_ids: Collection[str], *, user: str) -> None:
        with self._presence_lock:
            self._presence.touch(client_ids, user=user)

    def sweep(self) -> int:
        """Refresh presence held by open streams, expire the rest; returns expired.

        An open stream refreshes what it names only within the registry's
        ``stream_hold`` of the client's last request (see presence.py): a
        stopped client process keeps its TCP connection, not its presence.
        """
        held = [sub for sub in list(self._subs.values()) if sub.client_ids and not sub.closed]
        with self._presence_lock:
            for sub in held:
                self._presence.hold(sub.client_ids, user=sub.user)
        with self._presence_lock:
            events = self._presence.expire()
            for event in events:
                self.publish(event)
        return len(events)

    @property
    def presence_ttl(self) -> float:
        return self._presence.ttl

    @property
    def presence_hold(self) -> float:
        return self._presence.stream_hold

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)
