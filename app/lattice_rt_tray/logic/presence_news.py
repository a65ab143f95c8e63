"""Presence events as the notifications and the Activity list see them (pure).

People, not connections: a join or leave is news only for a person's first or last
connection in a workspace (:class:`~.roster.PresenceChange`); the app's own comings
and goings are neither news nor rows of the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lattice_rt_tray.logic.levels import NOT_NEWS
from lattice_rt_tray.logic.roster import PresenceChange

__all__ = ["as_news", "listed"]


def as_news(event: dict[str, Any], change: PresenceChange) -> dict[str, Any]:
    """The presence event as the notifications see it: per person, not per connection.

    A join or leave that is not news (another connection of that person is there)
    is marked so the coalescer never shows it; a leave that names only
    a client id (the Lattice AI server's) gets the person's name from the roster.
    """
    if event.get("event_type") not in ("join", "leave") or change.entry is None:
        return event
    payload = event.get("payload")
    fields = dict(payload) if isinstance(payload, dict) else {}
    if not fields.get("display_name") and not fields.get("user") and change.entry.name:
        fields["display_name"] = change.entry.name
    return {**event, "payload": fields, NOT_NEWS: not change.news}


def listed(event: dict[str, Any], is_own: Callable[[dict[str, Any]], bool]) -> bool:
    """Does ``event`` belong in the Activity list? Not the app's own joins and leaves
    (seen in a screenshot: they cluttered it, one per workspace and server, every start)."""
    return not (event.get("area") == "presence"
                and event.get("event_type") in ("join", "leave") and is_own(event))
