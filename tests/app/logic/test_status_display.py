"""Status words, colours, durations and counts (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lattice_rt_tray.logic.status_display import (
    best_status,
    colour,
    count_line,
    label,
    since_text,
    status_cell,
    status_line,
    status_of,
)

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    ("entry", "status"),
    [({"status": "dnd"}, "dnd"), ({}, "active"), ({"status": "busy"}, "active"),
     ({"status": 3}, "active")],
)
def test_a_missing_or_unknown_status_is_active(entry: dict[str, object], status: str) -> None:
    assert status_of(entry) == status


def test_words_and_colours() -> None:
    assert [label(s) for s in ("active", "idle", "away", "dnd")] == [
        "Active", "Idle", "Away", "Do not disturb"]
    assert len({colour(s) for s in ("active", "idle", "away", "dnd")}) == 4
    assert colour("nonsense") == colour("active")
    assert status_line("away", "Lunch") == "Away · Lunch"
    assert status_line("dnd", None) == status_line("dnd", "") == "Do not disturb"


@pytest.mark.parametrize(
    ("status", "since", "text"),
    [
        ("idle", ago(minutes=12, seconds=30), "idle for 12 min"),
        ("away", ago(hours=2, minutes=59), "away for 2 h"),
        ("dnd", ago(seconds=20), "do not disturb for less than a minute"),
        ("away", ago(days=1, hours=3), "away for 1 day"),
        ("away", ago(days=3), "away for 3 days"),
        ("idle", (NOW + timedelta(seconds=5)).isoformat(), "idle for less than a minute"),
        ("active", ago(hours=5), ""),
        ("away", "", ""),
        ("away", None, ""),
    ],
)
def test_for_how_long(status: str, since: object, text: str) -> None:
    assert since_text(status, since, NOW) == text


def test_a_person_shows_their_most_present_status() -> None:
    assert best_status(["away", "idle"]) == "idle"
    assert best_status(["away", "dnd", "idle"]) == "dnd"
    assert best_status(["away", "active"]) == "active"
    assert best_status(["away"]) == "away"
    assert best_status([]) == "active"


def test_the_tooltip_count() -> None:
    people = {"ann": ["active"], "bob": ["away", "idle"], "cy": ["away"], "di": ["dnd"],
              "ed": ["away", "away"], "fi": ["idle"], "gus": ["active"]}
    assert count_line(people) == "5 people online · 2 away"
    assert count_line({"ann": ["active"]}) == "1 person online"
    assert count_line({"ann": ["away"]}) == "0 people online · 1 away"
    assert count_line({}) == "0 people online"


def test_the_presence_windows_status_cell() -> None:
    assert status_cell("idle", None, ago(minutes=12), NOW) == "Idle for 12 min"
    assert status_cell("away", "Lunch", ago(hours=2), NOW) == "Away for 2 h · Lunch"
    assert status_cell("active", "Back", ago(hours=2), NOW) == "Active · Back"
    assert status_cell("dnd", None, "", NOW) == "Do not disturb"  # when: unknown
