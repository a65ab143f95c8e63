"""Following a stream whose frames carry no ids: each event once, in order (sans-IO).

The Lattice AI server sends ``data:`` frames only, replays its newest events
(newest first) on every connect, ignores ``Last-Event-ID`` and numbers its events
from 1 again after a restart. Its native host even ends the stream after the
replay. :class:`Unnumbered` turns that into what a numbered stream gives:

* At each connect the client reads the server's feed (what a replay can hold,
  and more) and :meth:`Unnumbered.catch_up` returns the events not seen before,
  oldest first; the replay that follows on the stream is then all seen.
* :meth:`Unnumbered.accept` lets each stream frame through once.
* A restart is noticed from the events themselves: a seq already seen on another
  event, a feed whose newest seq is below everything seen, or a live event at or
  below the newest seq seen (past the catch-up a stream is in seq order) means
  the server started its numbering again. It is reported (``restarted``) so the caller can
  say so and move its own marks, and the events after it are new, not "seen".
* A feed that is full and does not reach back to the newest event seen means
  events were missed in between (``missed``): loss is said, never silent. (Seq
  gaps alone prove nothing: from ltcai 9.1 events that reach nobody use seqs too.)

An event's identity is its seq with its time and type: after a restart the same
seq comes back with another time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CatchUp", "Unnumbered", "event_key", "seq_of"]

#: how many event identities are remembered (a replay is 10; a feed page 50 to 200)
DEFAULT_MEMORY = 4096
_TIME_FIELDS = ("timestamp", "received_at", "created_at", "ts", "time")

Key = tuple[int, str, str]


def seq_of(event: Mapping[str, Any]) -> int | None:
    seq = event.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def event_key(event: Mapping[str, Any]) -> Key | None:
    """(seq, time, type), or None for an event without a seq (never de-duplicated)."""
    seq = seq_of(event)
    if seq is None:
        return None
    when = next((str(event[f]) for f in _TIME_FIELDS if event.get(f) is not None), "")
    kind = event.get("event_type", event.get("type", ""))
    return (seq, when, str(kind))


@dataclass
class CatchUp:
    """What one connect's feed held: ``events`` unseen, oldest first."""

    events: list[dict[str, Any]] = field(default_factory=list)
    restarted: bool = False
    #: events missed before the oldest of ``events`` (0: none, or unknown)
    missed: int = 0
    #: the newest seq the server had at the connect (None: its feed was empty)
    newest: int | None = None


class Unnumbered:
    """The events one client has seen of one unnumbered stream (not thread-safe)."""

    def __init__(self, memory: int = DEFAULT_MEMORY) -> None:
        self._memory = memory
        self._seen: OrderedDict[Key, None] = OrderedDict()
        self._by_seq: dict[int, Key] = {}  # the current numbering's events
        self._high: int | None = None  # the newest seq of the current numbering

    @property
    def high(self) -> int | None:
        return self._high

    def catch_up(self, feed: Iterable[Mapping[str, Any]], limit: int) -> CatchUp:
        """The feed read at a connect (any order, at most ``limit`` asked for)."""
        events = sorted((dict(e) for e in feed if seq_of(e) is not None),
                        key=lambda e: seq_of(e) or 0)
        result = CatchUp(newest=seq_of(events[-1]) if events else None)
        if self._high is not None and events and self._restarted_before(events):
            result.restarted = True
            self._new_numbering()
        fresh = [e for e in events if event_key(e) not in self._seen]
        if (self._high is not None and not result.restarted and fresh
                and len(events) >= limit and fresh[0] is events[0]):
            first = seq_of(events[0]) or 0
            result.missed = max(0, first - self._high - 1)
        for event in fresh:
            self._note(event)
        result.events = fresh
        return result

    def accept(self, event: Mapping[str, Any]) -> tuple[bool, bool]:
        """(new, restarted) for one stream frame: let it through when new."""
        key = event_key(event)
        if key is None:
            return True, False
        if key in self._seen:
            return False, False
        # Past the catch-up a stream is in seq order: an unseen event at or below the
        # newest seq seen means the server started numbering again.
        restarted = self._high is not None and key[0] <= self._high
        if restarted:
            self._new_numbering()
        self._note(event)
        return True, restarted

    # ------------------------------------------------------------ internals
    def _restarted_before(self, events: list[dict[str, Any]]) -> bool:
        """The feed (oldest first) shows another numbering than the one seen."""
        for event in events:
            key = event_key(event)
            assert key is not None
            other = self._by_seq.get(key[0])
            if other is not None and other != key:
                return True
        newest = events[-1]
        newest_key = event_key(newest)
        high = self._high
        return (high is not None and (seq_of(newest) or 0) < high
                and newest_key not in self._seen)

    def _new_numbering(self) -> None:
        self._by_seq.clear()
        self._high = None

    def _note(self, event: Mapping[str, Any]) -> None:
        key = event_key(event)
        if key is None:
            return
        self._remember(key)
        self._by_seq[key[0]] = key
        if self._high is None or key[0] > self._high:
            self._high = key[0]

    def _remember(self, key: Key) -> None:
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > self._memory:
            old, _ = self._seen.popitem(last=False)
            if self._by_seq.get(old[0]) == old:
                del self._by_seq[old[0]]
