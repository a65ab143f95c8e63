"""Timestamps as people read them (pure; ``now`` is passed in)."""

from __future__ import annotations

from datetime import UTC, datetime

from lattice_rt_tray.logic.text import plural

__all__ = ["clock_time", "full_time", "parse_iso", "relative"]


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
