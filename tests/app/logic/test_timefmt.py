"""Timestamps as people read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from lattice_rt_tray.logic.timefmt import (
    clock_time,
    day_label,
    event_time,
    full_time,
    local_day,
    relative,
)

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


class FakeClock:
    """A wall clock that moves only when told (the list's words are read off it)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.mark.parametrize(("offset", "words"), [
    (timedelta(seconds=-30), "just now"),  # another computer's clock runs ahead
    (timedelta(0), "just now"),
    (timedelta(seconds=44), "just now"),
    (timedelta(seconds=45), "1 min ago"),
    (timedelta(minutes=2), "2 min ago"),
    (timedelta(minutes=59), "59 min ago"),
    (timedelta(minutes=59, seconds=40), "11:00"),
    (timedelta(hours=3), "09:00"),
    (timedelta(hours=12), "00:00"),
    (timedelta(hours=13), "yesterday 23:00"),
    (timedelta(hours=21, minutes=57), "yesterday 14:03"),
    (timedelta(days=1, hours=21, minutes=57), "Sat 14:03"),
    (timedelta(days=3), "Fri 12:00"),
    (timedelta(days=7), "2026-05-25 12:00"),
])
def test_an_events_time_in_words(offset, words):  # type: ignore[no-untyped-def]
    assert event_time((NOW - offset).isoformat(), NOW) == words


def test_the_words_move_with_the_clock_and_the_zone():
    clock = FakeClock(NOW)
    at = NOW.isoformat()
    assert event_time(at, clock.now) == "just now"
    assert event_time(at, clock.advance(minutes=2)) == "2 min ago"
    assert event_time(at, clock.advance(hours=1)) == "12:00"
    assert event_time(at, clock.advance(hours=13)) == "yesterday 12:00"
    tokyo = timezone(timedelta(hours=9))
    assert event_time(at, clock.now.astimezone(tokyo)) == "yesterday 21:00"  # local times
    assert event_time("not a time", NOW) == "" and event_time(None, NOW) == ""


def test_date_separators_say_today_yesterday_or_the_date():
    today = date(2026, 6, 1)
    assert day_label(today, today) == "Today"
    assert day_label(date(2026, 5, 31), today) == "Yesterday"
    assert day_label(date(2026, 5, 29), today) == "Fri 29 May"
    assert day_label(date(2025, 12, 31), today) == "31 Dec 2025"
    late = "2026-05-31T23:30:00+00:00"
    assert local_day(late, UTC) == date(2026, 5, 31)
    assert local_day(late, timezone(timedelta(hours=2))) == date(2026, 6, 1)
    assert local_day("nope", UTC) is None
