"""Do-not-disturb: off, for an hour, until tomorrow morning, or on (pure).

Stored as one string so it survives a restart: ``""`` (off), ``"on"``, or the
wall-clock epoch second it ends at. Wall-clock time, not monotonic: "for an
hour" must still end an hour later when the machine slept in between.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time, timedelta

__all__ = ["MORNING", "DndMode", "DoNotDisturb"]

MORNING = time(8, 0)  # "until tomorrow" ends at this local time the next day


class DndMode(enum.Enum):
    OFF = "off"
    HOUR = "hour"
    TOMORROW = "tomorrow"
    ON = "on"


@dataclass(frozen=True, slots=True)
class DoNotDisturb:
    """``until`` is an epoch second; ``forever`` wins over it."""

    until: float | None = None
    forever: bool = False

    @classmethod
    def start(cls, mode: DndMode, now: datetime) -> DoNotDisturb:
        """Do-not-disturb in ``mode`` starting at ``now`` (an aware local datetime)."""
        if mode is DndMode.OFF:
            return cls()
        if mode is DndMode.ON:
            return cls(forever=True)
        if mode is DndMode.HOUR:
            return cls(until=(now + timedelta(hours=1)).timestamp())
        tomorrow = (now + timedelta(days=1)).date()
        end = datetime.combine(tomorrow, MORNING, tzinfo=now.tzinfo)
        return cls(until=end.timestamp())

    def active(self, now: float) -> bool:
        return self.forever or (self.until is not None and now < self.until)

    def mode(self, now: float) -> DndMode:
        """The menu entry to tick: timed modes show as the one that set them."""
        if self.forever:
            return DndMode.ON
        if not self.active(now):
            return DndMode.OFF
        assert self.until is not None
        return DndMode.HOUR if self.until - now <= 3600 else DndMode.TOMORROW

    def describe(self, now: float) -> str:
        if self.forever:
            return "Do not disturb is on"
        if not self.active(now):
            return ""
        assert self.until is not None
        end = datetime.fromtimestamp(self.until).astimezone()
        today = datetime.fromtimestamp(now).astimezone().date()
        when = end.strftime("%H:%M") if end.date() == today else end.strftime("%a %H:%M")
        return f"Do not disturb until {when}"

    def to_setting(self) -> str:
        if self.forever:
            return "on"
        return "" if self.until is None else repr(self.until)

    @classmethod
    def from_setting(cls, text: object) -> DoNotDisturb:
        """Parse a stored value; anything unreadable means off."""
        value = str(text or "").strip()
        if value == "on":
            return cls(forever=True)
        try:
            until = float(value)
        except ValueError:
            return cls()
        return cls(until=until) if until == until and until > 0 else cls()
