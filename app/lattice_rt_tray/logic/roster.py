"""Who is present on every followed server, kept from snapshots plus presence events (pure).

Entries are the endpoints' presence dicts (``client_id``, ``user``,
``workspace_id``, ``joined_at``, ``last_seen``, optional ``display_name``,
``status``, ``status_since``, ``status_text``), each kept under the key of the
connection it came from; a ``presence/status`` event carries the whole entry. The views read them
grouped: by server (in the order of :meth:`Roster.set_servers`), then by
workspace, then by person, where a person's entries in one workspace (the
same account and name on two computers) make one row. Counts are people, by
the rule of :mod:`lattice_rt_core.protocol.people`, which ``lattice-rt presence`` and
the ``/activity`` page follow too; across servers, every entry of this app
(``self_prefix``) is one person, you.

A server the app cannot reach (:meth:`Roster.set_offline`) keeps its entries,
as what was last known: its group says it is offline and since when, and
its people are counted nowhere (nobody can tell whether they are still
there) until a fresh snapshot of it arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lattice_rt_core.protocol.defaults import DEFAULT_STATUS
from lattice_rt_core.protocol.people import NO_WORKSPACE, person_key
from lattice_rt_tray.logic.status_display import best_status, status_of

__all__ = ["Entry", "Person", "PresenceChange", "Roster", "ServerGroup", "WorkspaceGroup"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One presence entry (one client in one workspace)."""

    server: str  # the connection's key
    client_id: str
    name: str  # display name, else user, else the client id
    user: str
    workspace: str | None
    joined_at: str
    last_seen: str
    is_self: bool
    status: str = DEFAULT_STATUS
    status_text: str | None = None
    status_since: str = ""


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """What a presence event did: ``changed`` the roster; ``news``: a person arrived in a
    workspace or left it (not one more or one less connection of theirs); ``entry``: the
    entry it was about (a leave that names only a client id gets its person from here)."""

    changed: bool
    news: bool
    entry: Entry | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """One person in one workspace of one server: their entries there."""

    name: str
    user: str
    entries: tuple[Entry, ...]

    @property
    def is_self(self) -> bool:
        return any(e.is_self for e in self.entries)

    @property
    def joined_at(self) -> str:
        """The earliest join (ISO 8601 strings of one server sort by time)."""
        return min(e.joined_at for e in self.entries)

    @property
    def last_seen(self) -> str:
        return max(e.last_seen for e in self.entries)

    @property
    def shown(self) -> Entry:
        """The entry whose status the person shows: the most present one (active,
        dnd, idle, away), the most recently changed among equals."""
        status = best_status(e.status for e in self.entries)
        return max((e for e in self.entries if e.status == status),
                   key=lambda e: e.status_since)


@dataclass(frozen=True, slots=True)
class WorkspaceGroup:
    workspace: str | None
    people: tuple[Person, ...]

    @property
    def title(self) -> str:
        return self.workspace or NO_WORKSPACE


@dataclass(frozen=True, slots=True)
class ServerGroup:
    server: str
    name: str  # the connection's display name
    workspaces: tuple[WorkspaceGroup, ...]
    people: int  # distinct people on this server (one in two workspaces counts once)
    #: when the server became unreachable (ISO 8601; "" while it is reachable)
    offline_since: str = ""

    @property
    def offline(self) -> bool:
        return bool(self.offline_since)


class Roster:
    def __init__(self, self_prefix: str) -> None:
        self._self_prefix = self_prefix
        self._names: dict[str, str] = {}  # server key -> display name, in display order
        self._entries: dict[str, dict[str, Entry]] = {}  # server -> client id -> entry
        self._offline: dict[str, str] = {}  # server -> since when it cannot be reached

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def set_servers(self, names: Mapping[str, str]) -> None:
        """Every followed connection, key -> display name, in display order.

        Entries of a server no longer named are forgotten.
        """
        self._names = dict(names)
        for server in [s for s in self._entries if s not in self._names]:
            del self._entries[server]
            self._offline.pop(server, None)

    def server_name(self, server: str) -> str:
        return self._names.get(server, server)

    def replace(self, server: str, entries: Iterable[Mapping[str, Any]]) -> None:
        """Take a fresh snapshot of ``server`` (``GET /realtime/presence``)."""
        fresh: dict[str, Entry] = {}
        for raw in entries:
            entry = self._entry(server, raw)
            if entry is not None:
                fresh[entry.client_id] = entry
        self._entries[server] = fresh
        self._offline.pop(server, None)  # it answered: reachable again

    def set_offline(self, server: str, since: str) -> bool:
        """``server`` cannot be reached (since ``since``, ISO 8601): its entries stay, as
        last seen, and count as nobody online. False when it had no entries to keep
        or was marked already."""
        if not self._entries.get(server) or server in self._offline:
            return False
        self._offline[server] = since
        return True

    def offline_servers(self) -> list[str]:
        """The servers that cannot be reached (their entries kept as last seen)."""
        return list(self._offline)

    def offline_since(self, server: str) -> str:
        """When ``server`` became unreachable ("" while it is reachable)."""
        return self._offline.get(server, "")

    def apply(self, server: str, event: Mapping[str, Any]) -> bool:
        """Apply a ``presence`` join, status or leave event of ``server``; True when
        something changed."""
        return self.apply_event(server, event).changed

    def apply_event(self, server: str, event: Mapping[str, Any]) -> PresenceChange:
        """Apply a presence event and say what it means for *people*, not connections:
        a join is news only when that person was not already in that workspace (another
        connection of theirs, or from before the app started), a leave only when no
        other connection of theirs stays there."""
        if event.get("area") != "presence":
            return _NOTHING
        payload = event.get("payload")
        if not isinstance(payload, Mapping):
            return _NOTHING
        raw = dict(payload)
        if raw.get("workspace_id") in (None, "") and event.get("workspace_id"):
            raw["workspace_id"] = event.get("workspace_id")
        kind = event.get("event_type")
        known = self._entries.setdefault(server, {})
        if kind in ("join", "status"):
            entry = self._entry(server, raw)
            if entry is None:
                return _NOTHING
            before = known.get(entry.client_id)
            there = self._present(known, entry, besides=entry.client_id)
            known[entry.client_id] = entry
            # Known already: a snapshot taken after this join got here first (the same
            # joined_at: still news), or a re-join of an entry that was there (not news).
            again = before is not None and before.joined_at != entry.joined_at
            return PresenceChange(True, kind == "join" and not again and not there, entry)
        if kind == "leave":
            cid = raw.get("client_id")
            gone = known.pop(cid, None) if isinstance(cid, str) else None
            if gone is None:
                return _NOTHING
            return PresenceChange(True, not self._present(known, gone, besides=gone.client_id),
                                  gone)
        return _NOTHING

    @staticmethod
    def _present(known: Mapping[str, Entry], entry: Entry, *, besides: str) -> bool:
        """Is ``entry``'s person in its workspace through another connection?"""
        return any(e.client_id != besides and (e.user, e.name) == (entry.user, entry.name)
                   and e.workspace == entry.workspace for e in known.values())

    def clear(self, server: str) -> None:
        """Forget ``server``'s entries (switched off, removed, or another history)."""
        self._entries.pop(server, None)
        self._offline.pop(server, None)

    # ------------------------------------------------------------ reading
    def entries(self) -> list[Entry]:
        return [e for s in self._ordered() for e in self._entries.get(s, {}).values()]

    def groups(self) -> list[ServerGroup]:
        """Every server (named ones in display order, even with nobody there), its
        workspaces (by name, the one without last), their people (by name)."""
        return [self._group(server) for server in self._ordered()]

    def _group(self, server: str) -> ServerGroup:
        spaces: dict[str | None, dict[tuple[str, str], list[Entry]]] = {}
        for entry in self._entries.get(server, {}).values():
            people = spaces.setdefault(entry.workspace, {})
            people.setdefault((entry.user, entry.name), []).append(entry)
        workspaces = tuple(
            WorkspaceGroup(ws, _people(spaces[ws]))
            for ws in sorted(spaces, key=lambda ws: (ws is None, ws or ""))
        )
        count = len({key for people in spaces.values() for key in people})
        return ServerGroup(server, self.server_name(server), workspaces, count,
                           self._offline.get(server, ""))

    def online_count(self) -> int:
        """Distinct people on every server: one per account and name on each server, and
        this app's own entries (on any server) as one person."""
        return len(self.statuses())

    def statuses(self) -> dict[tuple[str, str, str], list[str]]:
        """Each person (counted as :meth:`online_count` does) and their entries' statuses;
        the entries of a server that cannot be reached are not counted."""
        people: dict[tuple[str, str, str], list[str]] = {}
        for e in self.entries():
            if e.server in self._offline:
                continue
            key = ("", "", "self") if e.is_self else (e.server, e.user, e.name)
            people.setdefault(key, []).append(e.status)
        return people

    def _ordered(self) -> list[str]:
        return [*self._names, *(s for s in self._entries if s not in self._names)]

    def _entry(self, server: str, raw: Mapping[str, Any]) -> Entry | None:
        cid = raw.get("client_id")
        if not isinstance(cid, str) or not cid:
            return None
        user, name = person_key(raw)
        ws = raw.get("workspace_id")
        return Entry(
            server=server,
            client_id=cid,
            name=name,
            user=user,
            workspace=ws if isinstance(ws, str) and ws else None,
            joined_at=str(raw.get("joined_at") or ""),
            last_seen=str(raw.get("last_seen") or ""),
            is_self=bool(self._self_prefix) and cid.startswith(self._self_prefix),
            status=status_of(raw),
            status_text=text if isinstance(text := raw.get("status_text"), str) and text else None,
            status_since=str(raw.get("status_since") or ""),
        )


_NOTHING = PresenceChange(False, False)


def _people(found: Mapping[tuple[str, str], list[Entry]]) -> tuple[Person, ...]:
    people = (
        Person(name, user, tuple(sorted(entries, key=lambda e: e.client_id)))
        for (user, name), entries in found.items()
    )
    return tuple(sorted(people, key=lambda p: (p.name.lower(), p.user)))
