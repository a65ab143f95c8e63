from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lattice_rt_tray.roster import Roster
from lattice_rt_tray.timefmt import clock_time, relative

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


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


def test_relative_and_clock_time():
    assert relative("2026-06-01T11:59:30+00:00", NOW) == "just now"
    assert relative("2026-06-01T11:55:00Z", NOW) == "5 min ago"
    assert relative((NOW - timedelta(hours=3)).isoformat(), NOW) == "3 h ago"
    assert relative((NOW - timedelta(days=1)).isoformat(), NOW) == "1 day ago"
    assert relative("garbage", NOW) == "unknown"
    assert clock_time("2026-06-01T10:15:30.123+00:00", NOW) == "10:15:30"
    assert clock_time("2026-05-30T10:15:30", NOW) == "Sat 10:15"
    assert clock_time("2025-01-01T00:00:00", NOW) == "2025-01-01 00:00"
    assert clock_time(None, NOW) == ""
