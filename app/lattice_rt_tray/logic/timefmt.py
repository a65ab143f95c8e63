"""Timestamps as people read them (pure; ``now`` is passed in)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from lattice_rt_tray.logic.text import plural

__all__ = ["clock_time", "day_label", "event_time", "full_time", "local_day", "parse_iso",
           "relative"]


def parse_iso(text: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (naive ones are taken as UTC)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def clock_time(text: object, now: datetime) -> str:
    """``14:05:09`` today, ``Mon 14:05`` this week, else ``2026-06-01 14:05``."""
    value = parse_iso(text)
    if value is None:
        return ""
    local = value.astimezone(now.tzinfo)
    if local.date() == now.date():
        return local.strftime("%H:%M:%S")
    if 0 < (now.date() - local.date()).days < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def relative(text: object, now: datetime) -> str:
    """``just now``, ``5 min ago``, ``2 h ago``, ``3 days ago``."""
    value = parse_iso(text)
    if value is None:
        return "unknown"
    seconds = (now - value).total_seconds()
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return f"{hours} h ago"
    days = round(seconds / 86400)
    return f"{plural(days, 'day')} ago"


def full_time(text: object, now: datetime) -> str:
    """``2026-06-01 14:05:09.120 CEST``: the whole timestamp in ``now``'s time zone."""
    value = parse_iso(text)
    if value is None:
        return ""
    local = value.astimezone(now.tzinfo)
    return f"{local:%Y-%m-%d %H:%M:%S}.{local.microsecond // 1000:03d} {local:%Z}".rstrip()


def event_time(text: object, now: datetime) -> str:
    """When an event happened, as the activity list says it: ``just now``, ``12 min ago``
    (within the hour), ``14:03`` (today), ``yesterday 14:03``, ``Mon 14:03`` (this week),
    else ``2026-06-01 14:03``; in ``now``'s time zone. A time ahead of ``now`` (another
    computer's clock) is ``just now``."""
    value = parse_iso(text)
    if value is None:
        return ""
    seconds = (now - value).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600 - 30:
        return f"{max(1, round(seconds / 60))} min ago"
    local = value.astimezone(now.tzinfo)
    days = (now.date() - local.date()).days
    if days == 0:
        return local.strftime("%H:%M")
    if days == 1:
        return local.strftime("yesterday %H:%M")
    if 1 < days < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def local_day(text: object, zone: tzinfo | None) -> date | None:
    """The calendar day of a timestamp in ``zone`` (None: not a time)."""
    value = parse_iso(text)
    return None if value is None else value.astimezone(zone).date()


def day_label(day: date, today: date) -> str:
    """A date separator's words: ``Today``, ``Yesterday``, ``Mon 1 Jun`` (this year),
    else ``1 Jun 2025`` (short: they fit the Time column)."""
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day.year == today.year:
        return f"{day:%a} {day.day} {day:%b}"
    return f"{day.day} {day:%b %Y}"
