"""The Windows idle source with a fake Win32 API (it cannot run here)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from lattice_rt_tray.system.idle.base import Sample
from lattice_rt_tray.system.idle.windows import (
    PBT_APMRESUMEAUTOMATIC,
    PBT_APMRESUMESUSPEND,
    PBT_APMSUSPEND,
    WM_POWERBROADCAST,
    WM_WTSSESSION_CHANGE,
    WTS_SESSION_LOCK,
    WTS_SESSION_UNLOCK,
    WindowsBackend,
)

WAIT = 10.0


class FakeWin32:
    """Tick counters the test sets; a 'window' whose loop runs until stop()."""

    def __init__(self) -> None:
        self.tick = 0
        self.last_input = 0
        self.on_message: Callable[[int, int], None] | None = None
        self.looping = threading.Event()
        self.stopped = threading.Event()
        self.loop_thread: threading.Thread | None = None

    def tick_count(self) -> int:
        return self.tick

    def last_input_tick(self) -> int:
        return self.last_input

    def run_window(self, on_message: Callable[[int, int], None]) -> None:
        self.on_message = on_message
        self.loop_thread = threading.current_thread()
        self.looping.set()
        self.stopped.wait(WAIT)

    def stop(self) -> None:
        self.stopped.set()


class Reports:
    def __init__(self) -> None:
        self.said: list[tuple[str, bool]] = []

    def locked(self, on: bool) -> None:
        self.said.append(("locked", on))

    def sleeping(self, on: bool) -> None:
        self.said.append(("sleeping", on))


@pytest.fixture
def api() -> FakeWin32:
    return FakeWin32()


def test_idle_time_is_the_tick_count_since_the_last_input(api: FakeWin32) -> None:
    backend = WindowsBackend(api)
    assert backend.sample() == Sample(None)  # not started
    backend.start(Reports())
    api.tick, api.last_input = 1_000_000, 700_000
    assert backend.sample() == Sample(300.0)
    api.tick, api.last_input = 5_000, 0xFFFFFFFF - 4_999  # the 49.7-day wrap
    assert backend.sample() == Sample(10.0)
    backend.close()


def test_the_window_runs_on_its_own_thread_and_stops_on_close(api: FakeWin32) -> None:
    backend = WindowsBackend(api)
    found = backend.start(Reports())
    assert "WTS session notifications" in found
    assert api.looping.wait(WAIT)
    assert api.loop_thread is not threading.current_thread()
    backend.close()
    assert api.stopped.is_set()
    assert api.loop_thread is not None and not api.loop_thread.is_alive()


@pytest.mark.parametrize(
    ("msg", "wparam", "said"),
    [
        (WM_WTSSESSION_CHANGE, WTS_SESSION_LOCK, [("locked", True)]),
        (WM_WTSSESSION_CHANGE, WTS_SESSION_UNLOCK, [("locked", False)]),
        (WM_WTSSESSION_CHANGE, 0x5, []),  # WTS_SESSION_LOGON: not ours to follow
        (WM_POWERBROADCAST, PBT_APMSUSPEND, [("sleeping", True)]),
        (WM_POWERBROADCAST, PBT_APMRESUMEAUTOMATIC, [("sleeping", False)]),
        (WM_POWERBROADCAST, PBT_APMRESUMESUSPEND, [("sleeping", False)]),
        (WM_POWERBROADCAST, 0xA, []),  # PBT_APMPOWERSTATUSCHANGE
        (0x0010, 0, []),  # WM_CLOSE
    ],
)
def test_window_messages_become_reports(
    api: FakeWin32, msg: int, wparam: int, said: list[tuple[str, bool]]
) -> None:
    reports = Reports()
    backend = WindowsBackend(api)
    backend.start(reports)
    assert api.looping.wait(WAIT) and api.on_message is not None
    api.on_message(msg, wparam)
    assert reports.said == said
    backend.close()


def test_it_needs_windows_without_a_fake() -> None:
    with pytest.raises(RuntimeError, match="only on Windows"):
        WindowsBackend().start(Reports())
