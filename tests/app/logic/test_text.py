"""Counted words: one helper for every plural the app writes."""

from __future__ import annotations

import pytest

from lattice_rt_tray.logic.text import people_online, plural


@pytest.mark.parametrize(
    ("count", "words", "text"),
    [
        (0, ("event",), "0 events"),
        (1, ("event",), "1 event"),
        (2, ("workspace",), "2 workspaces"),
        (1, ("person", "people"), "1 person"),
        (12, ("person", "people"), "12 people"),
    ],
)
def test_plural(count, words, text):
    assert plural(count, *words) == text


def test_people_online():
    assert people_online(1) == "1 person online"
    assert people_online(3) == "3 people online"
