"""Which presence status this computer's user has, from what the desktop reports (pure).

Inputs, each applied at the injected clock's time:

- an idle sample: seconds since the last keyboard or mouse input (from the
  desktop, see ``idle_base.py``); ``idle_after`` of them (default 5 min)
  make the user ``idle``, ``away_after`` (default 15 min) ``away``;
- the screen locked or blanked, and the machine going to sleep: ``away``
  until it is unlocked or wakes up;
- do-not-disturb on: ``dnd``;
- a manual status, chosen in the menu: wins over all of the above until it
  is cleared; a manual status line is shown with whatever the status is.

Precedence: manual, then do-not-disturb, then locked or asleep, then idle
time. Time alone never changes the status: idle time is only known from a
sample, so :meth:`StatusMachine.next_check` says when a fresh one could change
it (the user may have typed since the last), and the caller asks the desktop
then. Without any sample (a desktop that cannot tell idle time) the user
stays ``active`` unless locked, asleep, in do-not-disturb or set by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lattice_rt_core.protocol.defaults import PRESENCE_STATUSES

__all__ = [
    "ACTIVE",
    "AWAY",
    "DEFAULT_AWAY_AFTER",
    "DEFAULT_IDLE_AFTER",
    "DND",
    "IDLE",
    "POLL_WHILE_IDLE",
    "StatusMachine",
    "StatusState",
]

ACTIVE, IDLE, AWAY, DND = PRESENCE_STATUSES
#: seconds without input before the user is idle, and away
DEFAULT_IDLE_AFTER = 5 * 60.0
DEFAULT_AWAY_AFTER = 15 * 60.0
#: seconds between idle samples while idle or away (to see the user come back)
POLL_WHILE_IDLE = 5.0


@dataclass(frozen=True, slots=True)
class StatusState:
    """What is sent to servers: a status and an optional status line."""

    status: str = ACTIVE
    text: str | None = None


class StatusMachine:
    def __init__(
        self,
        *,
        clock: Callable[[], float],
        idle_after: float = DEFAULT_IDLE_AFTER,
        away_after: float = DEFAULT_AWAY_AFTER,
        poll_while_idle: float = POLL_WHILE_IDLE,
    ) -> None:
        if not poll_while_idle > 0:
            raise ValueError("the idle poll interval must be positive")
        self._clock = clock
        self.idle_after, self.away_after = _checked_times(idle_after, away_after)
        self.poll_while_idle = poll_while_idle
        self._input_at: float | None = None  # clock time of the last input, once known
        self._level = ACTIVE  # what the last sample said: active, idle or away
        self._stale = False  # woke up: the last sample says nothing about now
        self._locked = False
        self._asleep = False
        self._dnd = False
        self._manual: str | None = None
        self._text: str | None = None

    # ------------------------------------------------------------- outputs
    @property
    def state(self) -> StatusState:
        return StatusState(self._status(), self._text)

    @property
    def manual(self) -> str | None:
        return self._manual

    def next_check(self) -> float | None:
        """Clock time at which a fresh idle sample could change the status; None: no need.

        Asleep or locked: none (the wake-up or unlock is reported). Just woken
        up: now. Active: when the last input is ``idle_after`` old. Idle or
        away by idle time: every ``poll_while_idle``, to see the user return.
        """
        if self._asleep or self._locked:
            return None
        now = self._clock()
        if self._stale:
            return now
        if self._input_at is None:
            return None
        if self._level == ACTIVE:
            return self._input_at + self.idle_after
        soon = now + self.poll_while_idle
        return min(soon, self._input_at + self.away_after) if self._level == IDLE else soon

    # -------------------------------------------------------------- inputs
    def idle(self, seconds: float) -> bool:
        """A sample: the last input was ``seconds`` ago. True when the state changed."""
        before = self.state
        seconds = max(0.0, seconds)
        self._input_at = self._clock() - seconds
        self._level = self._level_for(seconds)
        self._stale = False
        return self.state != before

    def locked(self, on: bool) -> bool:
        before = self.state
        self._locked = on
        return self.state != before

    def sleeping(self, on: bool) -> bool:
        """Going to sleep (True) or woken up (False: the next sample is needed now)."""
        before = self.state
        if self._asleep and not on:
            self._stale = True
        self._asleep = on
        return self.state != before

    def dnd(self, on: bool) -> bool:
        before = self.state
        self._dnd = on
        return self.state != before

    def set_times(self, idle_after: float, away_after: float) -> bool:
        """New idle and away times; True when the state changed.

        The last sample is judged again by them (a fresh one follows at
        :meth:`next_check`, which they move too).
        """
        before = self.state
        self.idle_after, self.away_after = _checked_times(idle_after, away_after)
        if self._input_at is not None and not self._stale:
            self._level = self._level_for(self._clock() - self._input_at)
        return self.state != before

    def set_manual(self, status: str | None) -> bool:
        """A status chosen by hand (None: back to the automatic one)."""
        if status is not None and status not in PRESENCE_STATUSES:
            raise ValueError(f"not a presence status: {status!r}")
        before = self.state
        self._manual = status
        return self.state != before

    def set_text(self, text: str | None) -> bool:
        """The status line (None or blank: none)."""
        before = self.state
        self._text = (text.strip() or None) if text is not None else None
        return self.state != before

    # ----------------------------------------------------------- internals
    def _level_for(self, idle: float) -> str:
        return AWAY if idle >= self.away_after else IDLE if idle >= self.idle_after else ACTIVE

    def _status(self) -> str:
        if self._manual is not None:
            return self._manual
        if self._dnd:
            return DND
        if self._locked or self._asleep:
            return AWAY
        return self._level  # just woken up, before a fresh sample: as before the sleep


def _checked_times(idle_after: float, away_after: float) -> tuple[float, float]:
    if not 0 < idle_after < away_after:
        raise ValueError("the idle time must be positive and shorter than the away time")
    return idle_after, away_after
