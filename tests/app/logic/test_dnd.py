from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lattice_rt_tray.logic.dnd import DndMode, DoNotDisturb, menu_labels, until_text

TZ = timezone(timedelta(hours=2))
NOW = datetime(2026, 6, 1, 22, 30, tzinfo=TZ)


def test_modes():
    t = NOW.timestamp()
    assert not DoNotDisturb.start(DndMode.OFF, NOW).active(t)
    hour = DoNotDisturb.start(DndMode.HOUR, NOW)
    assert hour.active(t + 3599) and not hour.active(t + 3600)
    assert hour.mode(t) is DndMode.HOUR
    tomorrow = DoNotDisturb.start(DndMode.TOMORROW, NOW)
    end = datetime(2026, 6, 2, 8, 0, tzinfo=TZ).timestamp()
    assert tomorrow.until == end and tomorrow.mode(t) is DndMode.TOMORROW
    on = DoNotDisturb.start(DndMode.ON, NOW)
    assert on.active(t + 10**9) and on.mode(t) is DndMode.ON
    assert hour.mode(t + 4000) is DndMode.OFF


def test_setting_round_trip_and_garbage():
    for dnd in (DoNotDisturb(), DoNotDisturb(forever=True), DoNotDisturb(until=1234.5)):
        assert DoNotDisturb.from_setting(dnd.to_setting()) == dnd
    for junk in ("nonsense", None, "-5", "nan", ""):
        assert DoNotDisturb.from_setting(junk) == DoNotDisturb()


def test_describe():
    t = NOW.timestamp()
    assert DoNotDisturb().describe(t) == ""
    assert DoNotDisturb(forever=True).describe(t) == "Do not disturb is on"
    assert DoNotDisturb(until=t + 60).describe(t).startswith("Do not disturb until ")


def test_until_text_says_today_tomorrow_or_the_day():
    def at(day: int, hour: int, minute: int = 0) -> float:
        return datetime(2026, 6, day, hour, minute, tzinfo=TZ).timestamp()

    assert until_text(at(1, 23, 5), NOW) == "23:05"
    assert until_text(at(2, 8), NOW) == "08:00 tomorrow"
    assert until_text(at(4, 8), NOW) == "Thu 08:00"
    labels = menu_labels(DoNotDisturb.start(DndMode.TOMORROW, NOW), NOW)
    assert labels[DndMode.TOMORROW] == "Until 08:00 tomorrow"
    assert labels[DndMode.HOUR] == "For 1 hour (until 23:30)"
    assert menu_labels(DoNotDisturb(forever=True), NOW)[DndMode.ON] == "Until turned off"
