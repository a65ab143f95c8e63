"""Recurring quiet hours (pure): days, crossing midnight, summer time, the stored line."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from lattice_rt_tray.logic.quiet_hours import WEEKDAYS, QuietHours

TZ = timezone(timedelta(hours=2))
EVENINGS = QuietHours(WEEKDAYS, time(19, 0), time(8, 0))  # weekdays 19:00–08:00


def at(day: int, hour: int, minute: int = 0, tz=TZ) -> float:
    """Epoch second of 2026-06-<day> hour:minute (1 June 2026 is a Monday)."""
    return datetime(2026, 6, day, hour, minute, tzinfo=tz).timestamp()


def test_weekday_evenings_cross_midnight():
    quiet = [(d, h) for d in range(1, 9) for h in range(24) if EVENINGS.active(at(d, h), TZ)]
    # Monday 19:00 to Tuesday 08:00 ... Friday 19:00 to Saturday 08:00; not the weekend
    assert (1, 18) not in quiet and (1, 19) in quiet and (2, 7) in quiet
    assert (2, 8) not in quiet
    assert (6, 7) in quiet and (6, 19) not in quiet  # Saturday morning, after Friday
    assert (7, 19) not in quiet and (8, 7) not in quiet  # Sunday evening starts nothing
    assert not EVENINGS.active(at(1, 8, 0) - 1, TZ)  # Monday early: Sunday started nothing
    assert EVENINGS.active(at(2, 7, 59), TZ) and not EVENINGS.active(at(2, 8), TZ)


def test_a_period_within_one_day():
    lunch = QuietHours(frozenset({2}), time(12, 0), time(13, 30))  # Wednesdays
    assert lunch.active(at(3, 12, 0), TZ) and lunch.active(at(3, 13, 29), TZ)
    assert not lunch.active(at(3, 13, 30), TZ) and not lunch.active(at(4, 12, 30), TZ)


def test_next_change_is_the_next_start_or_end():
    assert EVENINGS.next_change(at(1, 10), TZ) == at(1, 19)  # Monday: tonight
    assert EVENINGS.next_change(at(1, 23), TZ) == at(2, 8)  # in it: its end
    assert EVENINGS.next_change(at(6, 9), TZ) == at(8, 19)  # Saturday: Monday evening
    never = QuietHours(frozenset(), time(19, 0), time(8, 0))
    assert never.next_change(at(1, 10), TZ) is None and not never.active(at(1, 20), TZ)


def test_wall_clock_times_across_summer_time():
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone data here")
    nights = QuietHours(frozenset(range(7)), time(22, 0), time(7, 0))
    # the night summer time ends (25 October 2026, 03:00 -> 02:00): it still ends at 07:00
    start = datetime(2026, 10, 24, 22, 0, tzinfo=berlin).timestamp()
    end = datetime(2026, 10, 25, 7, 0, tzinfo=berlin).timestamp()
    assert nights.next_change(start - 60, berlin) == start
    assert nights.next_change(start, berlin) == end and end - start == 10 * 3600
    assert nights.active(end - 1, berlin) and not nights.active(end, berlin)


def test_a_wall_time_the_clock_skips_is_never_a_change_in_the_past():
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone data here")
    # 25 October 2026: 03:00 becomes 02:00 again; at 02:20 of the second pass, the end at
    # 02:30 of the first pass is past: the change to look at is never in the past
    nights = QuietHours(frozenset(range(7)), time(22, 0), time(2, 30))
    now = datetime(2026, 10, 25, 2, 20, fold=1, tzinfo=berlin).timestamp()
    assert nights.active(now, berlin)
    change = nights.next_change(now, berlin)
    assert change is not None and change > now


def test_the_stored_line_and_what_is_wrong_with_others():
    assert QuietHours.parse(EVENINGS.to_setting()) == EVENINGS
    assert EVENINGS.to_setting() == "mon,tue,wed,thu,fri 19:00-08:00"
    assert QuietHours.parse("weekdays 19:00-08:00") == EVENINGS
    assert QuietHours.parse(["mon", "tue", "wed", "thu", "fri 19:00-08:00"]) == EVENINGS
    assert QuietHours.parse("") is None and QuietHours.parse(None) is None
    assert EVENINGS.describe() == "weekdays 19:00–08:00"
    assert QuietHours(frozenset({5, 6}), time(0), time(9)).describe() == "weekends 00:00–09:00"
    for line, message in [
        ("19:00-08:00", "expected days and times"),
        ("mon,funday 19:00-08:00", "unknown day 'funday'"),
        ("mon 19:00-25:00", "'25:00' is not a time like 08:00"),
        ("mon 08:00-08:00", "they start and end at the same time"),
    ]:
        with pytest.raises(ValueError, match=message):
            QuietHours.parse(line)
