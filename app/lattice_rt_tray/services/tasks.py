"""Blocking work (HTTP requests, server start/stop) off the GUI thread.

:class:`TaskRunner` runs callables on a few daemon threads and delivers each
result or exception back on the GUI thread, through a queued signal, to the
callbacks given with the task. Daemon threads, unlike QThreadPool or
concurrent.futures, never hold up quitting: a request stuck on an unreachable
server is simply abandoned when the app exits.

A runner with ``workers=1`` runs its tasks strictly in order (used for the
endpoint lifecycle: stop the old client, then start the new one).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

__all__ = ["TaskRunner"]

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class TaskRunner(QObject):
    """Signals:
    finished(int, bool, object): task id, ok, result or exception (internal relay).
    """

    finished = Signal(int, bool, object)

    def __init__(self, name: str, workers: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._queue: queue.SimpleQueue[tuple[int, Callable[[], Any]] | None] = queue.SimpleQueue()
        self._callbacks: dict[int, tuple[Done | None, Failed | None]] = {}
        self._next = 0
        self._closed = False
        self._idle = threading.Condition()
        self._busy = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()
        self.finished.connect(self.on_finished, Qt.ConnectionType.QueuedConnection)

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Done | None = None,
        on_error: Failed | None = None,
    ) -> int:
        """Queue ``fn``; ``on_done(result)`` or ``on_error(exc)`` run on the GUI thread."""
        if self._closed:
            raise RuntimeError(f"task runner {self._name} is closed")
        self._next += 1
        self._callbacks[self._next] = (on_done, on_error)
        with self._idle:
            self._busy += 1
        self._queue.put((self._next, fn))
        return self._next

    def close(self) -> None:
        """No new tasks; running ones finish (or are abandoned at exit); results dropped."""
        if self._closed:
            return
        self._closed = True
        self._callbacks.clear()
        for _ in self._threads:
            self._queue.put(None)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no task is queued or running (tests and shutdown only)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            task_id, fn = item
            try:
                result: Any = fn()
                ok = True
            except BaseException as exc:  # noqa: BLE001 - handed to on_error
                result, ok = exc, False
            try:
                if not self._closed:
                    self.finished.emit(task_id, ok, result)
            except RuntimeError:  # the runner was deleted while we worked
                return
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    @Slot(int, bool, object)
    def on_finished(self, task_id: int, ok: bool, result: object) -> None:
        on_done, on_error = self._callbacks.pop(task_id, (None, None))
        if ok:
            if on_done is not None:
                on_done(result)
        elif on_error is not None:
            on_error(result)  # type: ignore[arg-type]
        else:
            log.warning("%s task failed: %s", self._name, result)
