"""Each event of an unnumbered stream once, in order; a restart and a loss said."""

from __future__ import annotations

from typing import Any

from lattice_rt_core.net.unnumbered import Unnumbered, event_key


def ev(seq: int, when: str = "", kind: str = "workflow_run") -> dict[str, Any]:
    return {"seq": seq, "timestamp": when or f"2026-12-07T10:00:{seq:02d}", "event_type": kind}


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for e in events]


def test_a_newest_first_feed_is_handed_over_oldest_first_and_once() -> None:
    follow = Unnumbered()
    caught = follow.catch_up([ev(3), ev(2), ev(1)], limit=50)
    assert seqs(caught.events) == [1, 2, 3] and caught.newest == 3
    assert not caught.restarted and caught.missed == 0
    # the replay on the stream that follows: all seen
    assert [follow.accept(e) for e in (ev(3), ev(2), ev(1))] == [(False, False)] * 3
    assert follow.accept(ev(4)) == (True, False)
    assert follow.accept(ev(4)) == (False, False)


def test_a_reconnect_hands_over_only_what_came_while_away() -> None:
    follow = Unnumbered()
    follow.catch_up([ev(2), ev(1)], limit=50)
    caught = follow.catch_up([ev(5), ev(4), ev(3), ev(2), ev(1)], limit=50)
    assert seqs(caught.events) == [3, 4, 5] and not caught.restarted


def test_a_restart_is_noticed_from_a_seq_seen_on_another_event() -> None:
    follow = Unnumbered()
    follow.catch_up([ev(7), ev(6)], limit=50)
    caught = follow.catch_up([ev(1, "2026-12-07T11:00:00")], limit=50)
    assert caught.restarted and seqs(caught.events) == [1]
    # the new numbering goes on; the old events' ids are no reason to drop new ones
    assert follow.accept(ev(2, "2026-12-07T11:00:01")) == (True, False)


def test_a_restart_with_an_empty_history_is_noticed_on_the_stream() -> None:
    follow = Unnumbered()
    follow.catch_up([ev(2), ev(1)], limit=50)
    assert follow.catch_up([], limit=50).restarted is False  # nothing to tell yet
    assert follow.accept(ev(1, "2026-12-07T11:00:00")) == (True, True)
    assert follow.accept(ev(2, "2026-12-07T11:00:01")) == (True, False)


def test_a_live_event_below_the_newest_seen_is_a_restart() -> None:
    follow = Unnumbered()
    follow.catch_up([ev(5), ev(4)], limit=50)  # seq 1 to 3 were never seen by this client
    assert follow.accept(ev(1, "2026-12-07T11:00:00")) == (True, True)
    assert follow.accept(ev(6)) == (True, False)  # the new numbering's, not the old one's


def test_a_feed_whose_newest_is_below_everything_seen_is_a_restart() -> None:
    follow = Unnumbered()
    follow.catch_up([ev(9), ev(8)], limit=50)
    caught = follow.catch_up([ev(4, "2026-12-07T11:00:04")], limit=50)
    assert caught.restarted and seqs(caught.events) == [4]


def test_a_full_feed_that_does_not_reach_back_says_what_was_missed() -> None:
    follow = Unnumbered()
    follow.catch_up([ev(1)], limit=3)
    caught = follow.catch_up([ev(10), ev(9), ev(8)], limit=3)
    assert seqs(caught.events) == [8, 9, 10] and caught.missed == 6
    # a feed that is not full holds everything there is: seq gaps are events nobody sees
    follow = Unnumbered()
    follow.catch_up([ev(1)], limit=50)
    assert follow.catch_up([ev(10), ev(8)], limit=50).missed == 0


def test_events_without_a_seq_always_pass_and_memory_is_bounded() -> None:
    follow = Unnumbered(memory=4)
    assert follow.accept({"event_type": "x"}) == (True, False)
    assert event_key({"event_type": "x"}) is None
    for seq in range(1, 10):
        assert follow.accept(ev(seq)) == (True, False)
    assert follow.accept(ev(9)) == (False, False)
    assert follow.accept(ev(1))[0] is True  # forgotten long ago: let through
