"""The delivery machinery both engines share: a ring of encoded frames and cursors.

An engine (the local bus in ``engines/local/bus.py``, the Redis engine in
``engines/redis/engine.py``)
decides *which* events exist and in which order (the seq); :class:`Fanout`
delivers them:

* every event is stored once, as its finished SSE frame, in a fixed ring
  (the shared log); a subscriber holds no copies, only a *cursor* (the last
  seq it was sent) into the ring;
* events up to ``visible`` may be sent; the engine advances it (local: once
  the journal committed them; Redis: once the node has every seq up to it);
* a woken writer takes every visible frame after its cursor that its scope
  accepts and sends them as one chunk. A subscriber that fell further behind
  than the ring holds, or resumed from an id older than what is kept, gets an
  ``event: gap`` frame naming what it missed: bounded, and never silent;
* the feed and the replay tail are views of the same ring.

All asyncio objects live on one event loop (the server's), bound with
:meth:`Fanout.attach_loop`. Other threads only ever schedule one coalesced
wake-up on it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter, deque
from collections.abc import AsyncGenerator, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from lattice_rt_core.protocol.defaults import (
    DEFAULT_BACKLOG,
    DEFAULT_FEED_LIMIT,
    DEFAULT_HEARTBEAT,
    DEFAULT_RETRY_MS,
    FEED_LIMIT,
    PROTOCOL_VERSION,
    REPLAY_TAIL,
)
from lattice_rt_core.protocol.scope import WorkspaceScope, accepts
from lattice_rt_core.protocol.sse import encode_comment, encode_named, encode_retry

__all__ = [
    "MAX_CHUNK_BYTES",
    "MAX_CHUNK_FRAMES",
    "Entry",
    "Fanout",
    "Subscriber",
    "merged_ranges",
]

MAX_CHUNK_FRAMES = 1024  # frames per write; a long backlog goes out in several
MAX_CHUNK_BYTES = 256 * 1024  # ... and bytes per write (at least one frame)
_HOLES_KEPT = 64  # lost ranges remembered for the reason of their gap


def merged_ranges(ranges: Collection[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive (lo, hi) ranges ascending, touching or overlapping ones joined."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


@dataclass(slots=True, frozen=True)
class Entry:
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


class Fanout:
    """The ring of encoded frames, the subscribers' cursors and their wake-ups.

    ``cap``: how many events the ring holds (at least ``backlog`` and the
    feed); ``feed_limit``/``replay_tail``/``heartbeat``/``retry_ms`` are the
    reference's numbers. The engine writes with :meth:`_store` and makes
    stored events deliverable by raising ``_visible`` and calling
    :meth:`_schedule_wake`.
    """

    def __init__(
        self,
        *,
        cap: int = DEFAULT_BACKLOG,
        feed_limit: int = FEED_LIMIT,
        replay_tail: int = REPLAY_TAIL,
        heartbeat: float = DEFAULT_HEARTBEAT,
        retry_ms: int = DEFAULT_RETRY_MS,
    ) -> None:
        if heartbeat <= 0:
            raise ValueError("heartbeat must be positive")
        self.feed_limit = feed_limit
        self.replay_tail = replay_tail
        self.heartbeat = heartbeat
        self.retry_ms = retry_ms
        cap = max(cap, feed_limit, 1)
        self._cap = cap
        self._ring: list[Entry | None] = [None] * cap
        self._seq = 0  # last seq stored in the ring
        self._visible = 0  # last seq subscribers may see
        self._first = 1  # the ring holds every seq from here (ring size allowing)
        self._holes: deque[tuple[int, int]] = deque(maxlen=_HOLES_KEPT)  # lost for good
        #: ranges inside the ring the journal lacks (rows lost from the file)
        self._missing: list[tuple[int, int]] = []
        #: seqs that hold no event and never will (refused by a full disk, reserved
        #: and unused before a kill -9): streams and the feed pass over them silently
        self._skipped: list[tuple[int, int]] = []
        self._subs: dict[int, Subscriber] = {}
        self._next_sub = 0
        # counters for GET /metrics (metrics.py reads them when scraped):
        # plain ints bumped where the work is done, no lock of their own
        self.published = 0  # events published through this process (the engine counts)
        self.frames_sent = 0  # frames handed to streams (loop thread)
        self.gaps: Counter[str] = Counter()  # gap frames by reason (loop thread)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake_scheduled = False
        self._closed = False

    # ------------------------------------------------------------- the ring
    def _store(self, seq: int, workspace_id: str | None, frame: bytes) -> None:
        self._ring[seq % self._cap] = Entry(seq, workspace_id, frame)
        if seq > self._seq:
            self._seq = seq

    def _skip_to(self, seq: int) -> None:
        """Everything before ``seq`` that the ring lacks is lost for good (a retention gap).

        Used by a replica whose source no longer holds what it missed: the
        seqs up to ``seq - 1`` become visible as a gap, not silently.
        """
        if seq - 1 > self._visible:
            self._holes.append((self._visible + 1, seq - 1))
            self._first = seq
            self._seq = max(self._seq, seq - 1)
            self._visible = seq - 1

    def _mark_missing(self, seqs: list[int]) -> None:
        """After a load: the seqs between the first and the last loaded that are not
        there (``seqs`` ascending) are lost; streams get a gap for them, not a stall."""
        for before, after in zip(seqs, seqs[1:], strict=False):
            if after > before + 1:
                self._missing.append((before + 1, after - 1))

    def _missing_range(self, seq: int) -> tuple[int, int] | None:
        for lo, hi in self._missing:
            if lo <= seq <= hi:
                return lo, hi
        return None

    def _skip(self, ranges: Collection[tuple[int, int]]) -> None:
        """The seqs in ``ranges`` hold no event and never will: drop what the ring
        has of them unseen (they are not visible yet) and pass over them from now on.

        Called under the engine's lock, before ``visible`` reaches them.
        """
        ring, cap = self._ring, self._cap
        for lo, hi in ranges:
            for seq in range(max(lo, hi - cap + 1), hi + 1):
                entry = ring[seq % cap]
                if entry is not None and entry.seq == seq:
                    ring[seq % cap] = None
        oldest = self._seq - cap + 1
        self._skipped = [r for r in merged_ranges([*self._skipped, *ranges]) if r[1] >= oldest]
        missing: list[tuple[int, int]] = []
        for lo, hi in self._missing:  # what is skipped was never there: not lost
            for s_lo, s_hi in self._skipped:
                if s_lo <= lo <= s_hi:
                    lo = s_hi + 1
                elif lo < s_lo <= hi:
                    missing.append((lo, s_lo - 1))
                    lo = s_hi + 1
            if lo <= hi:
                missing.append((lo, hi))
        self._missing = missing

    def _skipped_range(self, seq: int) -> tuple[int, int] | None:
        for lo, hi in self._skipped:
            if lo <= seq <= hi:
                return lo, hi
        return None

    def _back_from(self, hi: int) -> Iterator[Entry]:
        """The feed's entries, newest first from ``hi``: the last ``feed_limit`` seqs
        that are events (skipped seqs do not count), up to one the ring lacks."""
        floor = max(self._first, hi - self._cap + 1, 1)
        seq, counted = hi, 0
        ring, cap = self._ring, self._cap
        while seq >= floor and counted < self.feed_limit:
            entry = ring[seq % cap]
            if entry is None or entry.seq != seq:
                skipped = self._skipped_range(seq)
                if skipped is None:
                    return
                seq = skipped[0] - 1
                continue
            counted += 1
            yield entry
            seq -= 1

    def _restart(self, floor: int) -> None:
        """Empty the ring; the next seq is ``floor + 1`` (a new epoch, a fresh load)."""
        self._ring = [None] * self._cap
        self._holes.clear()
        self._missing.clear()
        self._skipped.clear()
        self._seq = self._visible = floor
        self._first = floor + 1

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def visible_seq(self) -> int:
        return self._visible

    # ---------------------------------------------------------------- the loop
    def attach_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Bind to the running event loop that serves the streams."""
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
        for sub in list(self._subs.values()):
            sub.close()

    # ------------------------------------------------------------- subscribers
    def add_subscriber(
        self,
        scope: WorkspaceScope,
        user: str,
        client_ids: Collection[str],
        cursor: int,
        prefix: bytes = b"",
    ) -> Subscriber:
        """Register a subscriber at ``cursor`` (on the loop); ``prefix`` goes out first."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self.attach_loop(loop)
        if self._closed:
            raise RuntimeError("bus is closed")
        self._next_sub += 1
        sub = Subscriber(self._next_sub, scope, user, client_ids, cursor, loop)
        sub.prefix = prefix
        self._subs[sub.id] = sub
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.closed = True
        self._subs.pop(sub.id, None)

    def _reset_all(self, reason: str, cursor: int) -> None:
        """Tell every open stream its position means nothing any more; go on from ``cursor``."""
        for sub in list(self._subs.values()):
            sub.prefix += self.reset_frame(sub.cursor, cursor, reason)
            sub.cursor = cursor
            sub.live = False
        self._schedule_wake()

    def reset_frame(self, last_event_id: int, cursor: int, reason: str) -> bytes:
        """``event: reset``: the id ``last_event_id`` is not ours; go on from ``cursor``."""
        return encode_named(
            "reset",
            {"last_event_id": last_event_id, "server_seq": self._visible, "reason": reason},
            event_id=cursor,
        )

    def held_client_ids(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(user, client ids) of every open stream that names presence entries."""
        for sub in list(self._subs.values()):
            if sub.client_ids and not sub.closed:
                yield sub.user, sub.client_ids

    def tail_cursor(self, scope: WorkspaceScope) -> int:
        """Cursor such that the last ``replay_tail`` in-scope feed events follow."""
        found = 0
        cursor = self._visible
        for entry in self._back_from(self._visible):
            if found >= self.replay_tail:
                break
            if accepts(scope, entry.workspace_id):
                found += 1
                cursor = entry.seq - 1
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
                if seq >= oldest:
                    skipped = self._skipped_range(seq)
                    if skipped is not None:  # never an event: nothing to say
                        seq = min(skipped[1], hi) + 1
                        continue
                    missing = self._missing_range(seq)
                    if missing is None:  # not yet written into the ring (cannot happen)
                        break
                    # the journal lacks these rows: say so, then go on after them
                    to_seq = min(missing[1], hi)
                    parts.append(self._gap(seq, to_seq, "lost"))
                    self.gaps["lost"] += 1
                    seq = to_seq + 1
                    continue
                lost = not sub.live or any(lo <= seq <= hi_ for lo, hi_ in self._holes)
                reason = "retention" if lost else "overflow"
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

    def _feed_entries(self, limit: int, scope: WorkspaceScope) -> list[Entry]:
        limit = max(0, min(limit, self.feed_limit))
        out: list[Entry] = []
        for entry in self._back_from(self._visible):
            if len(out) >= limit:
                break
            if accepts(scope, entry.workspace_id):
                out.append(entry)
        return out

    def page_json(
        self, limit: int, scope: WorkspaceScope, before: int | None = None
    ) -> tuple[list[bytes], int | None]:
        """A page of the feed, newest first, and the ``before`` of the next (older) page.

        Without ``before``: the feed (:meth:`recent_json`). With it: in-scope events
        with a seq below ``before`` that the ring still holds (all that is kept:
        the journal's retention is loaded into it at start), at most ``limit`` (and
        the feed's limit). The next page's ``before`` is None when nothing older is
        held; rows the journal lost are passed over.
        """
        limit = max(0, min(limit, self.feed_limit))
        visible = self._visible
        oldest = max(self._first, self._seq - self._cap + 1, 1)
        if before is None:  # the feed's window: its last feed_limit events
            feed = [entry.seq for entry in self._back_from(visible)]
            hi, lo = visible, max(oldest, feed[-1] if feed else visible + 1)
        else:
            hi, lo = min(before - 1, visible), oldest
        out: list[bytes] = []
        seq = hi
        while seq >= lo and len(out) < limit:
            entry = self._ring[seq % self._cap]
            if entry is None or entry.seq != seq:
                skipped = self._skipped_range(seq)
                if skipped is not None:  # never an event
                    seq = skipped[0] - 1
                    continue
                if self._missing_range(seq) is None:
                    break  # not held any more
            elif accepts(scope, entry.workspace_id):
                out.append(entry.data)
            seq -= 1
        if seq < oldest or (seq >= lo and len(out) < limit):
            return out, None  # everything held was read (or what is left is not held)
        return out, seq + 1

    def feed_size(self) -> int:
        """How many events the feed holds (what ``/realtime/feed`` can show)."""
        return sum(1 for _ in self._back_from(self._visible))

    def delivery_stats(self) -> dict[str, Any]:
        """The part of ``stats`` the ring knows: protocol version, streams, feed, seq."""
        return {
            "version": PROTOCOL_VERSION,
            "subscribers": len(self._subs),
            "feed_size": self.feed_size(),
            "transport": "sse",
            "seq": self._visible,
        }

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)
