"""Stage two from event to notice: what belongs together, and when (sans-IO).

The pass as a whole is in :mod:`.levels`: each event gets its level there
(:func:`~.levels.level_for`), the coalescer groups the leveled events into
:class:`~.notices.Group` values, and :func:`~.notices.render` words each
group into the :class:`~.notices.Notice` it returns. This is the only stage
with state: bursts, holds and do-not-disturb need time.

No Qt, no I/O, no sleeping: time comes from two injected clocks (``clock`` is
monotonic seconds and decides bursts; ``wallclock`` is epoch seconds and
decides do-not-disturb), and the caller asks :meth:`NotificationCoalescer.poll`
again at :meth:`~NotificationCoalescer.next_due`.

Every event comes from a *server* (a connection, named by its key), and
everything about events is counted per server: a seq only means something to
its server. Rules:

* Silent events (the user's own, muted ones, presence unless asked for, what
  a rule silences) are never notified; low ones are quiet notices, critical
  ones go out with critical urgency and head any group they are in.
* A burst becomes one notification: the first event of a quiet period is shown
  at once; what follows within ``window`` seconds is held and shown as one
  digest ("12 new events in ws_marketing") that *replaces* the first one (same
  ``key``), and keeps replacing it while the burst goes on. Per server.
* After a (re)connect, what the server replays is held until the caller tells
  the boundary (the server's seq when the stream opened, or ``None`` when it is
  unknown): older events become one catch-up digest ("While you were away: 37
  events in 3 workspaces"); on a first connect without a resume point (a new
  server, or a history that started again) they are history and not notified.
* Nothing is shown twice: an event whose seq is not above the highest seen
  from its server is ignored (a ``reset`` moves that mark; :meth:`forget`
  drops it when the connection follows another history).
* Do-not-disturb, quiet hours and "notifications off" suppress the popups but
  events still count as unread; a critical event cuts through do-not-disturb
  and quiet hours (never "off") when ``prefs.critical_through`` says so. What
  do-not-disturb or quiet hours held becomes ONE summary when they end
  (:meth:`release_held`; :meth:`quiet_changes_at` says when to ask).
* What the notices account for (shown, or folded into a digest to come) is
  kept for :meth:`take_accounted`, so the caller can record it before it
  shows them; what do-not-disturb holds is accounted when its summary comes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from lattice_rt_tray.logic.digest import Tally, newest_seq
from lattice_rt_tray.logic.dnd import DoNotDisturb, until_text
from lattice_rt_tray.logic.levels import Audience, is_own, level_for
from lattice_rt_tray.logic.notices import Group, Notice, NoticeKind, render
from lattice_rt_tray.logic.rules import Level
from lattice_rt_tray.logic.settings_values import NotifyPrefs

__all__ = ["DEFAULT_HOLD", "DEFAULT_WINDOW", "NotificationCoalescer"]

DEFAULT_WINDOW = 2.0
DEFAULT_HOLD = 3.0

Event = Mapping[str, Any]
Leveled = list[tuple[Event, Level]]

#: events kept per server for :meth:`NotificationCoalescer.take_accounted` between takes
_ACCOUNTED = 1024
#: what held the popups back: notifications off, do-not-disturb, quiet hours
_OFF, _DND, _HOURS = "off", "dnd", "hours"


class _Server:
    """Everything counted for one server."""

    __slots__ = ("boundary", "burst", "burst_tally", "caught", "caught_missed", "held",
                 "high", "history", "hold_until", "holding", "missed", "pending", "window_end")

    def __init__(self) -> None:
        self.high: int | None = None  # highest seq seen
        # live bursts
        self.burst = 0  # number of the current burst (the notice key)
        self.window_end: float | None = None
        self.burst_tally = Tally()  # everything in this burst
        self.pending = 0  # events of the burst not shown yet (until the window ends)
        # catch-up after a (re)connect
        self.holding = False
        self.history = False
        self.hold_until = 0.0
        self.held: list[Event] = []
        self.missed = 0
        self.boundary: int | None = None  # replayed events up to here are old news
        self.caught = Tally()  # the last catch-up digest's events
        self.caught_missed = 0


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
        tz: tzinfo | None = None,
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
        self._servers: dict[str, _Server] = {}
        self._names: dict[str, str] = {}
        self._tz = tz  # where quiet hours are read (None: this computer's time zone)
        self._quiet_tally = Tally()  # what do-not-disturb or quiet hours held
        self._held_by: set[str] = set()  # which of them held it
        self._held_events: dict[str, deque[Event]] = {}  # accounted when the summary comes
        self._accounted: dict[str, deque[Event]] = {}
        self._muted_until: dict[str, float] = {}  # workspace -> wall time its mute ends

    # ------------------------------------------------------------- servers
    def set_servers(self, names: Mapping[str, str]) -> None:
        """Key -> name of the servers followed: with more than one, notices name theirs."""
        self._names = dict(names)

    def forget(self, server: str) -> None:
        """Drop what was counted for ``server`` (removed, or another history now)."""
        self._servers.pop(server, None)
        self._accounted.pop(server, None)
        self._held_events.pop(server, None)

    def _server(self, server: str) -> _Server:
        state = self._servers.get(server)
        if state is None:
            state = self._servers[server] = _Server()
        return state

    def _render(self, groups: Iterable[Group]) -> list[Notice]:
        return [render(group, self._names) for group in groups]

    # ---------------------------------------------------------- stage one
    def is_own(self, event: Event) -> bool:
        return is_own(event, self.instance_id)

    def _leveled(self, server: str, events: Iterable[Event]) -> Leveled:
        """The events worth a notice and their levels (stage one; silent ones dropped)."""
        audience = Audience(self.instance_id, self.prefs, self._muted_now())
        name = self._names.get(server, "")
        out: Leveled = []
        for event in events:
            level = level_for(event, audience, server, name)
            if level is not Level.SILENT:
                out.append((event, level))
        return out

    @property
    def holding(self) -> bool:
        """True while any server is between a (re)connect and its boundary."""
        return any(state.holding for state in self._servers.values())

    def holds(self, server: str) -> bool:
        state = self._servers.get(server)
        return state is not None and state.holding

    def quiet(self) -> bool:
        """True while popups are suppressed (notifications off, do-not-disturb, quiet hours)."""
        return self._quiet_by() is not None

    def _quiet_by(self) -> str | None:
        if not self.prefs.enabled:
            return _OFF
        now = self._wallclock()
        if self.dnd.active(now):
            return _DND
        hours = self.prefs.quiet_hours
        return _HOURS if hours is not None and hours.active(now, self._tz) else None

    def quiet_changes_at(self) -> float | None:
        """The wall time quiet hours next start or end (None: no quiet hours)."""
        hours = self.prefs.quiet_hours
        return hours.next_change(self._wallclock(), self._tz) if hours is not None else None

    def describe_quiet(self) -> str:
        """``Quiet hours until 08:00`` while they are on, else ``""``."""
        hours, now = self.prefs.quiet_hours, self._wallclock()
        if hours is None or not hours.active(now, self._tz):
            return ""
        end = hours.next_change(now, self._tz)
        assert end is not None
        local = datetime.fromtimestamp(now, self._tz) if self._tz else datetime.fromtimestamp(
            now).astimezone()
        return f"Quiet hours until {until_text(end, local)}"

    def _let_through(self, leveled: Leveled, server: str) -> Leveled:
        """While quiet: hold what waits for the summary, return what still pops up."""
        by = self._quiet_by()
        if by is None or not leveled:
            return leveled
        if by == _OFF:
            return []
        through = self.prefs.critical_through
        passed: Leveled = [(e, lv) for e, lv in leveled if through and lv is Level.CRITICAL]
        held = [(e, lv) for e, lv in leveled if not (through and lv is Level.CRITICAL)]
        if held:
            _count(self._quiet_tally, held, server)
            self._held_by.add(by)
            kept = self._held_events.setdefault(server, deque(maxlen=_ACCOUNTED))
            kept.extend(e for e, _ in held)
        return passed

    def _account(self, server: str, leveled: Leveled) -> None:
        if leveled:
            kept = self._accounted.setdefault(server, deque(maxlen=_ACCOUNTED))
            kept.extend(e for e, _ in leveled)

    def take_accounted(self) -> dict[str, list[Event]]:
        """Server -> the events the notices so far account for (since the last take)."""
        taken = {server: list(events) for server, events in self._accounted.items() if events}
        self._accounted.clear()
        return taken

    def mark_read(self) -> None:
        self.unread = 0

    def mute_for(self, workspace: str, seconds: float) -> None:
        """Nothing from ``workspace`` pops up for ``seconds`` (a notification's Mute)."""
        self._muted_until[workspace] = self._wallclock() + seconds

    def _muted_now(self) -> frozenset[str]:
        """The workspaces muted for a while that still are (the others forgotten)."""
        if self._muted_until:
            now = self._wallclock()
            self._muted_until = {ws: t for ws, t in self._muted_until.items() if now < t}
        return frozenset(self._muted_until)

    def release_held(self) -> list[Notice]:
        """Once do-not-disturb and quiet hours are over: one summary of what they held."""
        tally = self._quiet_tally
        if self._quiet_by() in (_DND, _HOURS) or not tally.count:
            return []
        self._quiet_tally, held_by = Tally(), self._held_by
        self._held_by = set()
        held, self._held_events = self._held_events, {}
        if not self.prefs.enabled:
            return []
        for key, events in held.items():
            self._accounted.setdefault(key, deque(maxlen=_ACCOUNTED)).extend(events)
        server = next(iter(tally.servers)) if len(tally.servers) == 1 else ""
        return self._render([Group(NoticeKind.HELD, "held", server, tally,
                                   held_by=_DND if _DND in held_by else _HOURS)])

    # ----------------------------------------------------------- connection
    def connected(self, server: str, *, resumed: bool) -> None:
        """``server``'s stream (re)opened: hold what arrives until :meth:`boundary`.

        ``resumed`` is False on a first connect without a resume point, whose
        replayed tail is history rather than news.
        """
        state = self._server(server)
        if not state.holding:
            state.holding = True
            state.history = not resumed
            state.held = []
            state.missed = 0
        state.hold_until = self._clock() + self._hold_time

    def boundary(self, server: str, server_seq: int | None) -> list[Notice]:
        """End the hold: events up to ``server_seq`` were missed, later ones are live."""
        state = self._servers.get(server)
        if state is None or not state.holding:
            return []
        state.holding = False
        held, state.held = state.held, []
        missed, state.missed = state.missed, 0
        if server_seq is None:  # unknown: everything replayed so far is old news
            server_seq = newest_seq(held)
            if server_seq is None:
                server_seq = state.high
        state.boundary = server_seq
        state.caught, state.caught_missed = Tally(), missed
        groups = self._split(server, state, held)
        if (
            missed
            and not state.history
            and not self.quiet()
            and not any(g.kind is NoticeKind.CATCH_UP for g in groups)
        ):
            groups.insert(0, self._catch_up(server, Tally(), missed))
        return self._render(groups)

    def _split(self, server: str, state: _Server, events: list[Event]) -> list[Group]:
        """Old news (up to the boundary) into the catch-up digest, the rest live."""
        bound = state.boundary
        old = [e for e in events if bound is not None and _older(e, bound)]
        new = [e for e in events if bound is None or not _older(e, bound)]
        groups: list[Group] = []
        if old and not state.history:
            leveled = self._leveled(server, old)
            self.unread += len(leveled)
            leveled = self._let_through(leveled, server)
            _count(state.caught, leveled, server)
            if leveled:
                self._account(server, leveled)
                groups.append(self._catch_up(server, state.caught, state.caught_missed))
        groups.extend(self._live(server, state, new))
        return groups

    def gap(self, server: str, body: Mapping[str, Any]) -> None:
        missed = body.get("missed")
        state = self._servers.get(server)
        if state is not None and state.holding and isinstance(missed, int) and missed > 0:
            state.missed += missed

    def reset(self, server: str, body: Mapping[str, Any]) -> None:
        """The server is behind our resume point (it lost data): restart the mark."""
        server_seq = body.get("server_seq")
        state = self._server(server)
        state.high = server_seq if isinstance(server_seq, int) else None
        # what comes after the reset is numbered from there: a boundary above it
        # (the old numbering's) would take the new events for old news
        if state.boundary is not None and (state.high is None or state.boundary > state.high):
            state.boundary = state.high

    # ---------------------------------------------------------------- events
    def offer(self, server: str, events: Iterable[Event]) -> list[Notice]:
        state = self._server(server)
        fresh: list[Event] = []
        high = state.high
        for event in events:
            seq = event.get("seq")
            if isinstance(seq, int):
                if high is not None and seq <= high:
                    continue
                high = seq
            fresh.append(event)
        state.high = high
        if state.holding:
            state.held.extend(fresh)
            return []
        return self._render(self._split(server, state, fresh))

    def poll(self) -> list[Notice]:
        now = self._clock()
        notices: list[Notice] = []
        for server, state in list(self._servers.items()):
            if state.holding and now >= state.hold_until:
                notices.extend(self.boundary(server, None))
            if state.window_end is not None and now >= state.window_end:
                notices.extend(self._render(self._close_window(server, state, now)))
        return notices

    def next_due(self) -> float | None:
        due: list[float] = []
        for state in self._servers.values():
            if state.holding:
                due.append(state.hold_until)
            if state.pending and state.window_end is not None:
                due.append(state.window_end)
        return min(due) if due else None

    # -------------------------------------------------------------- internals
    def _live(self, server: str, state: _Server, events: list[Event]) -> list[Group]:
        notable = self._leveled(server, events)
        self.unread += len(notable)
        notable = self._let_through(notable, server)
        if not notable:
            return []
        self._account(server, notable)
        now = self._clock()
        groups: list[Group] = []
        if state.window_end is not None and now >= state.window_end:
            groups.extend(self._close_window(server, state, now))
        if state.window_end is None:  # the first of a quiet period: shown at once, alone
            first, notable = notable[:1], notable[1:]
            state.burst += 1
            one = Tally()
            _count(one, first, server)
            groups.append(Group(NoticeKind.EVENT, f"{server}:burst:{state.burst}", server, one))
            state.burst_tally = one.copy()  # the burst goes on from its first event
            state.window_end = now + self._window
        # counted now: a flood's digest never rereads it
        _count(state.burst_tally, notable, server)
        state.pending += len(notable)
        return groups

    def _close_window(self, server: str, state: _Server, now: float) -> list[Group]:
        if not state.pending:
            state.window_end = None
            state.burst_tally = Tally()
            return []
        state.pending = 0
        state.window_end = now + self._window
        return [Group(NoticeKind.DIGEST, f"{server}:burst:{state.burst}", server,
                      state.burst_tally)]

    @staticmethod
    def _catch_up(server: str, tally: Tally, missed: int) -> Group:
        return Group(NoticeKind.CATCH_UP, f"{server}:catch-up", server, tally, missed)


def _count(tally: Tally, leveled: Leveled, server: str) -> None:
    tally.add([e for e, _ in leveled], server, [lv for _, lv in leveled])


def _older(event: Event, seq: int) -> bool:
    """At or below ``seq`` (an event without a seq is never old news)."""
    value = event.get("seq")
    return isinstance(value, int) and value <= seq
