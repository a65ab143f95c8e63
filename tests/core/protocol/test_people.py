"""Who counts as a person, and the words for it (the rule the CLI, the page and the app share)."""

from __future__ import annotations

import pytest

from lattice_rt_core.protocol.people import (
    NO_WORKSPACE,
    count_people,
    people_online,
    person_key,
    person_name,
    plural,
    presence_summary,
)


def entry(cid: str, user: str = "owner", ws: str | None = "ws_a", name: str | None = None):
    out: dict[str, object] = {"client_id": cid, "user": user, "workspace_id": ws}
    if name is not None:
        out["display_name"] = name
    return out


def test_a_person_is_a_user_under_one_name() -> None:
    ada_laptop = entry("a1", name="Ada")
    ada_desk = entry("a2", ws="ws_b", name="Ada")
    grace = entry("g", name="Grace")  # the same owner token, another name: another person
    assert person_key(ada_laptop) == person_key(ada_desk) == ("owner", "Ada")
    assert person_key(grace) != person_key(ada_laptop)
    assert count_people([ada_laptop, ada_desk, grace]) == 2


def test_names_fall_back_to_the_user_then_the_client_id() -> None:
    assert person_name(entry("c1", user="ada")) == "ada"
    assert person_name(entry("c1", user="", name="")) == "c1"
    anonymous = [entry("c1", user=""), entry("c2", user="")]  # --no-auth, no names
    assert count_people(anonymous) == 2
    assert count_people([{"client_id": 3}, "not an entry"]) == 1  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("entries", "text"),
    [
        ([], "Nobody is online"),
        ([entry("a", name="Ada")], "1 person online in 1 workspace"),
        ([entry("a", ws=None, name="Ada")], "1 person online"),
        ([entry("a", name="Ada"), entry("b", ws="ws_b", name="Ada"),
          entry("g", name="Grace"), entry("l", ws=None, name="Linus")],
         "3 people online in 2 workspaces"),
    ],
)
def test_presence_summary(entries, text) -> None:  # type: ignore[no-untyped-def]
    assert presence_summary(entries) == text


def test_words() -> None:
    assert NO_WORKSPACE == "No workspace"
    assert plural(1, "event") == "1 event" and plural(0, "event") == "0 events"
    assert plural(2, "person", "people") == "2 people"
    assert people_online(1) == "1 person online"
