"""Who counts as a person in presence, and how people and workspaces are named (pure).

Presence lists *entries* (one per client: a tray app joins once per
workspace, a person may run it on two computers), but people read counts as
people. One rule, used by ``lattice-rt presence``, the tray app and the
``/activity`` page (whose script shows what ``GET /realtime/presence`` computed
with :func:`people_view` and :func:`presence_summary`, so it holds no copy):

* a person is an account (``user``) under one name: the entry's
  ``display_name``, else its user, else its ``client_id`` (an entry with
  neither is somebody nobody can tell apart from anyone else). The same user
  under two display names is two people: every program on a computer uses its
  owner token, so a display name is what tells them apart there;
* an entry without a workspace is listed under :data:`NO_WORKSPACE`;
* an entry's status is its ``status`` when it is one of the server's
  statuses, else ``active`` (an older server sends none); a person with
  several entries shows the most present of them (active, dnd, idle, away),
  the most recently changed among equals (:func:`shown_entry`);
* *online* means present and not away: "3 people online · 1 away" counts
  four people, one of whom has every entry away (:func:`people_line`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lattice_rt_core.protocol.defaults import DEFAULT_STATUS, PRESENCE_STATUSES

__all__ = [
    "NO_WORKSPACE",
    "STATUS_LABELS",
    "away_count",
    "best_status",
    "count_line",
    "count_people",
    "people_line",
    "people_online",
    "people_statuses",
    "people_view",
    "person_key",
    "person_name",
    "plural",
    "presence_summary",
    "shown_entry",
    "status_label",
    "status_of",
    "summary_line",
]

#: the one name, in every program, of "this entry belongs to no workspace"
NO_WORKSPACE = "No workspace"
#: what each status reads as, in every program
STATUS_LABELS = {"active": "Active", "idle": "Idle", "away": "Away", "dnd": "Do not disturb"}
#: a person with several entries shows the first of these that one of them has
_PRESENCE_ORDER = ("active", "dnd", "idle", "away")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the word in the right number (``plural_form`` defaults to ``-s``)."""
    if count == 1:
        return f"{count} {singular}"
    return f"{count} {plural_form or singular + 's'}"


def people_online(count: int) -> str:
    """``"1 person online"``, ``"3 people online"``."""
    return f"{plural(count, 'person', 'people')} online"


def _text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def person_name(entry: Mapping[str, Any]) -> str:
    """The name people see: display name, else user, else the client id."""
    return _text(entry, "display_name") or _text(entry, "user") or _text(entry, "client_id")


def person_key(entry: Mapping[str, Any]) -> tuple[str, str]:
    """What makes two presence entries the same person: (user, name)."""
    return _text(entry, "user"), person_name(entry)


def count_people(entries: Iterable[Mapping[str, Any]]) -> int:
    """Distinct people among presence entries (see the module docstring)."""
    return len({person_key(e) for e in entries if isinstance(e, Mapping)})


def status_of(entry: Mapping[str, Any]) -> str:
    """The entry's status; ``active`` for a missing or unknown one."""
    status = entry.get("status")
    return status if isinstance(status, str) and status in PRESENCE_STATUSES else DEFAULT_STATUS


def status_label(status: str) -> str:
    """``Active``, ``Idle``, ``Away``, ``Do not disturb`` (an unknown status reads as active)."""
    return STATUS_LABELS.get(status, STATUS_LABELS[DEFAULT_STATUS])


def best_status(statuses: Iterable[str]) -> str:
    """The most present of one person's statuses (active, dnd, idle, away)."""
    present = set(statuses)
    return next((s for s in _PRESENCE_ORDER if s in present), DEFAULT_STATUS)


def shown_entry(entries: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Of one person's entries (at least one), the one whose status they show: the most
    present, the most recently changed (``status_since``) among equals."""
    listed = list(entries)
    status = best_status(status_of(e) for e in listed)
    return max((e for e in listed if status_of(e) == status),
               key=lambda e: _text(e, "status_since"))


def people_statuses(entries: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[str]]:
    """Each person among ``entries`` and the statuses of their entries."""
    people: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        if isinstance(entry, Mapping):
            people.setdefault(person_key(entry), []).append(status_of(entry))
    return people


def away_count(people: Mapping[Any, Iterable[str]]) -> int:
    """People (any key) away: every entry of theirs, given by its status, is away."""
    return sum(1 for statuses in people.values() if best_status(statuses) == "away")


def summary_line(present: int, away: int, *, workspaces: int = 0, servers: int = 0) -> str:
    """``5 people online in 2 workspaces on 2 servers · 2 away`` of ``present`` people
    of whom ``away`` are away (online: everyone present but away); the places only
    when given, the away part only when someone is."""
    text = people_online(present - away)
    if workspaces:
        text += f" in {plural(workspaces, 'workspace')}"
    if servers:
        text += f" on {plural(servers, 'server')}"
    return f"{text} · {away} away" if away else text


def people_line(present: int, away: int) -> str:
    """``5 people online · 2 away`` (the tray's tooltip and menu)."""
    return summary_line(present, away)


def count_line(people: Mapping[Any, Iterable[str]]) -> str:
    """:func:`people_line` for people (any key) and the statuses of their entries."""
    return people_line(len(people), away_count(people))


def presence_summary(entries: Iterable[Mapping[str, Any]]) -> str:
    """``"3 people online in 2 workspaces · 1 away"``, ``"1 person online"``,
    ``"Nobody is online"``: what ``lattice-rt presence``, the page and the Presence
    window say of one server's entries.

    Workspaces are the named ones; entries without one add people, not a workspace.
    """
    listed = [e for e in entries if isinstance(e, Mapping)]
    people = people_statuses(listed)
    if not people:
        return "Nobody is online"
    spaces = {_text(e, "workspace_id") for e in listed} - {""}
    return summary_line(len(people), away_count(people), workspaces=len(spaces))


def people_view(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The people of each workspace as a page shows them: workspaces by name (the one
    without last), people by name, each with the status they show (:func:`shown_entry`)
    in words, how many connections they have there and their earliest join."""
    spaces: dict[str, dict[tuple[str, str], list[Mapping[str, Any]]]] = {}
    for entry in entries:
        if isinstance(entry, Mapping):
            group = spaces.setdefault(_text(entry, "workspace_id"), {})
            group.setdefault(person_key(entry), []).append(entry)
    out: list[dict[str, Any]] = []
    for space in sorted(spaces, key=lambda ws: (ws == "", ws)):
        people = spaces[space]
        for (user, name), listed in sorted(people.items(),
                                           key=lambda item: (item[0][1].lower(), item[0][0])):
            shown = shown_entry(listed)
            status = status_of(shown)
            text = shown.get("status_text")
            joined = sorted(_text(e, "joined_at") for e in listed if _text(e, "joined_at"))
            out.append({
                "workspace_id": space or None,
                "workspace": space or NO_WORKSPACE,
                "name": name,
                "user": user,
                "status": status,
                "label": status_label(status),
                "status_text": text if isinstance(text, str) and text else None,
                "connections": len(listed),
                "joined_at": joined[0] if joined else None,
                "client_id": _text(shown, "client_id"),
                "client_ids": sorted(_text(e, "client_id") for e in listed),
            })
    return out
