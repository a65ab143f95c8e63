"""What the activity list filters by and how its rows' keys and gap rows read (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from lattice_rt_tray.logic.text import plural
from lattice_rt_tray.logic.timefmt import parse_iso

__all__ = ["CANONICAL", "ActivityFilter", "gap_text", "time_key"]

#: the length of ``received_at`` as the bus writes it (``now_iso``): the common case
CANONICAL = len("2026-06-01T12:00:00.000+00:00")


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """Which events the list shows: all of them unless a field is set.

    ``server`` is a connection's key; ``workspace`` and ``area`` match a row's
    workspace label and area exactly; ``search`` is a case-insensitive
    substring of the row's text (the columns shown).
    """

    server: str | None = None
    workspace: str | None = None
    area: str | None = None
    search: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "server", self.server or None)
        object.__setattr__(self, "workspace", self.workspace or None)
        object.__setattr__(self, "area", self.area or None)
        object.__setattr__(self, "search", self.search.strip().lower())

    @property
    def active(self) -> bool:
        return bool(self.server or self.workspace or self.area or self.search)


def time_key(value: object) -> str | None:
    """``received_at`` as a string that sorts by time (UTC, milliseconds), or None."""
    if isinstance(value, str) and len(value) == CANONICAL and value.endswith("+00:00"):
        return value
    parsed = parse_iso(value)
    if parsed is None:
        return None
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds")


def gap_text(body: Mapping[str, Any]) -> str:
    missed = body.get("missed")
    reason = body.get("reason")
    why = {
        "overflow": "this app fell behind the stream",
        "retention": "they are older than the server keeps",
        "lost": "the server's journal lost them",
    }.get(str(reason), str(reason or "unknown reason"))
    span = ""
    if isinstance(body.get("from_seq"), int) and isinstance(body.get("to_seq"), int):
        span = f" (#{body['from_seq']}–#{body['to_seq']})"
    events = plural(missed, "event") if isinstance(missed, int) else "Some events"
    return f"⚠ {events} missed{span}: {why}"
