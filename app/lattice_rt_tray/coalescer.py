"""What to tell the user about incoming events: notices, digests, unread (sans-IO).

No Qt, no I/O, no sleeping: time comes from two injected clocks (``clock`` is
monotonic seconds and decides bursts; ``wallclock`` is epoch seconds and
decides do-not-disturb), and the caller asks :meth:`NotificationCoalescer.poll`
again at :meth:`~NotificationCoalescer.next_due`.

Rules:

* Events are filtered: the user's own actions (``origin`` equal to this app's
  instance id, and this app's own presence entries) are never notified; muted
  workspaces and areas are dropped; presence join/leave only when enabled.
* A burst becomes one notification: the first event of a quiet period is shown
  at once; what follows within ``window`` seconds is held and shown as one
  digest ("12 new events in ws_marketing") that *replaces* the first one (same
  ``key``), and keeps replacing it while the burst goes on.
* After a (re)connect, what the server replays is held until the caller tells
  the boundary (the server's seq when the stream opened, or ``None`` when it is
  unknown): older events become one catch-up digest ("While you were away: 37
  events in 3 workspaces"); on the very first connect without a resume point
  they are history and not notified at all.
* Nothing is shown twice: an event whose seq is not above the highest seen is
  ignored (a ``reset`` from a server that lost its data moves that mark).
* Do-not-disturb and "notifications off" suppress the popups but events still
  count as unread.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .dnd import DoNotDisturb
from .settings_values import NotifyPrefs
from .summary import event_body, event_title, is_presence, workspace_label
from .text import plural

__all__ = ["Notice", "NoticeKind", "NotificationCoalescer"]

DEFAULT_WINDOW = 2.0
DEFAULT_HOLD = 3.0

Event = Mapping[str, Any]


class NoticeKind(enum.Enum):
    EVENT = "event"
    DIGEST = "digest"
    CATCH_UP = "catch_up"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification to show; a later notice with the same ``key`` replaces it."""

    kind: NoticeKind
    key: str
    title: str
    body: str
    seq: int | None  # the event a click opens (the newest one of a digest)
    count: int


class NotificationCoalescer:
    def __init__(
        self,
        *,
        instance_id: str,
        clock: Callable[[], float],
        wallclock: Callable[[], float],
        window: float = DEFAULT_WINDOW,
        hold: float = DEFAULT_HOLD,
        prefs: NotifyPrefs | None = None,
        dnd: DoNotDisturb | None = None,
    ) -> None:
        if window <= 0 or hold <= 0:
            raise ValueError("window and hold must be positive")
        self.instance_id = instance_id
        self.prefs = prefs or NotifyPrefs()
        self.dnd = dnd or DoNotDisturb()
        self.unread = 0
        self._clock = clock
        self._wallclock = wallclock
        self._window = window
        self._hold_time = hold
        self._high: int | None = None  # highest seq seen
        # live bursts
        self._burst = 0  # number of the current burst (the notice key)
        self._window_end: float | None = None
        self._burst_tally = _Tally()  # everything in this burst
        self._pending = 0  # events of the burst not shown yet (until the window ends)
        # catch-up after a (re)connect
        self._holding = False
        self._history = False
        self._hold_until = 0.0
        self._held: list[Event] = []
        self._missed = 0
        self._boundary: int | None = None  # replayed events up to here are old news
        self._caught = _Tally()  # the last catch-up digest's events
        self._caught_missed = 0

    # ------------------------------------------------------------- filtering
    def is_own(self, event: Event) -> bool:
        if self.instance_id and event.get("origin") == self.instance_id:
            return True
        if is_presence(event):
            payload = event.get("payload")
            cid = payload.get("client_id") if isinstance(payload, Mapping) else None
            return isinstance(cid, str) and cid.startswith(f"{self.instance_id}:")
        return False

    def is_notable(self, event: Event) -> bool:
        """Would the user want to hear about it at all (own/muted/presence rules)?"""
        if self.is_own(event):
            return False
        if is_presence(event) and not self.prefs.presence:
            return False
        ws = event.get("workspace_id")
        if isinstance(ws, str) and ws in self.prefs.muted_workspaces:
            return False
        return str(event.get("area")) not in self.prefs.muted_areas

    @property
    def holding(self) -> bool:
        """True between a (re)connect and its boundary."""
        return self._holding

    def quiet(self) -> bool:
        """True while popups are suppressed (notifications off or do-not-disturb)."""
        return not self.prefs.enabled or self.dnd.active(self._wallclock())

    def mark_read(self) -> None:
        self.unread = 0

    # ----------------------------------------------------------- connection
    def connected(self, *, resumed: bool) -> None:
        """The stream (re)opened: hold what arrives until :meth:`boundary`.

        ``resumed`` is False on a first connect without a resume point, whose
        replayed tail is history rather than news.
        """
        if not self._holding:
            self._holding = True
            self._history = not resumed
            self._held = []
            self._missed = 0
        self._hold_until = self._clock() + self._hold_time

    def boundary(self, server_seq: int | None) -> list[Notice]:
        """End the hold: events up to ``server_seq`` were missed, later ones are live."""
        if not self._holding:
            return []
        self._holding = False
        held, self._held = self._held, []
        missed, self._missed = self._missed, 0
        if server_seq is None:  # unknown: everything replayed so far is old news
            server_seq = _newest_seq(held)
            if server_seq is None:
                server_seq = self._high
        self._boundary = server_seq
        self._caught, self._caught_missed = _Tally(), missed
        notices = self._split(held)
        if (
            missed
            and not self._history
            and not self.quiet()
            and not any(n.kind is NoticeKind.CATCH_UP for n in notices)
        ):
            notices.insert(0, self._catch_up(_Tally(), missed))
        return notices

    def _split(self, events: list[Event]) -> list[Notice]:
        """Old news (up to the boundary) into the catch-up digest, the rest live."""
        bound = self._boundary
        old = [e for e in events if bound is not None and _older(e, bound)]
        new = [e for e in events if bound is None or not _older(e, bound)]
        notices: list[Notice] = []
        if old and not self._history:
            notable = [e for e in old if self.is_notable(e)]
            self.unread += len(notable)
            self._caught.add(notable)
            if not self.quiet() and notable:
                notices.append(self._catch_up(self._caught, self._caught_missed))
        notices.extend(self._live(new))
        return notices

    def gap(self, body: Mapping[str, Any]) -> None:
        missed = body.get("missed")
        if self._holding and isinstance(missed, int) and missed > 0:
            self._missed += missed

    def reset(self, body: Mapping[str, Any]) -> None:
        """The server is behind our resume point (it lost data): restart the mark."""
        server_seq = body.get("server_seq")
        self._high = server_seq if isinstance(server_seq, int) else None

    # ---------------------------------------------------------------- events
    def offer(self, events: Iterable[Event]) -> list[Notice]:
        fresh: list[Event] = []
        for event in events:
            seq = event.get("seq")
            if isinstance(seq, int):
                if self._high is not None and seq <= self._high:
                    continue
                self._high = seq
            fresh.append(event)
        if self._holding:
            self._held.extend(fresh)
            return []
        return self._split(fresh)

    def poll(self) -> list[Notice]:
        now = self._clock()
        notices: list[Notice] = []
        if self._holding and now >= self._hold_until:
            notices.extend(self.boundary(None))
        if self._window_end is not None and now >= self._window_end:
            notices.extend(self._close_window(now))
        return notices

    def next_due(self) -> float | None:
        due = [self._hold_until] if self._holding else []
        if self._pending and self._window_end is not None:
            due.append(self._window_end)
        return min(due) if due else None

    # -------------------------------------------------------------- internals
    def _live(self, events: list[Event]) -> list[Notice]:
        notable = [e for e in events if self.is_notable(e)]
        self.unread += len(notable)
        if not notable or self.quiet():
            return []
        now = self._clock()
        notices: list[Notice] = []
        if self._window_end is not None and now >= self._window_end:
            notices.extend(self._close_window(now))
        if self._window_end is None:
            first, notable = notable[0], notable[1:]
            self._burst += 1
            self._burst_tally = _Tally()
            self._burst_tally.add([first])
            self._window_end = now + self._window
            notices.append(self._single(first, f"burst:{self._burst}"))
        self._burst_tally.add(notable)  # counted now: a flood's digest never rereads it
        self._pending += len(notable)
        return notices

    def _close_window(self, now: float) -> list[Notice]:
        if not self._pending:
            self._window_end = None
            self._burst_tally = _Tally()
            return []
        self._pending = 0
        self._window_end = now + self._window
        return [self._digest(self._burst_tally, f"burst:{self._burst}")]

    def _single(self, event: Event, key: str) -> Notice:
        seq = event.get("seq")
        return Notice(
            kind=NoticeKind.EVENT,
            key=key,
            title=event_title(event),
            body=event_body(event),
            seq=seq if isinstance(seq, int) else None,
            count=1,
        )

    def _digest(self, tally: _Tally, key: str) -> Notice:
        count = tally.count
        spaces = tally.spaces
        where = _where(spaces)
        kinds = tally.kinds
        shown = [f"{title} ×{n}" if n > 1 else title for title, n in kinds.most_common(3)]
        if len(kinds) > 3:
            shown.append(f"{len(kinds) - 3} more kinds")
        lines = [" · ".join(shown)]
        if len(spaces) > 1:
            lines.append(" · ".join(f"{ws}: {n}" for ws, n in spaces.most_common(3)))
        return Notice(
            kind=NoticeKind.DIGEST,
            key=key,
            title=f"{count} new events {where}",
            body="\n".join(lines),
            seq=tally.newest,
            count=count,
        )

    def _catch_up(self, tally: _Tally, missed: int) -> Notice:
        if tally.first is None:
            return Notice(NoticeKind.CATCH_UP, "catch-up", "While you were away",
                          f"{plural(missed, 'event')} could not be replayed", None, 0)
        if tally.count == 1 and not missed:
            single = self._single(tally.first, "catch-up")
            return Notice(NoticeKind.CATCH_UP, "catch-up", single.title, single.body,
                          single.seq, 1)
        spaces = tally.spaces
        count = tally.count
        body = f"{plural(count, 'event')} {_where(spaces)}"
        if missed:
            body += f"; {missed} more could not be replayed"
        return Notice(
            kind=NoticeKind.CATCH_UP,
            key="catch-up",
            title="While you were away",
            body=body,
            seq=tally.newest,
            count=count,
        )


class _Tally:
    """What a digest tells about its events, counted as they arrive.

    A flood keeps a burst (or a catch-up) going for as long as it lasts; a
    digest that recounted every event of it would cost more each time it is
    updated. Counting each event once when it arrives keeps the cost per event.
    """

    __slots__ = ("count", "first", "kinds", "newest", "spaces")

    def __init__(self) -> None:
        self.count = 0
        self.first: Event | None = None
        self.spaces: Counter[str] = Counter()  # workspace label -> events
        self.kinds: Counter[str] = Counter()  # event title -> events
        self.newest: int | None = None  # the newest seq (what a click opens)

    def add(self, events: list[Event]) -> None:
        if not events:
            return
        if self.first is None:
            self.first = events[0]
        self.count += len(events)
        self.spaces.update(map(workspace_label, events))
        self.kinds.update(map(event_title, events))
        newest = _newest_seq(events)
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest


def _older(event: Event, seq: int) -> bool:
    """At or below ``seq`` (an event without a seq is never old news)."""
    value = event.get("seq")
    return isinstance(value, int) and value <= seq


def _newest_seq(events: list[Event]) -> int | None:
    seqs = [e.get("seq") for e in events]
    ints = [s for s in seqs if isinstance(s, int)]
    return max(ints) if ints else None


def _where(spaces: Counter[str]) -> str:
    if len(spaces) == 1:
        return f"in {next(iter(spaces))}"
    return f"in {len(spaces)} workspaces"
