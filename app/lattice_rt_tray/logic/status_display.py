"""How a presence status reads in the app: words, colour, for how long, counts (pure).

Presence entries carry ``status`` (``active``, ``idle``, ``away``, ``dnd``;
``active`` when missing, as from an older server), ``status_since`` (when it
last changed, ISO 8601) and an optional ``status_text``. People are counted,
their status chosen and worded by the rule of :mod:`lattice_rt_core.protocol.people`
(``status_of``, ``best_status``, ``count_line``, ``people_line`` are its own,
re-exported here), which ``lattice-rt presence`` and the ``/activity`` page use too.
"""

from __future__ import annotations

from datetime import datetime

from lattice_rt_core.protocol.defaults import DEFAULT_STATUS
from lattice_rt_core.protocol.people import (
    STATUS_LABELS,
    away_count,
    best_status,
    count_line,
    people_line,
    status_of,
)
from lattice_rt_tray.logic.status_machine import ACTIVE, AWAY, DND, IDLE
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

#: the words of each status: the core's, which the CLI and the page use too
LABELS = STATUS_LABELS
#: the dot's colour (the /activity page uses the same ones)
COLOURS = {ACTIVE: "#16a34a", IDLE: "#eab308", AWAY: "#9ca3af", DND: "#dc2626"}


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
