"""Ctrl-C and SIGTERM quit the Qt app cleanly (the qutebrowser crashsignal way).

While Qt's event loop runs, Python gets no chance to run its signal handlers.
So the C-level handler's wake-up byte (``signal.set_wakeup_fd``) is written to
a socket pair whose read end a QSocketNotifier watches: the event loop wakes,
reads the signal numbers, and emits ``interrupted`` on the GUI thread, where
the controller runs the same quit sequence as the Quit menu entry.
"""

from __future__ import annotations

import logging
import signal
import socket
from types import FrameType

from PySide6.QtCore import QObject, QSocketNotifier, Signal, Slot

__all__ = ["SignalHandler"]

log = logging.getLogger(__name__)


class SignalHandler(QObject):
    """Signals:
    interrupted(int): SIGINT or SIGTERM arrived (the signal number).
    """

    interrupted = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._notifier: QSocketNotifier | None = None
        self._previous: dict[int, object] = {}
        self._old_fd: int | None = None
        self.signums = (signal.SIGINT, signal.SIGTERM)

    def activate(self) -> None:
        """Install the handlers (main thread only)."""
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self.on_wakeup)
        self._old_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        for signum in self.signums:
            self._previous[signum] = signal.signal(signum, _ignore)

    def deactivate(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()
        if self._old_fd is not None:
            signal.set_wakeup_fd(self._old_fd)
            self._old_fd = None
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier = None
        self._read.close()
        self._write.close()

    @Slot()
    def on_wakeup(self) -> None:
        try:
            data = self._read.recv(64)
        except BlockingIOError:
            return
        for signum in data:
            if signum in self.signums:
                log.info("got signal %d, quitting", signum)
                self.interrupted.emit(signum)


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing; the wake-up byte does the work."""
