"""The marks of what has been shown, per server history or event key (pure)."""

from __future__ import annotations

import pytest

from lattice_rt_tray.logic.resume import ServerIdentity
from lattice_rt_tray.logic.shown import MAX_HISTORIES, MAX_KEYS, ShownMarks

ONE = ServerIdentity("srv-1", "e1")
AGAIN = ServerIdentity("srv-1", "e2")  # the same server, its history started again


def ev(seq, when="2026-06-01T10:00:00Z", kind="workflow_run"):
    return {"seq": seq, "timestamp": when, "event_type": kind, "area": "workflow"}


def test_a_numbered_history_is_marked_by_its_highest_seq():
    marks = ShownMarks()
    assert not marks.shown(ONE, ev(1))
    assert marks.mark(ONE, [ev(3), ev(5)]) and not marks.mark(ONE, [ev(4)])
    assert [marks.shown(ONE, ev(n)) for n in (4, 5, 6)] == [True, True, False]
    assert not marks.shown(AGAIN, ev(2))  # another history: its seqs are other events
    assert not marks.shown(ONE, {"area": "x"})  # no seq: never taken for shown


def test_an_unnumbered_server_is_marked_by_each_events_own_key():
    marks = ShownMarks()
    marks.mark(None, [ev(7)])
    assert marks.shown(None, ev(7))
    # the Lattice AI server restarted: seq 7 again, but another event (another time)
    assert not marks.shown(None, ev(7, when="2026-06-02T09:00:00Z"))
    assert not marks.shown(None, ev(6))


def test_bounded_and_round_trip():
    marks = ShownMarks()
    for n in range(MAX_HISTORIES + 3):
        marks.mark(ServerIdentity(f"s{n}", "e"), [ev(n + 1)])
    marks.mark(None, [ev(n) for n in range(MAX_KEYS + 10)])
    again = ShownMarks.from_text(marks.to_text())
    assert again.high(ServerIdentity("s0", "e")) is None  # the oldest history went
    assert again.high(ServerIdentity(f"s{MAX_HISTORIES + 2}", "e")) == MAX_HISTORIES + 3
    assert not again.shown(None, ev(9)) and again.shown(None, ev(MAX_KEYS + 9))
    assert len(marks.to_text()) < 24 * 1024


@pytest.mark.parametrize(("text", "message"), [
    ("{", "not JSON"),
    ("[]", "not marks of version 1"),
    ('{"version": 1, "histories": {}, "keys": []}', "histories and keys must be lists"),
    ('{"version": 1, "histories": [{"server_id": "s"}], "keys": []}',
     "a history is not server_id, epoch and seq"),
    ('{"version": 1, "histories": [], "keys": [1]}', "an event key is not text"),
])
def test_a_damaged_text_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        ShownMarks.from_text(text)
