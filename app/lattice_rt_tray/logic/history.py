"""What each server keeps, read back page by page: on start and when the list is scrolled
to its end (pure).

On a connection's first catch-up (and again when its history started over) the
app reads the server's feed a page at a time, newest first, until it holds
``size`` of that server's events (default :data:`DEFAULT_HISTORY_SIZE`) or the
server has nothing older; each page says where the next, older one starts
(``next_before``, see ``GET /realtime/feed``). Scrolling to the end of the list
asks every server that has more for one page more. A server without pages (the
Lattice AI server) gives its feed once.

:class:`HistoryPages` only decides which page to ask for; the connection reads
it off the GUI thread and the model stores it. What is read is history: it is
shown, never notified and never counted as unread. The same event may come by
the stream and in a page: :func:`event_identity` is what makes it one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lattice_rt_core.net.unnumbered import event_key

__all__ = ["DEFAULT_HISTORY_SIZE", "HistoryPages", "Page", "event_identity"]

#: events of each server read back on start
DEFAULT_HISTORY_SIZE = 1000


def event_identity(event: Mapping[str, Any]) -> tuple[int, str, str] | None:
    """What tells one event of one server from another: its seq with its time and type
    (a seq alone comes back after a server's history starts over, or a Lattice AI
    server's restart); None for an event without a seq (never taken for another).
    The same as :func:`~lattice_rt_core.net.unnumbered.event_key`, with a fast path
    for what every event of ours carries (it runs for each event of a flood)."""
    seq = event.get("seq")
    when = event.get("received_at")
    kind = event.get("event_type")
    if type(seq) is int and type(when) is str and type(kind) is str \
            and event.get("timestamp") is None:
        return (seq, when, kind)
    return event_key(event)


@dataclass(frozen=True, slots=True)
class Page:
    """One page to read of a server: the events below ``before`` (None: the newest)."""

    server: str
    before: int | None
    generation: int  # which reading of the server it belongs to (an older one is ignored)


@dataclass(slots=True)
class _Server:
    wanted: int  # events to read before stopping (on start; a page more on demand)
    generation: int
    read: int = 0
    before: int | None = None  # where the next older page starts
    busy: bool = False
    done: bool = False  # the server holds nothing older


class HistoryPages:
    """Which page of which server to read next (state per server; not thread-safe)."""

    def __init__(self, size: int = DEFAULT_HISTORY_SIZE) -> None:
        self.size = max(0, size)
        self._servers: dict[str, _Server] = {}
        self._generations = 0

    def start(self, server: str) -> Page | None:
        """The server's stream caught up: the first page, unless it was read already."""
        if server in self._servers or self.size == 0:
            return None
        self._generations += 1
        self._servers[server] = _Server(wanted=self.size, generation=self._generations,
                                        busy=True)
        return Page(server, None, self._generations)

    def current(self, page: Page) -> bool:
        """Is ``page`` of the server's current reading (not of a history forgotten since)?"""
        state = self._servers.get(page.server)
        return state is not None and state.generation == page.generation

    def read(self, page: Page, count: int, before: int | None) -> Page | None:
        """``page`` arrived with ``count`` events, the next older one starting at
        ``before`` (None: there is none); the next page to read, if any."""
        if not self.current(page):
            return None
        state = self._servers[page.server]
        state.busy = False
        state.read += count
        state.before = before
        state.done = before is None
        if state.done or state.read >= state.wanted:
            return None
        state.busy = True
        return Page(page.server, before, state.generation)

    def failed(self, page: Page) -> None:
        """Reading ``page`` failed: it may be asked for again (on demand)."""
        if not self.current(page):
            return
        state = self._servers[page.server]
        state.busy = False
        if page.before is None:
            del self._servers[page.server]  # the first page: read again at the next catch-up

    def older(self, server: str) -> Page | None:
        """The list was scrolled to its end: one page more of this server, if it has any."""
        state = self._servers.get(server)
        if state is None or state.busy or state.done or state.before is None:
            return None
        state.busy = True
        state.wanted = state.read + 1  # this page, then stop
        return Page(server, state.before, state.generation)

    def read_count(self, server: str) -> int:
        """Events read of the server's current history."""
        state = self._servers.get(server)
        return state.read if state is not None else 0

    def busy(self) -> bool:
        """Is a page being read of any server?"""
        return any(s.busy for s in self._servers.values())

    def more(self) -> bool:
        """Does any server hold older events than were read?"""
        return any(not s.done and s.before is not None for s in self._servers.values())

    def forget(self, server: str) -> None:
        """Another history behind the connection (or it was removed): read it afresh."""
        self._servers.pop(server, None)
