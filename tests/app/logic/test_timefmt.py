"""Timestamps as people read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from lattice_rt_tray.logic.timefmt import clock_time, full_time, relative

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_relative_and_clock_time():
    assert relative("2026-06-01T11:59:30+00:00", NOW) == "just now"
    assert relative("2026-06-01T11:55:00Z", NOW) == "5 min ago"
    assert relative((NOW - timedelta(hours=3)).isoformat(), NOW) == "3 h ago"
    assert relative((NOW - timedelta(days=1)).isoformat(), NOW) == "1 day ago"
    assert relative((NOW - timedelta(days=4)).isoformat(), NOW) == "4 days ago"
    assert relative("garbage", NOW) == "unknown"
    assert clock_time("2026-06-01T10:15:30.123+00:00", NOW) == "10:15:30"
    assert clock_time("2026-05-30T10:15:30", NOW) == "Sat 10:15"
    assert clock_time("2025-01-01T00:00:00", NOW) == "2025-01-01 00:00"
    assert clock_time(None, NOW) == ""


def test_full_time_is_in_the_zone_of_now():
    plus2 = NOW.astimezone(timezone(timedelta(hours=2)))
    assert full_time("2026-06-01T10:15:30.123+00:00", plus2) == "2026-06-01 12:15:30.123 UTC+02:00"
    assert full_time("2026-06-01T10:15:30Z", NOW) == "2026-06-01 10:15:30.000 UTC"
    assert full_time("nope", NOW) == ""
