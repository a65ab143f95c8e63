"""IdleWatcher: a backend on a worker thread, its answers and reports on the GUI thread."""

from __future__ import annotations

import threading

import pytest

from lattice_rt_tray.services.idle_watcher import IdleWatcher
from lattice_rt_tray.system.idle.auto import choose_backend
from lattice_rt_tray.system.idle.base import Sample
from lattice_rt_tray.system.idle.dbus import DBusBackend
from lattice_rt_tray.system.idle.x11 import X11Backend
from tests.app.idle_fakes import Scripted

WAIT_MS = 10_000


def on_gui_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def test_start_sample_report_and_close_each_in_their_place(qtbot) -> None:
    backend = Scripted()
    watcher = IdleWatcher(backend)
    where: list[tuple[str, bool]] = []
    watcher.started.connect(lambda found: where.append((found, on_gui_thread())))
    watcher.sampled.connect(lambda sample: where.append((repr(sample), on_gui_thread())))
    watcher.locked.connect(lambda on: where.append((f"locked {on}", on_gui_thread())))
    watcher.sleeping.connect(lambda on: where.append((f"sleeping {on}", on_gui_thread())))
    with qtbot.waitSignal(watcher.started, timeout=WAIT_MS):
        watcher.start()
    backend.samples.put(Sample(12.5, locked=False))
    with qtbot.waitSignal(watcher.sampled, timeout=WAIT_MS):
        watcher.request()
    assert backend.report is not None
    with qtbot.waitSignal(watcher.sleeping, timeout=WAIT_MS):
        reporter = threading.Thread(target=lambda: (backend.report.locked(True),  # type: ignore
                                                    backend.report.sleeping(False)))  # type: ignore
        reporter.start()
    assert where == [("a script", True), ("Sample(idle=12.5, locked=False)", True),
                     ("locked True", True), ("sleeping False", True)]
    watcher.close()
    assert backend.closed.is_set()
    assert {t.name for t in backend.threads} == {"idle-watcher"}  # start, sample and close


def test_asking_again_while_a_sample_is_pending_asks_once(qtbot) -> None:
    backend = Scripted()
    watcher = IdleWatcher(backend)
    with qtbot.waitSignal(watcher.started, timeout=WAIT_MS):
        watcher.start()
    answers: list[Sample] = []
    watcher.sampled.connect(answers.append)
    for _ in range(3):
        watcher.request()  # the backend blocks until the test answers
    backend.samples.put(Sample(1.0))
    with qtbot.waitSignal(watcher.sampled, timeout=WAIT_MS):
        pass
    backend.samples.put(Sample(2.0))  # a later question gets its own answer
    with qtbot.waitSignal(watcher.sampled, timeout=WAIT_MS):
        watcher.request()
    assert answers == [Sample(1.0), Sample(2.0)]
    watcher.close()


def test_a_failing_backend_is_logged_and_answers_unknown(qtbot) -> None:
    class Broken(Scripted):
        def start(self, report: object) -> str:
            raise OSError("no display")

        def sample(self) -> Sample:
            raise OSError("the display went away")

    watcher = IdleWatcher(Broken())
    with qtbot.waitSignal(watcher.started, timeout=WAIT_MS) as started:
        watcher.start()
    assert started.args == ["scripted: not available (no display)"]
    with qtbot.waitSignal(watcher.sampled, timeout=WAIT_MS) as sampled:
        watcher.request()
    assert sampled.args == [Sample(None)]
    watcher.close()


def test_before_start_nothing_is_asked_and_close_is_harmless() -> None:
    backend = Scripted()
    watcher = IdleWatcher(backend)
    watcher.request()
    watcher.close()
    assert backend.threads == set() and backend.samples.empty()


@pytest.mark.parametrize(
    ("platform", "env", "name"),
    [
        ("win32", {}, "windows"),
        ("darwin", {}, "macos"),
        ("linux", {"DISPLAY": ":0"}, "dbus"),
        ("linux", {}, "dbus"),
    ],
)
def test_each_platform_gets_its_backend(platform: str, env: dict[str, str], name: str) -> None:
    backend = choose_backend(platform, env)
    assert backend.name == name
    if platform == "linux":  # the X11 extension is the fallback only where there is X
        assert isinstance(backend, DBusBackend)
        assert isinstance(backend._fallback, X11Backend) == ("DISPLAY" in env)
