"""A lost connection in a helper thread is one log line; other errors keep their hook."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from lattice_rt_tray.system.thread_errors import quiet_lost_connections


@pytest.fixture
def hooked() -> Iterator[list[BaseException]]:
    seen: list[BaseException] = []
    before = threading.excepthook
    threading.excepthook = lambda args: seen.append(args.exc_value)  # what was there
    quiet_lost_connections()
    try:
        yield seen
    finally:
        threading.excepthook = before


def run(error: BaseException) -> None:
    def fail() -> None:
        raise error

    thread = threading.Thread(target=fail, name="Thread-4 (_receiver)")
    thread.start()
    thread.join()


def test_a_lost_connection_is_one_warning(hooked, caplog) -> None:
    run(ConnectionResetError(104, "Connection reset by peer"))
    assert hooked == []
    [record] = [r for r in caplog.records if r.name.endswith("thread_errors")]
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage() == ("Thread-4 (_receiver) ended: its connection was lost "
                                   "([Errno 104] Connection reset by peer)")


def test_any_other_error_goes_to_the_hook_before(hooked, caplog) -> None:
    error = ValueError("a bug")
    run(error)
    assert hooked == [error]
    assert not [r for r in caplog.records if r.name.endswith("thread_errors")]
