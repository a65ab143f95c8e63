"""The reference design's bus, rebuilt from its document for comparison.

What the reference describes, and what this class therefore does:

* ``publish()`` is synchronous, never raises, assigns ``seq`` and
  ``received_at``, normalises the event, appends it to a 200-entry ring feed
  and puts the *same dict* on every matching subscriber's
  ``asyncio.Queue(maxsize=100)``; on ``QueueFull`` it drops the oldest queued
  event to make room (so publish must run on the loop that owns the queues).
* ``stream()`` replays up to the 10 most recent in-scope events, then waits
  for the queue with the heartbeat as timeout; every frame is serialised with
  ``json.dumps`` for each subscriber separately, and a ``: heartbeat`` comment
  is sent when nothing arrived for 15 s.
* Scope filtering: a ``None`` scope or an unscoped event always matches.

This is deliberately *not* the project's code: it is the baseline the
project is measured against, so it must stay as the document describes it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Set
from datetime import datetime
from typing import Any

__all__ = ["BaselineBus", "BaselineSubscriber", "frame_of"]

FEED_LIMIT = 200
QUEUE_MAX = 100
REPLAY_TAIL = 10
HEARTBEAT = 15.0
PROTOCOL_VERSION = "2.0.0"

Scope = Set[str] | None


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def frame_of(event: dict[str, Any]) -> str:
    """One SSE data frame: the event as JSON, serialised on every call."""
    body = json.dumps(event, ensure_ascii=False, default=str)
    return "data: " + body + "\n\n"


class BaselineSubscriber:
    __slots__ = ("id", "queue", "scope")

    def __init__(self, scope: Scope, queue_max: int) -> None:
        self.id = secrets.token_hex(8)
        self.scope = scope
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_max)

    def accepts(self, workspace_id: str | None) -> bool:
        if self.scope is None or workspace_id is None:
            return True
        return workspace_id in self.scope


class BaselineBus:
    """In-process pub/sub exactly as the reference document describes it."""

    def __init__(
        self,
        *,
        feed_limit: int = FEED_LIMIT,
        queue_max: int = QUEUE_MAX,
        replay_tail: int = REPLAY_TAIL,
        wallclock: Callable[[], str] = _now,
    ) -> None:
        self.queue_max = queue_max
        self.replay_tail = replay_tail
        self.feed_limit = feed_limit
        self._wallclock = wallclock
        self._lock = threading.Lock()
        self._seq = 0
        self._feed: deque[dict[str, Any]] = deque(maxlen=feed_limit)
        self._subs: dict[str, BaselineSubscriber] = {}
        self._presence: dict[str, dict[str, Any]] = {}

    # ----------------------------------------------------------------- publish
    def publish(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            with self._lock:
                self._seq += 1
                enriched: dict[str, Any] = {
                    "seq": self._seq,
                    "received_at": self._wallclock(),
                    "area": event.get("area") or "workspace",
                    "event_type": event.get("event_type") or "event",
                    "workspace_id": event.get("workspace_id"),
                    "payload": event.get("payload") or {},
                }
                for key, value in event.items():
                    enriched.setdefault(key, value)
                self._feed.append(enriched)
                subscribers = list(self._subs.values())
            for sub in subscribers:
                if not sub.accepts(enriched["workspace_id"]):
                    continue
                try:
                    sub.queue.put_nowait(enriched)
                except asyncio.QueueFull:
                    try:
                        sub.queue.get_nowait()  # drop the oldest
                        sub.queue.put_nowait(enriched)
                    except Exception:  # noqa: BLE001 - the reference swallows everything
                        pass
            return enriched
        except Exception:  # noqa: BLE001 - publish never raises in the reference
            return dict(event)

    __call__ = publish

    # ------------------------------------------------------------- subscribers
    def subscribe(self, scope: Scope = None) -> BaselineSubscriber:
        sub = BaselineSubscriber(scope, self.queue_max)
        with self._lock:
            self._subs[sub.id] = sub
        return sub

    def unsubscribe(self, sub: BaselineSubscriber) -> None:
        with self._lock:
            self._subs.pop(sub.id, None)

    async def stream(
        self, sub: BaselineSubscriber, *, heartbeat: float = HEARTBEAT
    ) -> AsyncIterator[str]:
        try:
            for event in reversed(self.recent(self.replay_tail, sub.scope)):
                yield frame_of(event)
            while True:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), timeout=heartbeat)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                yield frame_of(event)
        finally:
            self.unsubscribe(sub)

    # ------------------------------------------------------------------- reads
    def recent(self, limit: int = 50, scope: Scope = None) -> list[dict[str, Any]]:
        limit = max(0, min(limit, self.feed_limit))
        out: list[dict[str, Any]] = []
        with self._lock:
            feed = list(self._feed)
        for event in reversed(feed):
            if len(out) >= limit:
                break
            ws = event.get("workspace_id")
            if scope is None or ws is None or ws in scope:
                out.append(event)
        return out

    def stats(self) -> dict[str, Any]:
        return {
            "version": PROTOCOL_VERSION,
            "subscribers": len(self._subs),
            "presence": len(self._presence),
            "feed_size": len(self._feed),
            "transport": "sse",
        }

    # ---------------------------------------------------------------- presence
    def join(
        self, *, user: str = "", client_id: str | None = None, workspace_id: str | None = None
    ) -> dict[str, Any]:
        now = self._wallclock()
        cid = client_id or secrets.token_urlsafe(12)
        entry = {
            "client_id": cid,
            "user": user,
            "workspace_id": workspace_id,
            "joined_at": now,
            "last_seen": now,
        }
        self._presence[cid] = entry
        self.publish(
            {"area": "presence", "event_type": "join", "workspace_id": workspace_id,
             "payload": dict(entry)}
        )
        return entry

    def leave(self, client_id: str) -> None:
        entry = self._presence.pop(client_id, None)
        if entry is not None:
            self.publish(
                {"area": "presence", "event_type": "leave",
                 "workspace_id": entry["workspace_id"], "payload": dict(entry)}
            )

    def presence(self, scope: Scope = None) -> list[dict[str, Any]]:
        return [
            dict(e) for e in self._presence.values()
            if scope is None or e["workspace_id"] is None or e["workspace_id"] in scope
        ]
