"""TaskRunner: blocking work on daemon threads, results back on the GUI thread."""

from __future__ import annotations

import logging
import threading

import pytest
from PySide6.QtCore import QCoreApplication

from lattice_rt_tray.services.tasks import TaskRunner

WAIT_MS = 10_000


@pytest.fixture
def runner(qapp):
    made: list[TaskRunner] = []

    def make(workers: int = 2) -> TaskRunner:
        made.append(TaskRunner("test", workers=workers))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_a_result_comes_back_on_the_gui_thread(qtbot, runner):
    tasks = runner()
    ran_on: list[threading.Thread] = []
    done_on: list[threading.Thread] = []

    def work() -> int:
        ran_on.append(threading.current_thread())
        return 42

    with qtbot.waitSignal(tasks.finished, timeout=WAIT_MS):
        tasks.run(work, lambda result: done_on.append(threading.current_thread()) or None)
    assert ran_on[0] is not threading.main_thread() and ran_on[0].daemon
    assert ran_on[0].name.startswith("test-")
    assert done_on == [threading.main_thread()]


def test_a_failure_goes_to_on_error_or_the_log(qtbot, runner, caplog):
    tasks = runner()
    errors: list[BaseException] = []
    with qtbot.waitSignal(tasks.finished, timeout=WAIT_MS):
        tasks.run(lambda: 1 / 0, lambda result: pytest.fail("not a result"), errors.append)
    assert isinstance(errors[0], ZeroDivisionError)
    with caplog.at_level(logging.WARNING, logger="lattice_rt_tray.services.tasks"):
        with qtbot.waitSignal(tasks.finished, timeout=WAIT_MS):
            tasks.run(lambda: {}["missing"])
    assert "test task failed" in caplog.text and "missing" in caplog.text


def test_one_worker_runs_tasks_strictly_in_order(qtbot, runner):
    tasks = runner(workers=1)
    first_started, release = threading.Event(), threading.Event()
    started: list[int] = []
    results: list[int] = []

    def job(n: int):
        def work() -> int:
            started.append(n)
            if n == 0:
                first_started.set()
                release.wait(WAIT_MS / 1000)
            return n

        return work

    for n in range(5):
        tasks.run(job(n), results.append)
    assert first_started.wait(WAIT_MS / 1000)
    assert not tasks.wait_idle(0.05)  # the first task holds the only worker ...
    assert started == [0]  # ... so nothing else started
    release.set()
    assert tasks.wait_idle(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: len(results) == 5, timeout=WAIT_MS)
    assert started == results == [0, 1, 2, 3, 4]


def test_several_workers_run_tasks_side_by_side(qtbot, runner):
    tasks = runner(workers=2)
    both = threading.Barrier(2, timeout=WAIT_MS / 1000)  # breaks unless both run at once
    results: list[str] = []

    def job(name: str):
        def work() -> str:
            both.wait()
            return name

        return work

    for name in ("a", "b"):
        tasks.run(job(name), results.append)
    assert tasks.wait_idle(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=WAIT_MS)
    assert sorted(results) == ["a", "b"]


def test_a_closed_runner_takes_no_task_and_drops_late_results(qtbot, runner):
    tasks = runner()
    release = threading.Event()
    late: list[object] = []
    tasks.run(lambda: release.wait(WAIT_MS / 1000), late.append, late.append)
    tasks.close()
    with pytest.raises(RuntimeError, match="task runner test is closed"):
        tasks.run(lambda: None)
    release.set()
    assert tasks.wait_idle(WAIT_MS / 1000)  # the running task finished ...
    QCoreApplication.processEvents()
    assert late == []  # ... and nobody was called back
    tasks.close()  # twice is fine
