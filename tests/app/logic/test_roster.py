"""Who is present on every server: snapshots plus join and leave events, counted as people."""

from __future__ import annotations

from lattice_rt_core.protocol.people import NO_WORKSPACE
from lattice_rt_tray.logic.roster import Roster


def entry(cid, ws="ws_a", user="u", name=None, joined="11:00", seen="11:59"):
    out = {"client_id": cid, "user": user, "workspace_id": ws,
           "joined_at": f"2026-06-01T{joined}:00+00:00", "last_seen": f"2026-06-01T{seen}:50+00:00"}
    if name:
        out["display_name"] = name
    return out


def join(payload):
    return {"area": "presence", "event_type": "join", "payload": payload}


def test_roster_snapshot_and_events():
    roster = Roster("me:")
    roster.replace("", [entry("me:ws_a", user="me", name="Ada"), entry("x", user="grace"),
                        entry("me:ws_b", ws="ws_b", user="me", name="Ada"), {"bad": 1}])
    assert len(roster) == 3 and roster.online_count() == 2
    (only,) = roster.groups()
    assert [g.workspace for g in only.workspaces] == ["ws_a", "ws_b"] and only.people == 2
    ws_a = only.workspaces[0]
    assert [p.name for p in ws_a.people] == ["Ada", "grace"]
    assert ws_a.people[0].is_self and not ws_a.people[1].is_self
    assert roster.apply("", join(entry("y", ws=None)))
    assert roster.groups()[0].workspaces[-1].title == NO_WORKSPACE  # the one without is last
    assert roster.apply("", {"area": "presence", "event_type": "leave",
                             "payload": {"client_id": "x"}})
    assert not roster.apply("", {"area": "presence", "event_type": "leave",
                                 "payload": {"client_id": "x"}})
    assert not roster.apply("", {"area": "workflow", "event_type": "join",
                                 "payload": entry("z")})
    assert not roster.apply("", {"area": "presence", "event_type": "join", "payload": "x"})


def test_one_persons_entries_in_a_workspace_are_one_row_counted_once():
    roster = Roster("me:")
    roster.replace("", [
        entry("ada-laptop", user="ada", name="Ada", joined="09:00", seen="11:58"),
        entry("ada-desk", user="ada", name="Ada", joined="10:00", seen="11:59"),
        entry("ada-b", ws="ws_b", user="ada", name="Ada"),
        entry("owner-1", user="owner", name="Grace"),
        entry("owner-2", user="owner", name="Linus"),  # same token, another name
    ])
    (server,) = roster.groups()
    ws_a = server.workspaces[0]
    assert [(p.name, len(p.entries)) for p in ws_a.people] == [
        ("Ada", 2), ("Grace", 1), ("Linus", 1)]
    ada = ws_a.people[0]
    assert [e.client_id for e in ada.entries] == ["ada-desk", "ada-laptop"]
    assert ada.joined_at.startswith("2026-06-01T09:00") and ada.last_seen.endswith("11:59:50+00:00")
    assert server.people == 3 == roster.online_count()  # Ada in two workspaces counts once


def test_servers_are_grouped_in_display_order_and_counted_apart():
    roster = Roster("me:")
    roster.set_servers({"local": "This computer", "team": "Team", "idle": "Spare"})
    roster.replace("team", [entry("me:ws_a", user="me", name="Ada"),
                            entry("g", user="grace", name="Grace")])
    roster.replace("local", [entry("me:ws_x", ws=None, user="ada", name="Ada")])
    assert roster.apply("team", join(entry("l", ws="ws_b", user="linus", name="Linus")))
    groups = roster.groups()
    assert [(g.server, g.name, g.people) for g in groups] == [
        ("local", "This computer", 1), ("team", "Team", 3), ("idle", "Spare", 0)]
    assert [w.title for w in groups[1].workspaces] == ["ws_a", "ws_b"]
    # you are one person on every server; grace and linus are two more
    assert roster.online_count() == 3
    # the same client id on another server is another entry
    assert not roster.apply("local", {"area": "presence", "event_type": "leave",
                                      "payload": {"client_id": "g"}})
    roster.clear("team")
    assert roster.online_count() == 1 and len(roster) == 1
    roster.set_servers({"team": "Team"})  # the local connection was removed
    assert len(roster) == 0 and [g.name for g in roster.groups()] == ["Team"]


def test_an_unnamed_server_is_listed_after_the_named_ones_under_its_key():
    roster = Roster("")
    roster.set_servers({"a": "A"})
    roster.replace("b", [entry("x")])
    assert [(g.server, g.name) for g in roster.groups()] == [("a", "A"), ("b", "b")]
    assert not roster.entries()[0].is_self  # an empty prefix marks nobody as you


def test_status_events_update_entries_and_people_are_counted_by_status():
    roster = Roster("me:")
    roster.replace("", [entry("me:a", user="me", name="Ada"), entry("g", user="grace"),
                        entry("l", user="linus")])
    status = {**entry("g", user="grace"), "status": "away", "status_text": "Lunch",
              "status_since": "2026-06-01T11:30:00+00:00"}
    assert roster.apply("", {"area": "presence", "event_type": "status", "payload": status})
    (grace,) = [p for p in roster.groups()[0].workspaces[0].people if p.user == "grace"]
    assert (grace.shown.status, grace.shown.status_text) == ("away", "Lunch")
    assert roster.statuses() == {("", "", "self"): ["active"], ("", "grace", "grace"): ["away"],
                                 ("", "linus", "linus"): ["active"]}
    # a status event for an entry the snapshot missed adds it, like a join
    assert roster.apply("", {"area": "presence", "event_type": "status",
                             "payload": {**entry("n", user="nina"), "status": "dnd"}})
    assert roster.online_count() == 4


def leave(cid, ws="ws_a"):
    return {"area": "presence", "event_type": "leave", "workspace_id": ws,
            "payload": {"client_id": cid}}


def test_joins_and_leaves_are_news_per_person_not_per_connection():
    """Seen in a trial: "Grace Hopper left" while her other connection stayed."""
    roster = Roster("me:")
    roster.replace("s", [entry("g-laptop", user="grace", name="Grace Hopper")])
    # her second connection: not news; someone new: news
    assert not roster.apply_event("s", join(entry("g-phone", user="grace",
                                                  name="Grace Hopper"))).news
    assert roster.apply_event("s", join(entry("a-1", user="ada", name="Ada"))).news
    # one of her two connections goes: not news; the last one: news, with her name
    assert not roster.apply_event("s", leave("g-laptop")).news
    last = roster.apply_event("s", leave("g-phone"))
    assert last.news and last.entry is not None and last.entry.name == "Grace Hopper"
    # in another workspace she is another arrival
    assert roster.apply_event("s", join(entry("g-laptop", ws="ws_b", user="grace",
                                              name="Grace Hopper"))).news
    # a re-join of an entry that was there (a later joined_at) is not news; the join of
    # an entry a racing snapshot brought first (the same joined_at) still is
    assert not roster.apply_event("s", join(entry("a-1", user="ada", name="Ada",
                                                  joined="11:30"))).news
    roster.replace("s", [entry("l-1", user="linus", name="Linus")])
    assert roster.apply_event("s", join(entry("l-1", user="linus", name="Linus"))).news
    assert not roster.apply_event("s", leave("unknown")).changed
