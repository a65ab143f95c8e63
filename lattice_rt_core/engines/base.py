"""The engine interface the HTTP layer talks to, and the local engine behind it.

Two engines implement :class:`Engine`:

* :class:`LocalEngine` (the default): this process assigns the seq, the
  SQLite journal makes events durable, presence is in memory. It adapts the
  synchronous :class:`RealtimeBus` (whose ``publish()`` stays callable
  from any thread, in-process producers use it) at no cost: its coroutines
  never wait on anything but the journal commit they already waited for.
* :class:`~lattice_rt_core.engines.redis.engine.RedisEngine`: seq, history and presence live in
  Redis and every node keeps a replica of the log in its ring.

Both deliver through the same :class:`~lattice_rt_core.engines.fanout.Fanout`, so the SSE wire
contract (ids, gaps, resets, heartbeats, the tail) is one piece of code. The
routes, the CLI and the tray app never know which engine runs.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lattice_rt_core.engines.fanout import Subscriber
from lattice_rt_core.protocol.scope import WorkspaceScope

__all__ = [
    "BusReadings",
    "Engine",
    "Idempotency",
    "IdempotencyConflict",
    "NotPersisted",
    "NotPublished",
    "Unavailable",
]


class BusReadings(Protocol):
    """What the collector reads from the bus at scrape time."""

    published: int
    frames_sent: int

    @property
    def gaps(self) -> Mapping[str, int]: ...

    def stats(self) -> dict[str, Any]: ...


class Unavailable(Exception):
    """The engine cannot do this now (its store is unreachable): a 503, never a 500."""


class NotPersisted(Unavailable):
    """Stored and delivered, but into files that are gone (the data directory was
    deleted under the server): a 503 that names the events."""

    def __init__(self, message: str, events: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.events = events


class NotPublished(Unavailable):
    """The events were not stored, so not published: nobody saw them, and their
    seqs (if they got any) are never handed out again (a 503)."""


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A publish's ``Idempotency-Key``: ``key`` (already bound to the caller) and
    ``fingerprint``, a digest of what was published under it."""

    key: str
    fingerprint: str


class IdempotencyConflict(Exception):
    """The key was used for a different publish within the window (a 422)."""


class Engine(Protocol):
    """What the routes need from an engine. Coroutines run on the server's loop."""

    feed_limit: int
    heartbeat: float

    @property
    def presence_ttl(self) -> float: ...

    # lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        """Bind to the running loop and begin serving (Redis: connect, load, follow)."""

    async def stop(self) -> None:
        """End every stream and release what :meth:`start` took."""

    def close(self) -> None:
        """End every open stream now (loop thread); new ones are refused."""

    def healthy(self) -> bool:
        """False while the store is unreachable or refuses writes (health: degraded)."""

    # events ----------------------------------------------------------------
    async def publish_events(
        self, events: list[dict[str, Any]], idempotency: Idempotency | None = None
    ) -> list[dict[str, Any]]:
        """Assign seqs, store durably; the enriched events. :class:`Unavailable` if not
        (:class:`NotPublished`: nothing of it is kept or delivered).

        With ``idempotency``, a key already used within the window answers what
        its publish answered and publishes nothing (:class:`IdempotencyConflict`
        when its fingerprint differs); a refused publish leaves the key unused.
        """

    def recent_json(self, limit: int, scope: WorkspaceScope) -> list[bytes]:
        """The feed (newest first), as JSON already encoded."""

    def page_json(
        self, limit: int, scope: WorkspaceScope, before: int | None = None
    ) -> tuple[list[bytes], int | None]:
        """A page of the feed, or of the events below ``before``, and the next page's
        ``before`` (None: nothing older is kept); see ``Fanout.page_json``."""

    async def current_stats(self) -> dict[str, Any]:
        """The ``stats`` block, including ``server_id`` and ``epoch``."""

    @property
    def readings(self) -> BusReadings:
        """What ``/metrics`` reads when scraped (synchronous, no I/O)."""

    # streams ---------------------------------------------------------------
    async def open_stream(
        self,
        scope: WorkspaceScope,
        *,
        user: str,
        client_ids: Collection[str],
        last_event_id: int | None,
    ) -> Subscriber:
        """A new subscriber: the tail, a resume, or a reset first."""

    def stream(
        self, sub: Subscriber, *, heartbeat: float | None = None
    ) -> AsyncGenerator[bytes, None]: ...

    def unsubscribe(self, sub: Subscriber) -> None: ...

    # presence --------------------------------------------------------------
    async def presence_owner(self, client_id: str) -> tuple[str, str | None] | None:
        """(user, workspace) of the entry ``client_id``, or None when there is none."""

    async def presence_count(self, user: str) -> int: ...

    async def join(
        self,
        *,
        user: str,
        client_id: str | None,
        workspace_id: str | None,
        display_name: str | None,
        status: str | None = None,
        status_text: str | None = None,
    ) -> dict[str, Any]:
        """Join or refresh; answered once the event (if any) is visible here."""

    async def set_status(
        self, client_id: str, status: str, status_text: str | None
    ) -> dict[str, Any] | None:
        """Change an entry's status (its event coalesced); None when it is gone."""

    async def leave(self, client_id: str, *, reason: str = "left") -> bool: ...

    async def presence(self, scope: WorkspaceScope) -> list[dict[str, Any]]: ...

    async def sweep(self) -> int:
        """Refresh what open streams hold, expire the rest; returns how many expired."""
