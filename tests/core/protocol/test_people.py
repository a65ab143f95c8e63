"""Who counts as a person, and the words for it (the rule the CLI, the page and the app share)."""

from __future__ import annotations

import pytest

from lattice_rt_core.protocol.people import (
    NO_WORKSPACE,
    count_people,
    people_online,
    people_view,
    person_key,
    person_name,
    plural,
    presence_summary,
    shown_entry,
    status_label,
    status_of,
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
        # online is present and not away: what the tray says, and now the CLI and the page
        ([entry("a", name="Ada"), entry("g", name="Grace"), entry("l", name="Linus"),
          {**entry("b", name="Barbara"), "status": "away"}],
         "3 people online in 1 workspace · 1 away"),
        ([{**entry("a", name="Ada"), "status": "away"}], "0 people online in 1 workspace · 1 away"),
        # one of Ada's entries is away, the other idle: she is not away
        ([{**entry("a1", name="Ada"), "status": "away"},
          {**entry("a2", name="Ada"), "status": "idle"}], "1 person online in 1 workspace"),
    ],
)
def test_presence_summary(entries, text) -> None:  # type: ignore[no-untyped-def]
    assert presence_summary(entries) == text


def test_words() -> None:
    assert NO_WORKSPACE == "No workspace"
    assert plural(1, "event") == "1 event" and plural(0, "event") == "0 events"
    assert plural(2, "person", "people") == "2 people"
    assert people_online(1) == "1 person online"


# The one rule of a person's status, as a table: the tray's roster, the CLI and the page
# (through GET /realtime/presence) all answer from these functions.
STATUS_CASES = [
    # (entries of one person: status, status_since), the status they show
    ([("active", "2026-06-01T10:00:00+00:00"), ("idle", "2026-06-01T11:00:00+00:00")],
     "active"),  # the most present, not the latest change (the page said Idle)
    ([("away", "2026-06-01T10:00:00+00:00"), ("dnd", "2026-06-01T09:00:00+00:00")], "dnd"),
    ([("idle", "2026-06-01T10:00:00+00:00"), ("away", "2026-06-01T11:00:00+00:00")], "idle"),
    ([("away", "")], "away"),
    ([("lunch", "")], "active"),  # a status this server does not know reads as active
    ([(None, "")], "active"),  # an older server says none
]


@pytest.mark.parametrize(("statuses", "shown"), STATUS_CASES)
def test_a_person_shows_their_most_present_status(statuses, shown) -> None:  # type: ignore[no-untyped-def]
    entries = [{**entry(f"c{i}", name="Ada"), "status": st, "status_since": since}
               for i, (st, since) in enumerate(statuses)]
    assert status_of(shown_entry(entries)) == shown
    view = people_view(entries)
    assert [(p["name"], p["status"], p["label"], p["connections"]) for p in view] == [
        ("Ada", shown, status_label(shown), len(entries))]


def test_among_equal_statuses_the_latest_change_shows_its_line() -> None:
    older = {**entry("c1", name="Ada"), "status": "idle", "status_since": "2026-06-01T09:00",
             "status_text": "Reading"}
    newer = {**entry("c2", name="Ada"), "status": "idle", "status_since": "2026-06-01T10:00",
             "status_text": "Lunch"}
    assert shown_entry([older, newer]) is newer
    [ada] = people_view([older, newer])
    assert (ada["status_text"], ada["client_id"], ada["client_ids"]) == ("Lunch", "c2",
                                                                         ["c1", "c2"])


def test_people_view_groups_workspaces_by_name_the_one_without_last() -> None:
    view = people_view([entry("l", ws=None, name="Linus"), entry("g", ws="ws_b", name="Grace"),
                        entry("a", ws="ws_a", name="ada"), entry("b", ws="ws_a", name="Bob"),
                        {**entry("j", ws="ws_a", name="Jo"), "joined_at": "2026-06-01T09:00"}])
    assert [(p["workspace"], p["name"]) for p in view] == [
        ("ws_a", "ada"), ("ws_a", "Bob"), ("ws_a", "Jo"), ("ws_b", "Grace"),
        (NO_WORKSPACE, "Linus")]
    assert view[-1]["workspace_id"] is None and view[2]["joined_at"] == "2026-06-01T09:00"
