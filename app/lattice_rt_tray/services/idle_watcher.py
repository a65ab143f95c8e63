"""Runs an idle backend on a worker thread of its own and reports as Qt signals.

Every call of the backend happens on that thread, so Xlib and D-Bus replies
never hold up the GUI thread; what it reports reaches the GUI thread as
queued signals.
"""

from __future__ import annotations

import logging
import queue
import threading

from PySide6.QtCore import QObject, Qt, Signal

from lattice_rt_tray.system.idle.base import IdleBackend, Sample

__all__ = ["IdleWatcher"]

log = logging.getLogger(__name__)


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
