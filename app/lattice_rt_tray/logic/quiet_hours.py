"""Recurring quiet hours, beside the one-off do-not-disturb (pure).

Quiet hours start on each chosen day at ``start`` and last until the next
``end``: the same day when ``end`` is later, else the next morning
("weekdays 19:00–08:00" is quiet from Friday 19:00 to Saturday 08:00, not from
Saturday 19:00). Times are wall-clock times where the user is: a period that
crosses a change to or from summer time still ends at 08:00 on the clock.

Stored as one line, ``mon,tue,wed,thu,fri 19:00-08:00`` (``""``: none);
:meth:`QuietHours.parse` says in one line what is wrong with any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

__all__ = ["DAYS", "WEEKDAYS", "QuietHours"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
WEEKDAYS = frozenset(range(5))


@dataclass(frozen=True, slots=True)
class QuietHours:
    """``days`` are weekday numbers (Monday 0) on which a quiet period starts."""

    days: frozenset[int]
    start: time
    end: time

    # ------------------------------------------------------------- when
    def active(self, now: float, tz: tzinfo | None = None) -> bool:
        """Quiet at epoch second ``now`` (``tz``: where the user is; None: this computer)."""
        return self._current_end(_wall(now, tz)) is not None

    def next_change(self, now: float, tz: tzinfo | None = None) -> float | None:
        """The epoch second quiet hours next start or end after ``now`` (None: never)."""
        wall = _wall(now, tz)
        end = self._current_end(wall)
        if end is not None:
            return _later(_epoch(end, tz), now)
        for ahead in range(8):
            day = wall.date() + timedelta(days=ahead)
            if day.weekday() in self.days:
                start = datetime.combine(day, self.start)
                if start > wall:
                    return _later(_epoch(start, tz), now)
        return None

    def _current_end(self, wall: datetime) -> datetime | None:
        """The end of the period ``wall`` is in (naive wall times), or None."""
        today = wall.date()
        for day in (today - timedelta(days=1), today):
            if day.weekday() not in self.days:
                continue
            start = datetime.combine(day, self.start)
            end = datetime.combine(day if self.end > self.start else day + timedelta(days=1),
                                   self.end)
            if start <= wall < end:
                return end
        return None

    # ------------------------------------------------------------- text
    def describe_days(self) -> str:
        """``weekdays``, ``every day``, ``weekends`` or ``mon, wed``."""
        if self.days == WEEKDAYS:
            return "weekdays"
        if self.days == frozenset(range(7)):
            return "every day"
        if self.days == frozenset({5, 6}):
            return "weekends"
        return ", ".join(DAYS[d] for d in sorted(self.days))

    def describe(self) -> str:
        """``weekdays 19:00–08:00``."""
        return f"{self.describe_days()} {self.start:%H:%M}–{self.end:%H:%M}"

    def to_setting(self) -> str:
        return f"{','.join(DAYS[d] for d in sorted(self.days))} {self.start:%H:%M}-{self.end:%H:%M}"

    @classmethod
    def parse(cls, text: object) -> QuietHours | None:
        """The stored line (None for ``""``); ValueError saying what is wrong."""
        line = ", ".join(map(str, text)) if isinstance(text, (list, tuple)) else str(text or "")
        line = line.strip()
        if not line:
            return None
        days_text, _, times = line.rpartition(" ")
        start_text, dash, end_text = times.partition("-")
        if not days_text or not dash:
            raise ValueError(f"quiet hours {line!r}: expected days and times, "
                             "as in 'mon,tue,wed,thu,fri 19:00-08:00'")
        days: set[int] = set()
        for name in days_text.replace(" ", "").lower().split(","):
            if name == "weekdays":
                days |= WEEKDAYS
            elif name in DAYS:
                days.add(DAYS.index(name))
            else:
                raise ValueError(f"quiet hours {line!r}: unknown day {name!r} "
                                 f"(one of {', '.join(DAYS)})")
        start, end = _time(start_text, line), _time(end_text, line)
        if start == end:
            raise ValueError(f"quiet hours {line!r}: they start and end at the same time")
        return cls(frozenset(days), start, end)


def _later(at: float, now: float) -> float:
    """Never at or before ``now``: a wall time the clock passes twice (summer time ends:
    at 02:20 of the second pass, 02:30 of the first is past) or skips has no one epoch
    second; look again a minute later."""
    return at if at > now else now + 60.0


def _time(text: str, line: str) -> time:
    try:
        return time.fromisoformat(text.strip()).replace(second=0, microsecond=0)
    except ValueError:
        raise ValueError(f"quiet hours {line!r}: {text!r} is not a time like 08:00") from None


def _wall(now: float, tz: tzinfo | None) -> datetime:
    """The wall-clock time at epoch second ``now`` (naive)."""
    local = datetime.fromtimestamp(now, tz) if tz is not None else datetime.fromtimestamp(now)
    return local.replace(tzinfo=None)


def _epoch(wall: datetime, tz: tzinfo | None) -> float:
    return (wall.replace(tzinfo=tz) if tz is not None else wall.astimezone()).timestamp()
