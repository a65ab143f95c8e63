"""The presence registry: who is here, in which workspace, and expiry.

Sans-IO: the registry never publishes and never sleeps. Its methods return the
presence events the caller (the bus) must publish, and time comes from the two
injected clocks: ``clock`` (monotonic seconds, decides expiry) and
``wallclock`` (ISO strings shown to people).

Liveness model: an entry is refreshed by a *proof of life* from its client
(a join or re-join, or a stream connecting that names it: both are requests
the client process made just now) or, in between, by the open stream that
names it (:meth:`PresenceRegistry.hold`). An open stream alone proves little:
the kernel of a stopped (SIGSTOP, suspended) process keeps the TCP connection
alive and ACKs what the server sends, so a stream keeps an entry fresh for at
most ``stream_hold`` seconds after the last proof of life. A client that stays
present re-joins every TTL/3; one that stopped expires within
``stream_hold + ttl`` of its last request.

Status: an entry says ``status`` (one of ``PRESENCE_STATUSES``) and an optional
``status_text``. A change is visible in the registry at once, but its
``presence/status`` event is coalesced: at most one per entry per
``status_interval``. A change inside the interval waits; when the interval is
over, :meth:`PresenceRegistry.flush_status` returns one event with the latest
state (the last state always wins and is always published, unless the entry
returned to the state last published, or left: its leave event carries its
final state). :meth:`PresenceRegistry.next_status_due` says when to call it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lattice_rt_core.protocol.defaults import DEFAULT_STATUS, DEFAULT_TTL, STATUS_INTERVAL
from lattice_rt_core.protocol.events import now_iso
from lattice_rt_core.protocol.scope import WorkspaceScope, accepts

__all__ = ["PresenceEntry", "PresenceRegistry", "new_client_id"]

#: a status event due at a time is due at that time: clocks read in milliseconds (Redis's)
#: and float sums (``published_at + status_interval``) must not make it a hair early
_DUE_TOLERANCE = 1e-6


def new_client_id() -> str:
    return secrets.token_urlsafe(12)


@dataclass(slots=True)
class PresenceEntry:
    client_id: str
    user: str
    workspace_id: str | None
    joined_at: str
    last_seen: str
    display_name: str | None
    seen_at: float  # monotonic clock of the last refresh
    proven_at: float = 0.0  # monotonic clock of the last request from the client
    status: str = DEFAULT_STATUS
    status_text: str | None = None
    status_since: str = ""  # wall clock of the last change of ``status`` (not of the text)
    #: the (status, status_text) the last join or status event carried, and when
    published: tuple[str, str | None] = (DEFAULT_STATUS, None)
    published_at: float = 0.0

    def public(self) -> dict[str, Any]:
        """The wire shape: the reference's fields, the status, display_name and
        status_text when set."""
        out: dict[str, Any] = {
            "client_id": self.client_id,
            "user": self.user,
            "workspace_id": self.workspace_id,
            "joined_at": self.joined_at,
            "last_seen": self.last_seen,
            "status": self.status,
            "status_since": self.status_since,
        }
        if self.display_name:
            out["display_name"] = self.display_name
        if self.status_text:
            out["status_text"] = self.status_text
        return out

    def state(self) -> tuple[str, str | None]:
        return self.status, self.status_text


def presence_event(kind: str, entry: PresenceEntry, **extra: Any) -> dict[str, Any]:
    payload = entry.public()
    payload.update(extra)
    return {
        "area": "presence",
        "event_type": kind,
        "workspace_id": entry.workspace_id,
        "payload": payload,
    }


class PresenceRegistry:
    """Presence entries keyed by ``client_id``. Not thread-safe: the bus locks."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float],
        wallclock: Callable[[], str] = now_iso,
        stream_hold: float | None = None,
        status_interval: float = STATUS_INTERVAL,
    ) -> None:
        if ttl <= 0:
            raise ValueError("presence ttl must be positive")
        if stream_hold is not None and stream_hold < 0:
            raise ValueError("presence stream hold must not be negative")
        if not status_interval > 0:
            raise ValueError("presence status interval must be positive")
        self.ttl = ttl
        #: how long after the client's last request an open stream alone
        #: keeps its entry fresh (default: one TTL)
        self.stream_hold = ttl if stream_hold is None else stream_hold
        self._clock = clock
        self._wallclock = wallclock
        self.status_interval = status_interval
        self._entries: dict[str, PresenceEntry] = {}
        #: client ids whose state differs from the one last published
        self._pending: set[str] = set()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, client_id: str) -> PresenceEntry | None:
        return self._entries.get(client_id)

    def adopt(self, entry: PresenceEntry) -> None:
        """Hold ``entry`` as it was kept elsewhere, its held status change included.

        The Redis engine keeps entries in Redis and decides one at a time with
        a registry holding just that entry, so every rule here is the one rule.
        """
        self._entries[entry.client_id] = entry
        if entry.state() != entry.published:
            self._pending.add(entry.client_id)
        else:
            self._pending.discard(entry.client_id)

    def count_for_user(self, user: str) -> int:
        return sum(1 for e in self._entries.values() if e.user == user)

    def join(
        self,
        *,
        user: str,
        client_id: str | None = None,
        workspace_id: str | None = None,
        display_name: str | None = None,
        status: str | None = None,
        status_text: str | None = None,
    ) -> tuple[PresenceEntry, list[dict[str, Any]]]:
        """Register or refresh ``client_id``; returns the entry and events to publish.

        ``status`` with ``status_text`` is the entry's whole state, as in
        :meth:`set_status`; ``status=None`` keeps the state (a new entry:
        ``active``, no text). A first join publishes ``presence/join``, which
        carries the state. Joining again with the same workspace refreshes
        ``last_seen`` and changes what it names: ``display_name`` at once, the
        state as :meth:`set_status` does. Moving to another workspace is a
        leave from the old one (reason ``"moved"``) and a join to the new one,
        which keeps the state unless the join names one.
        """
        cid = client_id or new_client_id()
        now, stamp = self._clock(), self._wallclock()
        events: list[dict[str, Any]] = []
        entry = self._entries.get(cid)
        if entry is not None and entry.workspace_id == workspace_id and entry.user == user:
            entry.last_seen, entry.seen_at, entry.proven_at = stamp, now, now
            if display_name is not None:
                entry.display_name = display_name
            if status is not None:
                events = self.set_status(cid, status, status_text)
            return entry, events
        previous = entry if entry is not None and entry.user == user else None
        if entry is not None:
            events.append(presence_event("leave", entry, reason="moved"))
            self._pending.discard(cid)
        state: tuple[str, str | None] = (DEFAULT_STATUS, None)
        if status is not None:
            state = (status, status_text)
        elif previous is not None:
            state = previous.state()
        kept = previous is not None and previous.status == state[0]
        since = previous.status_since if previous is not None and kept else stamp
        entry = PresenceEntry(
            cid, user, workspace_id, stamp, stamp, display_name, now, now,
            status=state[0], status_text=state[1], status_since=since,
            published=state, published_at=now,
        )
        self._entries[cid] = entry
        events.append(presence_event("join", entry))
        return entry, events

    def set_status(
        self, client_id: str, status: str, status_text: str | None
    ) -> list[dict[str, Any]]:
        """Change the status of ``client_id`` (its text too: None clears it).

        The registry shows it at once. Returns the ``presence/status`` event to
        publish when the entry's last one is at least ``status_interval`` old;
        otherwise nothing, and :meth:`flush_status` publishes the latest state
        when the interval is over. An unknown ``client_id`` changes nothing.
        """
        entry = self._entries.get(client_id)
        if entry is None:
            return []
        if status != entry.status:
            entry.status_since = self._wallclock()
        entry.status, entry.status_text = status, status_text
        self._pending.add(client_id)
        return self._publish_due(client_id, self._clock())

    def flush_status(self) -> list[dict[str, Any]]:
        """The status events whose interval is over (the trailing publish)."""
        now = self._clock()
        events: list[dict[str, Any]] = []
        for cid in list(self._pending):
            events.extend(self._publish_due(cid, now))
        return events

    def next_status_due(self) -> float | None:
        """When (on ``clock``) :meth:`flush_status` has something to publish, if ever."""
        dues = [self._entries[cid].published_at + self.status_interval for cid in self._pending]
        return min(dues) if dues else None

    def _publish_due(self, client_id: str, now: float) -> list[dict[str, Any]]:
        entry = self._entries[client_id]
        if entry.state() == entry.published:
            self._pending.discard(client_id)  # back to what others were last told
            return []
        if now - entry.published_at < self.status_interval - _DUE_TOLERANCE:
            return []
        self._pending.discard(client_id)
        entry.published, entry.published_at = entry.state(), now
        return [presence_event("status", entry)]

    def leave(self, client_id: str, *, reason: str = "left") -> list[dict[str, Any]]:
        entry = self._entries.pop(client_id, None)
        if entry is None:
            return []
        self._pending.discard(client_id)
        entry.last_seen = self._wallclock()
        return [presence_event("leave", entry, reason=reason)]

    def touch(self, client_ids: Iterable[str], *, user: str) -> None:
        """Refresh the entries of ``client_ids`` that belong to ``user``.

        A proof of life: call it for a request the client made (a stream
        connecting), not for a stream merely staying open (see :meth:`hold`).
        """
        self._refresh(client_ids, user, proof=True)

    def hold(self, client_ids: Iterable[str], *, user: str) -> None:
        """Refresh what an open stream names, within ``stream_hold`` of a proof of life."""
        self._refresh(client_ids, user, proof=False)

    def _refresh(self, client_ids: Iterable[str], user: str, *, proof: bool) -> None:
        now: float | None = None
        for cid in client_ids:
            entry = self._entries.get(cid)
            if entry is None or entry.user != user:
                continue
            if now is None:
                now = self._clock()
            if proof:
                entry.proven_at = now
            elif now - entry.proven_at > self.stream_hold:
                continue
            entry.seen_at = now
            entry.last_seen = self._wallclock()

    def expire(self) -> list[dict[str, Any]]:
        """Remove entries not refreshed within the TTL; returns their leave events."""
        deadline = self._clock() - self.ttl
        stale = [cid for cid, e in self._entries.items() if e.seen_at < deadline]
        events: list[dict[str, Any]] = []
        for cid in stale:
            events.extend(self.leave(cid, reason="timeout"))
        return events

    def snapshot(self, scope: WorkspaceScope) -> list[dict[str, Any]]:
        return [e.public() for e in self._entries.values() if accepts(scope, e.workspace_id)]
