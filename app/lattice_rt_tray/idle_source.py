"""Idle time, screen lock and sleep from the desktop, behind one small interface.

A backend is plain Python (no Qt) and may block: ``idle_dbus`` (Linux: the
ScreenSaver and Mutter idle monitor on the session bus, logind on the system
bus), ``idle_x11`` (the X11 screensaver extension, where a Linux session has
neither), ``idle_windows`` and ``idle_macos``. :class:`IdleWatcher` runs one
on a worker thread of its own (every call of the backend happens there, so
Xlib and D-Bus replies never hold up the GUI thread) and hands what it reports
to the GUI thread as signals. :func:`choose_backend` picks the platform's.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal

__all__ = ["IdleBackend", "IdleWatcher", "Report", "Sample", "choose_backend"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at the desktop."""

    #: seconds since the last keyboard or mouse input; None: this desktop cannot tell
    idle: float | None
    #: whether the screen is locked, from a backend that can only ask (None: it reports)
    locked: bool | None = None


class Report(Protocol):
    """What a backend tells as it happens (from any of its threads)."""

    def locked(self, on: bool) -> None: ...

    def sleeping(self, on: bool) -> None: ...


class IdleBackend(Protocol):
    name: str
    #: seconds between samples even while the user is active (a backend that can
    #: only ask whether the screen is locked), or None
    poll_every: float | None

    def start(self, report: Report) -> str:
        """Connect and begin reporting; returns what was found (one line for the log)."""
        ...

    def sample(self) -> Sample: ...

    def sleep_ready(self) -> None:
        """Reported ``sleeping(True)`` and the app is done: the machine may sleep now."""
        ...

    def close(self) -> None: ...


class IdleWatcher(QObject):
    """Runs ``backend`` on a worker thread; every signal arrives on the GUI thread.

    Signals:
        started(str): the backend is running; what it found.
        sampled(object): a :class:`Sample`, answering :meth:`request`.
        locked(bool): the screen was locked (True) or unlocked.
        sleeping(bool): the machine goes to sleep (True) or woke up.
    """

    started = Signal(str)
    sampled = Signal(object)
    locked = Signal(bool)
    sleeping = Signal(bool)
    # from the worker and the backend's threads; queued to the GUI thread
    _started = Signal(str)
    _sampled = Signal(object)
    _locked = Signal(bool)
    _sleeping = Signal(bool)

    def __init__(self, backend: IdleBackend, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self._jobs: queue.Queue[str | None] = queue.Queue()
        self._asked = threading.Event()  # a sample is asked for and not taken yet
        self._thread: threading.Thread | None = None
        queued = Qt.ConnectionType.QueuedConnection
        self._started.connect(self.started, queued)
        self._sampled.connect(self.sampled, queued)
        self._locked.connect(self.locked, queued)
        self._sleeping.connect(self.sleeping, queued)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._work, name="idle-watcher", daemon=True)
        self._thread.start()
        self._jobs.put("start")

    def request(self) -> None:
        """Ask for a :class:`Sample` (one at a time: asking again before the answer
        adds no question; the answer on its way is the one)."""
        if self._thread is not None and not self._asked.is_set():
            self._asked.set()
            self._jobs.put("sample")

    def sleep_ready(self) -> None:
        """The app has said what it had to before sleep (see IdleBackend.sleep_ready)."""
        if self._thread is not None:
            self._jobs.put("sleep_ready")

    def close(self, timeout: float = 2.0) -> None:
        """Stop the backend on its thread; waits at most ``timeout`` seconds."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._jobs.put(None)
        thread.join(timeout)

    # -------------------------------------------------------------- worker
    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    self.backend.close()
                    return
                if job == "start":
                    self._started.emit(self.backend.start(_Reporter(self)))
                elif job == "sleep_ready":
                    self.backend.sleep_ready()
                else:
                    sample = self.backend.sample()
                    self._asked.clear()  # asked meanwhile: this answer is fresh enough
                    self._sampled.emit(sample)
            except Exception as exc:  # noqa: BLE001 - a desktop that fails must not stop the app
                log.warning("%s idle source: %s failed: %s", self.backend.name, job, exc)
                if job == "start":
                    self._started.emit(f"{self.backend.name}: not available ({exc})")
                elif job == "sample":
                    self._asked.clear()
                    self._sampled.emit(Sample(None))


class _Reporter:
    """The backend's :class:`Report`: queued signals to the GUI thread."""

    def __init__(self, watcher: IdleWatcher) -> None:
        self._watcher = watcher

    def locked(self, on: bool) -> None:
        self._watcher._locked.emit(on)

    def sleeping(self, on: bool) -> None:
        self._watcher._sleeping.emit(on)


def choose_backend(
    platform: str = sys.platform, env: Mapping[str, str] = os.environ
) -> IdleBackend:
    """The backend of this platform (modules are imported only where they run)."""
    if platform == "win32":
        from lattice_rt_tray.idle_windows import WindowsBackend

        return WindowsBackend()
    if platform == "darwin":
        from lattice_rt_tray.idle_macos import MacBackend

        return MacBackend()
    from lattice_rt_tray.idle_dbus import DBusBackend
    from lattice_rt_tray.idle_x11 import X11Backend

    display = env.get("DISPLAY")
    return DBusBackend(fallback=X11Backend(display) if display else None)
