"""How a presence status reads in the app: words, colour, for how long, counts (pure).

Presence entries carry ``status`` (``active``, ``idle``, ``away``, ``dnd``;
``active`` when missing, as from an older server), ``status_since`` (when it
last changed, ISO 8601) and an optional ``status_text``. People are counted
by the rule of :mod:`lattice_rt_core.protocol.people` (see ``Roster.statuses``) and
worded by it (through ``text.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from lattice_rt_core.protocol.defaults import DEFAULT_STATUS, PRESENCE_STATUSES
from lattice_rt_tray.logic.status_machine import ACTIVE, AWAY, DND, IDLE
from lattice_rt_tray.logic.text import people_online
from lattice_rt_tray.logic.timefmt import parse_iso

__all__ = [
    "COLOURS",
    "LABELS",
    "away_count",
    "best_status",
    "colour",
    "count_line",
    "label",
    "people_line",
    "since_text",
    "status_cell",
    "status_line",
    "status_of",
]

LABELS = {ACTIVE: "Active", IDLE: "Idle", AWAY: "Away", DND: "Do not disturb"}
#: the dot's colour (the /activity page uses the same ones)
COLOURS = {ACTIVE: "#16a34a", IDLE: "#eab308", AWAY: "#9ca3af", DND: "#dc2626"}
#: a person with several entries shows the most present of their statuses
_PRESENCE_ORDER = (ACTIVE, DND, IDLE, AWAY)


def status_of(entry: Mapping[str, Any]) -> str:
    """The entry's status; ``active`` for a missing or unknown one."""
    status = entry.get("status")
    return status if isinstance(status, str) and status in PRESENCE_STATUSES else DEFAULT_STATUS


def label(status: str) -> str:
    return LABELS.get(status, LABELS[DEFAULT_STATUS])


def colour(status: str) -> str:
    return COLOURS.get(status, COLOURS[DEFAULT_STATUS])


def status_line(status: str, text: object) -> str:
    """``Away · Lunch``, or just ``Away``."""
    return f"{label(status)} · {text}" if isinstance(text, str) and text else label(status)


def since_text(status: str, since: object, now: datetime) -> str:
    """``idle for 12 min``, ``away for 2 h``; empty for active or an unknown time."""
    started = parse_iso(since)
    if status == ACTIVE or started is None:
        return ""
    seconds = max(0.0, (now - started).total_seconds())
    return f"{label(status).lower()} for {_duration(seconds)}"


def status_cell(status: str, text: object, since: object, now: datetime) -> str:
    """``Idle for 12 min · Lunch``, ``Active``: the Presence window's status column."""
    how = since_text(status, since, now)
    head = how[:1].upper() + how[1:] if how else label(status)
    return f"{head} · {text}" if isinstance(text, str) and text else head


def _duration(seconds: float) -> str:
    if seconds < 60:
        return "less than a minute"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = int(seconds // 3600)
    if hours < 24:
        return f"{hours} h"
    days = int(seconds // 86400)
    return "1 day" if days == 1 else f"{days} days"


def best_status(statuses: Iterable[str]) -> str:
    """The most present of one person's statuses (active, dnd, idle, away)."""
    present = set(statuses)
    return next((s for s in _PRESENCE_ORDER if s in present), DEFAULT_STATUS)


def away_count(people: Mapping[Any, Iterable[str]]) -> int:
    """People (any key) away: every entry of theirs, given by its status, is away."""
    return sum(1 for statuses in people.values() if best_status(statuses) == AWAY)


def people_line(present: int, away: int) -> str:
    """``5 people online · 2 away`` of ``present`` people of whom ``away`` are away.

    Online: everyone present but away (active, idle or in do-not-disturb).
    Nobody away: ``5 people online``.
    """
    online = people_online(present - away)
    return f"{online} · {away} away" if away else online


def count_line(people: Mapping[Any, Iterable[str]]) -> str:
    """:func:`people_line` for people (any key) and the statuses of their entries."""
    return people_line(len(people), away_count(people))
