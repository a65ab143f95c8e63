"""Where a connection's stream resumes, decided by the server's identity (pure).

A seq only means something to the server that gave it, and only within one
history of it. The server says who it is in ``stats``: ``server_id`` (stable,
whatever URL reaches it) and ``epoch`` (new whenever its history starts from
nothing). :class:`ResumeGuide` is handed to the connection's
``RealtimeClient`` as ``resume_from``: before every connect the client asks
``/realtime/health`` and the guide picks the ``Last-Event-ID``:

* the same history as the last connect: the client's own point (a reconnect);
* another server, or the same one in a new epoch: the point remembered for
  that history, else none (a fresh start: the replayed tail is history, so
  there is no "reset" and no flood of old news);
* a server that does not say who it is (older than this app): the client's
  own point, as before identities existed.

A connection's first connect may use its *legacy* point (from a settings file
of the one-server format) once, when the server is not behind it.

The guide runs on the client's thread (one client of a connection at a time)
and reports each decision through ``on_identified``; the GUI reads
:meth:`ResumeGuide.points` under its lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Identified", "ResumeGuide", "ResumePoint", "ServerIdentity", "identity_of"]


@dataclass(frozen=True, slots=True)
class ServerIdentity:
    server_id: str
    epoch: str


@dataclass(frozen=True, slots=True)
class ResumePoint:
    identity: ServerIdentity
    seq: int


@dataclass(frozen=True, slots=True)
class Identified:
    """What the guide decided before a connect (handed to the GUI thread).

    ``identity`` is None for a server that does not say who it is;
    ``changed`` is True when it is another history than the connection's
    previous one (what was counted for that one no longer applies);
    ``resume`` is the ``Last-Event-ID`` sent (None: a fresh start);
    ``health`` is the server's whole answer (user, workspaces, stats).
    """

    identity: ServerIdentity | None
    changed: bool
    resume: int | None
    health: Mapping[str, Any]


def identity_of(health: Mapping[str, Any]) -> ServerIdentity | None:
    stats = health.get("stats")
    if not isinstance(stats, Mapping):
        return None
    server_id, epoch = stats.get("server_id"), stats.get("epoch")
    if isinstance(server_id, str) and server_id and isinstance(epoch, str) and epoch:
        return ServerIdentity(server_id, epoch)
    return None


class ResumeGuide:
    """One connection's resume points and the history it followed last.

    ``own`` (the client's point, None for a new client) always belongs to the
    history the guide saw last: a connection's clients follow one endpoint at
    a time and a new client starts from the old one's point or from none.
    """

    def __init__(
        self,
        remembered: Mapping[str, ResumePoint],
        *,
        legacy: int | None = None,
        on_identified: Callable[[Identified], None] = lambda _: None,
    ) -> None:
        self._lock = threading.Lock()
        self._points = dict(remembered)
        self._legacy = legacy
        self._last: ServerIdentity | None = None
        self._seen = False  # a connect has been decided since the start
        self.on_identified = on_identified

    @property
    def last(self) -> ServerIdentity | None:
        """The history of the last connect (None: unknown, or a server without identity)."""
        return self._last

    def __call__(self, health: dict[str, Any], own: int | None) -> int | None:
        identity = identity_of(health)
        with self._lock:
            legacy, self._legacy = self._legacy, None
            changed = self._seen and identity != self._last
            if changed:
                self._keep(own)  # the previous history stopped there
                own = None
            if own is not None:
                resume: int | None = own
            elif identity is None:
                resume = None
            else:
                resume = self._remembered(identity, legacy, _server_seq(health))
            self._last = identity
            self._seen = True
        self.on_identified(Identified(identity, changed, resume, health))
        return resume

    def _remembered(self, identity: ServerIdentity, legacy: int | None,
                    server_seq: int | None) -> int | None:
        point = self._points.get(identity.server_id)
        if point is not None and point.identity == identity:
            return point.seq
        if legacy is not None and server_seq is not None and legacy <= server_seq:
            return legacy
        return None

    def _keep(self, own: int | None) -> None:
        if self._last is not None and own is not None:
            self._points[self._last.server_id] = ResumePoint(self._last, own)

    def leave(self, own: int | None) -> None:
        """The stream of the last history stopped at ``own`` (a new endpoint, off, quitting)."""
        with self._lock:
            self._keep(own)

    def points(self, own: int | None = None) -> dict[str, ResumePoint]:
        """Every remembered point, the last history's at ``own`` when given."""
        with self._lock:
            self._keep(own)
            return dict(self._points)


def _server_seq(health: Mapping[str, Any]) -> int | None:
    stats = health.get("stats")
    seq = stats.get("seq") if isinstance(stats, Mapping) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None
