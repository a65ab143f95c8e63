"""What a group of events counts (pure).

:class:`Tally` counts the events of a burst, a catch-up or a do-not-disturb
period as they arrive; :func:`~.notices.render` words it. The rules of what
belongs together are the coalescer's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from lattice_rt_tray.logic.rules import Level
from lattice_rt_tray.logic.summary import (
    event_title,
    failure_line,
    is_failure,
    is_presence,
    workspace_label,
)

__all__ = ["Tally", "newest_seq"]

Event = Mapping[str, Any]


class Tally:
    """What a digest tells about its events, counted as they arrive.

    A flood keeps a burst (or a catch-up) going for as long as it lasts; a
    digest that recounted every event of it would cost more each time it is
    updated. Counting each event once when it arrives keeps the cost per event.
    The *critical* events (failures, unless a rule says otherwise) are named on
    a line of their own, never counted among the kinds.
    """

    __slots__ = ("_examples", "_kinds", "all_failures", "count", "critical", "first",
                 "first_level", "named", "newest", "servers", "spaces")

    def __init__(self) -> None:
        self.count = 0
        self.first: Event | None = None
        self.first_level = Level.NORMAL
        self.spaces: Counter[str] = Counter()  # workspace label -> events
        # what kind of event -> how many (but critical ones), and one event of each: titled
        # when a digest is worded, not once per event
        self._kinds: Counter[object] = Counter()
        self._examples: dict[object, Event] = {}
        self.servers: Counter[str] = Counter()  # connection key -> events
        self.newest: int | None = None  # the newest seq (what a click opens)
        self.critical = 0  # how many of the events are critical
        self.named: list[str] = []  # the first few, as "Nightly import — disk full"
        self.all_failures = True  # every critical event is a failure ("failed", not "critical")

    @property
    def kinds(self) -> Counter[str]:
        """Event title -> how many events (but the critical ones)."""
        titled: Counter[str] = Counter()
        for kind, n in self._kinds.items():
            titled[event_title(self._examples[kind])] += n
        return titled

    def copy(self) -> Tally:
        """A tally that goes on counting from where this one is (this one stays as it is)."""
        twin = Tally()
        for name in self.__slots__:
            value = getattr(self, name)
            setattr(twin, name, value.copy() if isinstance(value, (Counter, dict, list)) else value)
        return twin

    def add(self, events: Sequence[Event], server: str = "",
            levels: Sequence[Level] | None = None) -> None:
        """Count ``events`` at their ``levels`` (default: failures critical, the rest normal)."""
        if not events:
            return
        if levels is None:
            levels = [Level.CRITICAL if is_failure(e) else Level.NORMAL for e in events]
        if self.first is None:
            self.first, self.first_level = events[0], levels[0]
        self.count += len(events)
        self.servers[server] += len(events)
        self.spaces.update(map(workspace_label, events))
        for event, level in zip(events, levels, strict=True):
            if level is Level.CRITICAL:  # named on a line of its own, never one of the kinds
                self.critical += 1
                self.all_failures = self.all_failures and is_failure(event)
                if len(self.named) < _FAILURES_NAMED:
                    self.named.append(failure_line(event))
            else:
                kind = _kind(event)
                self._kinds[kind] += 1
                if kind not in self._examples:
                    self._examples[kind] = event
        newest = newest_seq(events)
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest


#: critical events a digest names; the rest are counted
_FAILURES_NAMED = 2


def _kind(event: Event) -> object:
    """What decides an event's title: its area and type, or the title itself for a
    person's (their name and status are in it)."""
    if is_presence(event):
        return event_title(event)
    return (event.get("area"), event.get("event_type"))


def newest_seq(events: Sequence[Event]) -> int | None:
    seqs = [e.get("seq") for e in events]
    ints = [s for s in seqs if isinstance(s, int)]
    return max(ints) if ints else None
