"""The tracker with a scripted backend (on a real watcher) and a fake clock.

The backend's reports reach the tracker on the GUI thread as queued signals,
and the tracker asks for samples when the machine says so. The fake clock
decides every deadline; the test calls ``check()`` where the timer would fire.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from lattice_rt_tray.logic.status_machine import ACTIVE, AWAY, DND, IDLE, StatusMachine, StatusState
from lattice_rt_tray.services.idle_watcher import IdleWatcher
from lattice_rt_tray.services.status_tracker import StatusTracker
from lattice_rt_tray.system.idle.base import Sample
from tests.app.idle_fakes import Scripted
from tests.clock import Clock

WAIT_MS = 10_000


@pytest.fixture
def clock() -> Clock:
    return Clock(100.0)


@pytest.fixture
def backend() -> Scripted:
    return Scripted()


@pytest.fixture
def tracker(qtbot, clock: Clock, backend: Scripted) -> Iterator[StatusTracker]:
    made = StatusTracker(StatusMachine(clock=clock), IdleWatcher(backend), clock=clock)
    backend.samples.put(Sample(0.0))
    with qtbot.waitSignal(made.watcher.sampled, timeout=WAIT_MS):
        made.start()
    yield made
    made.close()


def sample(qtbot, tracker: StatusTracker, backend: Scripted, value: Sample) -> None:
    """Let the timer's check fire now and wait until its sample is taken in."""
    backend.samples.put(value)
    with qtbot.waitSignal(tracker.watcher.sampled, timeout=WAIT_MS):
        tracker.check()


def test_started_then_sampled_then_the_next_look_is_set(tracker: StatusTracker) -> None:
    assert tracker.found == "a script"
    assert tracker.state == StatusState(ACTIVE, None)
    assert tracker.next_check_ms() == 300_000  # when the input is 5 min old


def test_idle_then_away_then_back(
    qtbot, tracker: StatusTracker, backend: Scripted, clock: Clock
) -> None:
    seen: list[StatusState] = []
    tracker.changed.connect(seen.append)
    clock.now += 300
    sample(qtbot, tracker, backend, Sample(300.0))
    assert tracker.state.status == IDLE and tracker.next_check_ms() == 5_000
    clock.now += 600
    sample(qtbot, tracker, backend, Sample(900.0))
    sample(qtbot, tracker, backend, Sample(905.0))  # still away: no signal
    clock.now += 5
    sample(qtbot, tracker, backend, Sample(0.5))
    assert [s.status for s in seen] == [IDLE, AWAY, ACTIVE]


def test_a_lock_report_is_away_on_the_gui_thread(
    qtbot, tracker: StatusTracker, backend: Scripted, clock: Clock
) -> None:
    assert backend.report is not None
    threads: list[bool] = []
    tracker.changed.connect(lambda _: threads.append(
        threading.current_thread() is threading.main_thread()))
    with qtbot.waitSignal(tracker.changed, timeout=WAIT_MS) as locked:
        threading.Thread(target=backend.report.locked, args=(True,)).start()
    assert locked.args == [StatusState(AWAY, None)] and threads == [True]
    assert tracker.next_check_ms() is None
    clock.now += 400
    with qtbot.waitSignal(tracker.changed, timeout=WAIT_MS) as unlocked:
        backend.report.locked(False)
    assert unlocked.args == [StatusState(ACTIVE, None)]
    assert tracker.next_check_ms() == 0  # the input deadline passed while locked: look now
    backend.samples.put(Sample(1.0))  # the password was typed a second ago
    with qtbot.waitSignal(tracker.watcher.sampled, timeout=WAIT_MS):
        pass  # the timer fires by itself
    assert tracker.next_check_ms() == 299_000


def test_a_wake_up_says_resumed_with_the_status_of_a_fresh_sample(
    qtbot, tracker: StatusTracker, backend: Scripted, clock: Clock
) -> None:
    assert backend.report is not None
    changed: list[StatusState] = []
    tracker.changed.connect(changed.append)
    with qtbot.waitSignal(tracker.suspending, timeout=WAIT_MS) as suspending:
        backend.report.sleeping(True)
    assert suspending.args == [StatusState(AWAY, None)]  # to send before the sleep
    tracker.sleep_ready()  # sent: the backend may let the machine sleep
    clock.now += 3 * 3600
    backend.samples.put(Sample(3 * 3600.0))  # nobody touched it while it slept
    with qtbot.waitSignal(tracker.resumed, timeout=WAIT_MS) as resumed:
        backend.report.sleeping(False)
    assert resumed.args == [StatusState(AWAY, None)]
    assert changed == []  # the sleep and the re-join carry it: no change signals
    assert backend.ready.is_set()


def test_woken_up_to_a_locked_screen_resumes_at_once(
    qtbot, tracker: StatusTracker, backend: Scripted
) -> None:
    assert backend.report is not None
    backend.report.sleeping(True)
    backend.report.locked(True)
    with qtbot.waitSignal(tracker.resumed, timeout=WAIT_MS) as resumed:
        backend.report.sleeping(False)
    assert resumed.args == [StatusState(AWAY, None)]


def test_manual_status_text_and_dnd_are_signalled(qtbot, tracker: StatusTracker) -> None:
    seen: list[StatusState] = []
    tracker.changed.connect(seen.append)
    tracker.set_dnd(True)
    tracker.set_text("Focus")
    tracker.set_manual(AWAY)
    tracker.set_manual(AWAY)  # no change, no signal
    tracker.set_manual(None)
    tracker.set_dnd(False)
    assert seen == [StatusState(DND, None), StatusState(DND, "Focus"),
                    StatusState(AWAY, "Focus"), StatusState(DND, "Focus"),
                    StatusState(ACTIVE, "Focus")]


def test_a_backend_that_can_only_ask_is_asked_regularly(qtbot, clock: Clock) -> None:
    polled = Scripted()
    polled.poll_every = 30.0
    polled.samples.put(Sample(None, locked=False))  # cannot tell idle time
    made = StatusTracker(StatusMachine(clock=clock), IdleWatcher(polled), clock=clock)
    try:
        with qtbot.waitSignal(made.watcher.sampled, timeout=WAIT_MS):
            made.start()
        assert made.next_check_ms() == 30_000
        polled.samples.put(Sample(None, locked=True))
        with qtbot.waitSignal(made.changed, timeout=WAIT_MS) as blocker:
            made.check()
        assert blocker.args == [StatusState(AWAY, None)]
    finally:
        made.close()


def test_new_times_take_a_fresh_sample_and_say_the_change(
    qtbot, tracker: StatusTracker, backend: Scripted
) -> None:
    backend.samples.put(Sample(200.0))
    with qtbot.waitSignal(tracker.changed, timeout=WAIT_MS) as changed:
        tracker.set_times(60, 600)  # the last sample (0 s) is still active; the fresh one not
    assert changed.args == [StatusState(IDLE, None)]
    assert tracker.machine.idle_after == 60
