"""Which page of which server's history to read (pure)."""

from __future__ import annotations

from lattice_rt_tray.logic.history import DEFAULT_HISTORY_SIZE, HistoryPages, Page, event_identity


def test_on_start_pages_are_read_until_the_size_or_the_end() -> None:
    pages = HistoryPages(size=450)
    first = pages.start("a")
    assert first == Page("a", None, first.generation) and pages.busy()
    assert pages.start("a") is None  # once per history
    second = pages.read(first, 200, 301)
    assert second is not None and second.before == 301
    third = pages.read(second, 200, 101)
    assert third is not None and third.before == 101
    assert pages.read(third, 200, 1) is None  # 600 read: enough (the size is reached)
    assert not pages.busy() and pages.more()


def test_a_server_with_nothing_older_is_done() -> None:
    pages = HistoryPages()
    assert pages.size == DEFAULT_HISTORY_SIZE == 1000
    first = pages.start("a")
    assert first is not None
    assert pages.read(first, 12, None) is None
    assert not pages.more() and pages.older("a") is None


def test_scrolling_to_the_end_asks_for_one_page_more_of_each_server_that_has_one() -> None:
    pages = HistoryPages(size=200)
    first = pages.start("a")
    assert first is not None
    assert pages.read(first, 200, 801) is None
    more = pages.older("a")
    assert more is not None and more.before == 801
    assert pages.older("a") is None  # already being read
    assert pages.read(more, 200, 601) is None  # one page, then wait for the next scroll
    again = pages.older("a")
    assert again is not None and again.before == 601
    assert pages.older("b") is None  # never started


def test_an_answer_for_a_forgotten_history_is_ignored() -> None:
    pages = HistoryPages()
    old = pages.start("a")
    assert old is not None
    pages.forget("a")  # the server's history started over
    fresh = pages.start("a")
    assert fresh is not None and fresh.generation != old.generation
    assert pages.read(old, 200, 5) is None and not pages.current(old)
    assert pages.busy()  # the fresh reading is still under way
    assert pages.read(fresh, 3, None) is None and not pages.busy()


def test_a_failed_first_page_is_read_again_at_the_next_catch_up() -> None:
    pages = HistoryPages()
    first = pages.start("a")
    assert first is not None
    pages.failed(first)
    assert not pages.busy() and pages.start("a") is not None
    later = HistoryPages(size=100)
    page = later.start("b")
    assert page is not None and later.read(page, 100, 50) is None
    more = later.older("b")
    assert more is not None
    later.failed(more)  # an older page failed: asked for again on the next scroll
    assert later.older("b") == more
    assert HistoryPages(size=0).start("a") is None  # history switched off


def test_an_event_is_known_by_seq_time_and_type() -> None:
    one = {"seq": 7, "timestamp": "2026-06-01T10:00:00+00:00", "event_type": "x"}
    assert event_identity(one) == event_identity(dict(one))
    assert event_identity({**one, "timestamp": "2026-06-02T10:00:00+00:00"}) != \
        event_identity(one)  # the same seq after a restart: another event
    assert event_identity({"event_type": "x"}) is None


def test_the_fast_path_is_the_same_identity_as_the_unnumbered_streams():
    from lattice_rt_core.net.unnumbered import event_key

    for event in (
        {"seq": 3, "received_at": "2026-06-01T10:00:00.000+00:00", "event_type": "x"},
        {"seq": 3, "timestamp": "t1", "received_at": "t2", "event_type": "x"},
        {"seq": 3, "created_at": "t1", "type": "y"},
        {"seq": True, "received_at": "t", "event_type": "x"},
        {"seq": 3, "received_at": 5, "event_type": "x"},
    ):
        assert event_identity(event) == event_key(event)
