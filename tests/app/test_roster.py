"""Who is present: a snapshot plus join and leave events."""

from __future__ import annotations

from lattice_rt_tray.roster import Roster


def entry(cid, ws="ws_a", user="u", name=None):
    out = {"client_id": cid, "user": user, "workspace_id": ws,
           "joined_at": "2026-06-01T11:00:00+00:00", "last_seen": "2026-06-01T11:59:50+00:00"}
    if name:
        out["display_name"] = name
    return out


def test_roster_snapshot_and_events():
    roster = Roster("me:")
    roster.replace([entry("me:ws_a", user="me", name="Ada"), entry("x", user="grace"),
                    entry("me:ws_b", ws="ws_b", user="me", name="Ada"), {"bad": 1}])
    assert len(roster) == 3 and roster.online_count() == 2
    groups = roster.by_workspace()
    assert [p.name for p in groups["ws_a"]] == ["Ada", "grace"]
    assert groups["ws_a"][0].is_self and not groups["ws_a"][1].is_self
    assert roster.apply({"area": "presence", "event_type": "join", "payload": entry("y", ws=None)})
    assert None in roster.by_workspace()
    assert roster.apply({"area": "presence", "event_type": "leave", "payload": {"client_id": "x"}})
    assert not roster.apply({"area": "presence", "event_type": "leave",
                             "payload": {"client_id": "x"}})
    assert not roster.apply({"area": "workflow", "event_type": "join", "payload": entry("z")})
