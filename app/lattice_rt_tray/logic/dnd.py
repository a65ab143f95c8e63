"""Do-not-disturb: off, for an hour, until tomorrow morning, or on (pure).

Stored as one string so it survives a restart: ``""`` (off), ``"on"``, or the
wall-clock epoch second it ends at. Wall-clock time, not monotonic: "for an
hour" must still end an hour later when the machine slept in between.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time, timedelta

__all__ = ["MORNING", "DndMode", "DoNotDisturb", "menu_labels", "until_text"]

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
        """``Do not disturb until 15:42`` (local time), ``... is on``, or ``""`` when off."""
        if self.forever:
            return "Do not disturb is on"
        if not self.active(now):
            return ""
        assert self.until is not None
        local = datetime.fromtimestamp(now).astimezone()
        return f"Do not disturb until {until_text(self.until, local)}"

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


def until_text(until: float, now: datetime) -> str:
    """When ``until`` (an epoch second) is, seen from ``now`` (aware, local).

    ``15:42`` today, ``08:00 tomorrow``, else ``Mon 08:00``.
    """
    end = datetime.fromtimestamp(until, now.tzinfo)
    days = (end.date() - now.date()).days
    if days == 0:
        return end.strftime("%H:%M")
    if days == 1:
        return f"{end:%H:%M} tomorrow"
    return end.strftime("%a %H:%M")


def menu_labels(dnd: DoNotDisturb, now: datetime) -> dict[DndMode, str]:
    """The Do-not-disturb menu's entries, saying when each would end (``now``: aware, local).

    The entry of a period that is on says when it really ends.
    """
    stamp = now.timestamp()
    hour = DoNotDisturb.start(DndMode.HOUR, now).until
    morning = DoNotDisturb.start(DndMode.TOMORROW, now).until
    assert hour is not None and morning is not None
    labels = {
        DndMode.OFF: "Off",
        DndMode.HOUR: f"For 1 hour (until {until_text(hour, now)})",
        DndMode.TOMORROW: f"Until {until_text(morning, now)}",
        DndMode.ON: "Until turned off",
    }
    mode = dnd.mode(stamp)
    if mode in (DndMode.HOUR, DndMode.TOMORROW) and dnd.until is not None:
        labels[mode] = f"Until {until_text(dnd.until, now)}"
    return labels
