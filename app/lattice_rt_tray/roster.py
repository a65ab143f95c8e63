"""Who is present, kept from a snapshot plus presence events (pure).

Entries are the endpoint's presence dicts (``client_id``, ``user``,
``workspace_id``, ``joined_at``, ``last_seen``, optional ``display_name``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Person", "Roster"]


@dataclass(frozen=True, slots=True)
class Person:
    client_id: str
    name: str  # display name, else user, else the client id
    user: str
    workspace: str | None
    joined_at: str
    last_seen: str
    is_self: bool


class Roster:
    def __init__(self, self_prefix: str) -> None:
        self._self_prefix = self_prefix
        self._entries: dict[str, Person] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def replace(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Take a fresh snapshot (``GET /realtime/presence``)."""
        self._entries = {}
        for entry in entries:
            person = self._person(entry)
            if person is not None:
                self._entries[person.client_id] = person

    def apply(self, event: Mapping[str, Any]) -> bool:
        """Apply a ``presence`` join/leave event; True when something changed."""
        if event.get("area") != "presence":
            return False
        payload = event.get("payload")
        if not isinstance(payload, Mapping):
            return False
        kind = event.get("event_type")
        if kind == "join":
            person = self._person(payload)
            if person is None:
                return False
            self._entries[person.client_id] = person
            return True
        if kind == "leave":
            cid = payload.get("client_id")
            return isinstance(cid, str) and self._entries.pop(cid, None) is not None
        return False

    def clear(self) -> None:
        self._entries.clear()

    def people(self) -> list[Person]:
        return sorted(self._entries.values(), key=lambda p: (p.workspace or "", p.name.lower()))

    def by_workspace(self) -> dict[str | None, list[Person]]:
        groups: dict[str | None, list[Person]] = {}
        for person in self.people():
            groups.setdefault(person.workspace, []).append(person)
        return groups

    def online_count(self) -> int:
        """Distinct people (not connections): one per user and display name."""
        return len({(p.user, p.name) for p in self._entries.values()})

    def _person(self, entry: Mapping[str, Any]) -> Person | None:
        cid = entry.get("client_id")
        if not isinstance(cid, str) or not cid:
            return None
        user = entry.get("user")
        user = user if isinstance(user, str) else ""
        display = entry.get("display_name")
        name = display if isinstance(display, str) and display else (user or cid)
        ws = entry.get("workspace_id")
        return Person(
            client_id=cid,
            name=name,
            user=user,
            workspace=ws if isinstance(ws, str) and ws else None,
            joined_at=str(entry.get("joined_at") or ""),
            last_seen=str(entry.get("last_seen") or ""),
            is_self=bool(self._self_prefix) and cid.startswith(self._self_prefix),
        )
