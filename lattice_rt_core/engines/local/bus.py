"""The local engine: seq, the SQLite journal and presence in this process.

Design (see ARCHITECTURE.md):

* ``publish()`` runs on any thread, never raises and never blocks. It assigns
  the seq, encodes the SSE frame **once**, stores it in the shared ring of
  :class:`~lattice_rt_core.engines.fanout.Fanout` and hands it to the journal writer.
* Events become *visible* to subscribers once they are durable (journal on) or
  immediately (journal off). A batch the journal refuses (a full disk) is
  dropped unseen and its seqs are skipped; no seq handed out, visible or not,
  is ever handed out again (the journal's reservation, see journal.py).
* Delivery (cursors, gaps, the feed and the replay tail) is the Fanout's, the
  same code the Redis engine uses; :mod:`~lattice_rt_core.engines.base` adapts this bus to the
  engine interface the HTTP layer talks to.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from lattice_rt_core.engines.fanout import Fanout, Subscriber
from lattice_rt_core.engines.identity import new_epoch
from lattice_rt_core.engines.local.journal import Journal
from lattice_rt_core.engines.presence import PresenceEntry, PresenceRegistry
from lattice_rt_core.protocol.defaults import (
    DEFAULT_BACKLOG,
    DEFAULT_HEARTBEAT,
    DEFAULT_RETRY_MS,
    DEFAULT_TTL,
    FEED_LIMIT,
    REPLAY_TAIL,
    STATUS_INTERVAL,
)
from lattice_rt_core.protocol.events import enrich, now_iso, to_json
from lattice_rt_core.protocol.scope import WorkspaceScope
from lattice_rt_core.protocol.sse import encode_data

__all__ = ["RealtimeBus", "Subscriber"]

log = logging.getLogger(__name__)


def _refused(error: str) -> dict[str, Any]:
    return {"seq": None, "area": "workspace", "event_type": "event",
            "workspace_id": None, "payload": {}, "error": error}


class RealtimeBus(Fanout):
    """In-process pub/sub with a shared, durable log and presence.

    Parameters are the reference's limits (``feed_limit`` 200, replay tail 10,
    heartbeat 15 s) plus ``backlog`` (how far, in events, a subscriber may fall
    behind before it gets a gap) and ``presence_ttl``. ``server_id`` is the
    server's stable identity (``stats``); the epoch comes from the journal
    (a new one whenever it starts empty), or is new per bus without one.
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
        server_id: str = "",
    ) -> None:
        super().__init__(
            cap=max(backlog, journal.retention if journal else 0),
            feed_limit=feed_limit, replay_tail=replay_tail, heartbeat=heartbeat,
            retry_ms=retry_ms,
        )
        self.server_version = server_version
        self.server_id = server_id
        self.epoch = new_epoch()
        self._wallclock = wallclock
        self._journal = journal
        self._lock = threading.Lock()
        self._presence_lock = threading.Lock()
        self._presence = PresenceRegistry(
            ttl=presence_ttl, clock=clock, wallclock=wallclock, stream_hold=presence_hold,
            status_interval=status_interval,
        )
        self._clock = clock
        self._status_timer: asyncio.TimerHandle | None = None  # the trailing status publish
        self._status_due = 0.0  # when it fires, on ``clock``
        if journal is not None:
            state = journal.load(limit=self._cap)
            self.epoch = state.epoch
            self._first = state.events[0][0] if state.events else state.top + 1
            for seq, workspace_id, data in state.events:
                self._store(seq, workspace_id, encode_data(data, event_id=seq))
            self._seq = self._visible = state.top
            loaded = [seq for seq, _, _ in state.events]
            if loaded and state.last_seq > loaded[-1]:  # rows lost at the end too
                loaded.append(state.last_seq + 1)
            self._mark_missing(loaded)
            self._skip(state.skipped)
            if self._missing:
                log.warning("journal: %d event(s) missing below seq %d (writes lost?); "
                            "resuming streams get a gap for them",
                            sum(hi - lo + 1 for lo, hi in self._missing), self._seq)
            if not state.clean_shutdown:
                log.warning("journal: previous run did not shut down cleanly (seq %d)", self._seq)
            journal.on_durable = self._on_durable
            journal.on_refused = self._on_refused
            journal.start()

    # ------------------------------------------------------------------ publish
    def publish(self, event: Any) -> dict[str, Any]:
        """Enrich, log and fan out ``event``; returns the enriched event.

        Callable from any thread; never raises, never blocks on I/O. An event
        refused before it got a seq (the disk is full and the reserved seqs are
        used up) comes back with ``seq`` None and an ``error``.
        """
        published = self.publish_batch([event])
        if published is None:
            return _refused("not published: the journal cannot write "
                            f"({self.durability_problem()})")
        return published[0]

    __call__ = publish

    def publish_many(self, events: list[Any]) -> list[dict[str, Any]]:
        return [self.publish(e) for e in events]

    def publish_batch(
        self, events: list[Any], key: tuple[str, str] | None = None
    ) -> list[dict[str, Any]] | None:
        """Publish ``events`` as one unit: consecutive seqs, one journal transaction,
        so the disk keeps (and streams see) all of them or none.

        ``key``: (idempotency key, fingerprint), written with the events and the
        answer (the enriched events). None when no seq may be handed out now:
        the journal refuses writes and the durable reservation is used up (a
        refusal the caller answers; :meth:`reserve` asks for more).
        """
        try:
            with self._lock:
                journal = self._journal
                if (journal is not None and journal.degraded is not None
                        and self._seq + len(events) > journal.reserved):
                    return None
                enriched: list[dict[str, Any]] = []
                rows: list[tuple[int, str | None, str]] = []
                stamp = self._wallclock()
                for i, event in enumerate(events):
                    seq = self._seq + 1 + i
                    item = enrich(event, seq, stamp)
                    enriched.append(item)
                    rows.append((seq, item["workspace_id"], to_json(item)))
                for seq, workspace_id, data in rows:
                    self._store(seq, workspace_id, encode_data(data, event_id=seq))
                self.published += len(rows)
                if journal is not None:
                    answer = None if key is None else (*key, to_json(enriched))
                    journal.append_many(rows, answer)
                elif rows:
                    self._visible = rows[-1][0]
            if journal is None:
                self._schedule_wake()
            return enriched
        except Exception:  # noqa: BLE001 - publish must never break a write path
            log.exception("publish failed; event dropped")
            return [_refused("publish failed") for _ in events]

    def reserve(self) -> asyncio.Future[bool] | None:
        """Ask the journal for more seqs now (on the bus loop): True once they are durable."""
        if self._journal is None:
            return None
        return asyncio.wrap_future(self._journal.reserve_now())

    def idempotent_answer(self, key: str) -> tuple[str, str] | None:
        """(fingerprint, answer JSON) of ``key`` within the window (blocks on a read)."""
        return None if self._journal is None else self._journal.lookup(key)

    def durability_problem(self) -> str:
        """Why the journal cannot write ("" when it can)."""
        return "" if self._journal is None else self._journal.degraded or ""

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

    def _on_refused(self, lo: int, hi: int) -> None:  # journal writer thread
        with self._lock:
            self._skip([(lo, hi)])

    def close(self) -> None:
        """End every open stream (loop thread); the trailing status publish is dropped."""
        if self._status_timer is not None:
            self._status_timer.cancel()
            self._status_timer = None
        super().close()

    # ------------------------------------------------------------- subscribers
    def subscribe(
        self,
        scope: WorkspaceScope = None,
        *,
        user: str = "",
        client_ids: Collection[str] = (),
        last_event_id: int | None = None,
    ) -> Subscriber:
        """Register a subscriber (on the bus loop); see :meth:`Fanout.stream`.

        Without ``last_event_id`` it starts with the replay tail; an id ahead
        of the last seq (the data directory was replaced) gets ``event:
        reset`` and the tail; otherwise everything after the id follows.
        """
        prefix = b""
        if last_event_id is None:
            cursor = self.tail_cursor(scope)
        elif last_event_id > self._seq:
            cursor = self.tail_cursor(scope)
            prefix = self.reset_frame(last_event_id, cursor, "ahead")
        else:
            cursor = max(0, last_event_id)
        sub = self.add_subscriber(scope, user, client_ids, cursor, prefix)
        if client_ids:
            self.touch(client_ids, user=user)
        return sub

    def stats(self) -> dict[str, Any]:
        out = self.delivery_stats()
        out["presence"] = len(self._presence)
        out["presence_ttl"] = self._presence.ttl
        if self.server_version:
            out["server_version"] = self.server_version
        out["journal"] = self.durability()
        out["engine"] = "local"
        out["server_id"] = self.server_id
        out["epoch"] = self.epoch
        return out

    def durability(self) -> str:
        """The journal's state: "ok", "degraded" (writes fail) or "off"."""
        if self._journal is None:
            return "off"
        return "degraded" if self._journal.degraded else "ok"

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
        held = list(self.held_client_ids())
        with self._presence_lock:
            for user, client_ids in held:
                self._presence.hold(client_ids, user=user)
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
