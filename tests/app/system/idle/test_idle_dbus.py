"""The D-Bus idle source against a private bus daemon and fake desktop services.

A fake ``org.freedesktop.ScreenSaver`` (KDE's shape), a fake GNOME idle
monitor and a fake logind (a manager that hands out this process's session,
whose ``LockedHint`` the test changes, and ``PrepareForSleep``) run on one
private bus, to which the backend's session and system bus addresses point.
The last test drives the whole chain: fake service, backend on the watcher's
thread, status machine, and the tracker's signal on the GUI thread.
"""

from __future__ import annotations

import os
import queue
import select
import time
from collections.abc import Callable, Iterator

import pytest
from jeepney import DBusAddress, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusRouter, open_dbus_connection

from lattice_rt_tray.logic.status_machine import AWAY, StatusMachine, StatusState
from lattice_rt_tray.services.idle_watcher import IdleWatcher
from lattice_rt_tray.services.status_tracker import StatusTracker
from lattice_rt_tray.system.idle.base import Sample
from lattice_rt_tray.system.idle.dbus import SESSION_INTERFACE, DBusBackend
from tests.app.dbus_fakes import (
    MANAGER_IFACE,
    MANAGER_PATH,
    PROPERTIES,
    SAVER_IFACE,
    SAVER_PATH,
    SESSION_PATH,
    WAIT,
    FakeLogind,
    FakeMutter,
    FakeScreenSaver,
    private_bus,
)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


class Reports:
    """The backend's Report: what it said, in order, from whichever thread."""

    def __init__(self) -> None:
        self.said: queue.Queue[tuple[str, bool]] = queue.Queue()

    def locked(self, on: bool) -> None:
        self.said.put(("locked", on))

    def sleeping(self, on: bool) -> None:
        self.said.put(("sleeping", on))

    def next(self) -> tuple[str, bool]:
        return self.said.get(timeout=WAIT)


@pytest.fixture
def bus() -> Iterator[str]:
    with private_bus() as address:
        yield address


@pytest.fixture
def saver(bus: str) -> Iterator[FakeScreenSaver]:
    fake = FakeScreenSaver(bus)
    yield fake
    fake.service.close()


@pytest.fixture
def logind(bus: str) -> Iterator[FakeLogind]:
    fake = FakeLogind(bus)
    yield fake
    fake.service.close()


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def backend(bus: str) -> Iterator[DBusBackend]:
    made = DBusBackend(session_bus=bus, system_bus=bus)
    yield made
    made.close()


def test_screensaver_and_logind_give_idle_time_lock_and_sleep(
    backend: DBusBackend, saver: FakeScreenSaver, logind: FakeLogind, reports: Reports
) -> None:
    assert backend.start(reports) == "ScreenSaver, logind (lock, sleep)"
    saver.idle_ms = 312_500
    assert backend.sample() == Sample(312.5)  # milliseconds, as KDE counts them
    saver.set_active(True)
    assert reports.next() == ("locked", True)
    saver.set_active(False)
    assert reports.next() == ("locked", False)
    logind.set_locked(True)
    assert reports.next() == ("locked", True)
    logind.set_locked(False)
    assert reports.next() == ("locked", False)
    logind.sleep(True)
    assert reports.next() == ("sleeping", True)
    logind.sleep(False)
    assert reports.next() == ("sleeping", False)


def released(read_end: int) -> bool:
    """Whether the inhibitor lock of this pipe was let go (its write end closed)."""
    readable, _, _ = select.select([read_end], [], [], WAIT)
    return bool(readable) and os.read(read_end, 1) == b""


def test_a_sleep_delay_lock_is_held_until_the_app_is_ready_then_taken_again(
    backend: DBusBackend, logind: FakeLogind, reports: Reports
) -> None:
    backend.start(reports)
    what, first = logind.next_inhibitor()
    assert what == ("sleep", "Lattice Realtime Tray", "Tell others you are away before sleeping",
                    "delay")
    assert select.select([first], [], [], 0)[0] == []  # held
    logind.sleep(True)
    assert reports.next() == ("sleeping", True)
    assert select.select([first], [], [], 0)[0] == []  # still held: the app has a say
    backend.sleep_ready()
    assert released(first)
    logind.sleep(False)
    assert reports.next() == ("sleeping", False)
    _, second = logind.next_inhibitor()  # for the next sleep
    backend.close()
    assert released(second)
    for fd in (first, second):
        os.close(fd)


def test_either_lock_is_locked_and_only_a_change_is_reported(
    backend: DBusBackend, saver: FakeScreenSaver, logind: FakeLogind, reports: Reports
) -> None:
    backend.start(reports)
    logind.set_locked(True)
    assert reports.next() == ("locked", True)
    # the two services speak on two connections, whose signals may overtake each
    # other: wait until the backend took in each one before the next
    saver.set_active(True)  # still locked: nothing new
    wait_for(lambda: backend._saver_on, "the ScreenSaver signal")
    logind.set_locked(False)  # the screensaver still runs: still locked
    wait_for(lambda: not backend._hint_locked, "the LockedHint signal")
    saver.set_active(False)
    assert reports.next() == ("locked", False)
    logind.sleep(True)
    assert reports.next() == ("sleeping", True)  # nothing came in between


def test_mutters_idle_monitor_comes_first(
    bus: str, backend: DBusBackend, saver: FakeScreenSaver, reports: Reports
) -> None:
    mutter = FakeMutter(bus)
    try:
        mutter.idle_ms, saver.idle_ms = 61_000, 5_000
        assert backend.start(reports) == "Mutter idle monitor, ScreenSaver"
        assert backend.sample() == Sample(61.0)
        assert ("/org/gnome/Mutter/IdleMonitor/Core", "org.gnome.Mutter.IdleMonitor",
                "GetIdletime") == mutter.service.calls.get(timeout=WAIT)
    finally:
        mutter.service.close()


def test_a_session_locked_at_start_is_reported_at_once(bus: str, reports: Reports) -> None:
    logind = FakeLogind(bus, locked=True)
    backend = DBusBackend(session_bus=bus, system_bus=bus)
    try:
        assert backend.start(reports) == "logind (lock, sleep)"
        assert reports.next() == ("locked", True)
        assert backend.sample() == Sample(None)  # nobody on the bus tells idle time
    finally:
        backend.close()
        logind.service.close()


def test_outside_a_logind_session_only_sleep_is_followed(bus: str, reports: Reports) -> None:
    logind = FakeLogind(bus, has_session=False)
    backend = DBusBackend(session_bus=bus, system_bus=bus)
    try:
        assert backend.start(reports) == "logind (sleep)"
        logind.sleep(True)
        assert reports.next() == ("sleeping", True)
    finally:
        backend.close()
        logind.service.close()


def test_signals_from_anyone_but_the_services_owner_are_ignored(
    bus: str, backend: DBusBackend, saver: FakeScreenSaver, logind: FakeLogind, reports: Reports
) -> None:
    backend.start(reports)
    conn = open_dbus_connection(bus)
    router = DBusRouter(conn)
    try:
        for path, iface, member, sig, body in (
            (SAVER_PATH, SAVER_IFACE, "ActiveChanged", "b", (True,)),
            (MANAGER_PATH, MANAGER_IFACE, "PrepareForSleep", "b", (True,)),
            (SESSION_PATH, PROPERTIES, "PropertiesChanged", "sa{sv}as",
             (SESSION_INTERFACE, {"LockedHint": ("b", True)}, [])),
        ):
            router.send(new_signal(DBusAddress(path, interface=iface), member, sig, body))
        router.send_and_get_reply(message_bus.GetId(), timeout=WAIT)  # the bus routed them
        logind.sleep(False)  # the genuine one is the first thing reported
        assert reports.next() == ("sleeping", False)
    finally:
        router.close()
        conn.close()


def test_without_idle_services_the_fallback_tells_idle_time(
    bus: str, logind: FakeLogind, reports: Reports
) -> None:
    class X11Like:
        name = "x11"
        poll_every = None
        closed = False

        def start(self, report: object) -> str:
            return "X11 screensaver extension on :9"

        def sample(self) -> Sample:
            return Sample(42.0, locked=False)

        def close(self) -> None:
            self.closed = True

    fallback = X11Like()
    backend = DBusBackend(session_bus=bus, system_bus=bus, fallback=fallback)
    assert backend.start(reports) == "logind (lock, sleep), X11 screensaver extension on :9"
    assert backend.sample() == Sample(42.0, locked=False)
    backend.close()
    assert fallback.closed


def test_without_any_bus_it_says_so_and_cannot_tell(reports: Reports) -> None:
    backend = DBusBackend(session_bus="unix:path=/nonexistent/bus",
                          system_bus="unix:path=/nonexistent/system")
    assert backend.start(reports) == "nothing (no session or system bus)"
    assert backend.sample() == Sample(None)
    backend.close()


def test_a_locked_screen_reaches_the_tracker_on_the_gui_thread(
    qtbot, bus: str, saver: FakeScreenSaver, logind: FakeLogind
) -> None:
    now = [1000.0]
    watcher = IdleWatcher(DBusBackend(session_bus=bus, system_bus=bus))
    tracker = StatusTracker(StatusMachine(clock=lambda: now[0]), watcher, clock=lambda: now[0])
    try:
        saver.idle_ms = 1_000
        with qtbot.waitSignal(watcher.sampled, timeout=int(WAIT * 1000)):
            tracker.start()  # started -> the first sample
        assert tracker.found == "ScreenSaver, logind (lock, sleep)"
        assert tracker.next_check_ms() == 299_000  # the next look: when the input is 5 min old
        with qtbot.waitSignal(tracker.changed, timeout=int(WAIT * 1000)) as blocker:
            logind.set_locked(True)
        assert blocker.args == [StatusState(AWAY, None)]
        assert tracker.next_check_ms() is None  # locked: waits for the unlock
    finally:
        tracker.close()
