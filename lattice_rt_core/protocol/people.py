"""Who counts as a person in presence, and how people and workspaces are named (pure).

Presence lists *entries* (one per client: a tray app joins once per
workspace, a person may run it on two computers), but people read counts as
people. One rule, used by ``lattice-rt presence`` and the tray app (the
``/activity`` page, in JavaScript, follows the same rule and words):

* a person is an account (``user``) under one name: the entry's
  ``display_name``, else its user, else its ``client_id`` (an entry with
  neither is somebody nobody can tell apart from anyone else). The same user
  under two display names is two people: every program on a computer uses its
  owner token, so a display name is what tells them apart there;
* an entry without a workspace is listed under :data:`NO_WORKSPACE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "NO_WORKSPACE",
    "count_people",
    "people_online",
    "person_key",
    "person_name",
    "plural",
    "presence_summary",
]

#: the one name, in every program, of "this entry belongs to no workspace"
NO_WORKSPACE = "No workspace"


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


def presence_summary(entries: Iterable[Mapping[str, Any]]) -> str:
    """``"3 people online in 2 workspaces"``, ``"1 person online"``, ``"Nobody is online"``.

    Workspaces are the named ones; entries without one add people, not a workspace.
    """
    listed = [e for e in entries if isinstance(e, Mapping)]
    people = count_people(listed)
    if not people:
        return "Nobody is online"
    spaces = {_text(e, "workspace_id") for e in listed} - {""}
    text = people_online(people)
    return f"{text} in {plural(len(spaces), 'workspace')}" if spaces else text
