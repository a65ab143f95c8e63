"""The user's presence status, kept up to date from the desktop (GUI thread).

:class:`StatusTracker` feeds a :class:`~.status_machine.StatusMachine` with
what an :class:`~.idle_watcher.IdleWatcher` reports, asks it for a fresh idle
sample when the machine says one could change the status (a single-shot
timer, from the machine's clock), and says when the status changed. Before
the machine sleeps it says ``suspending`` (the app tells servers, then calls
:meth:`StatusTracker.sleep_ready`); after a wake-up it says ``resumed`` once
the status is known again, so the app can re-join with the true status before
it does anything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from lattice_rt_tray.logic.status_machine import StatusMachine, StatusState
from lattice_rt_tray.services.idle_watcher import IdleWatcher
from lattice_rt_tray.system.idle.base import Sample

__all__ = ["StatusTracker"]

log = logging.getLogger(__name__)

MAX_WAIT_MS = 24 * 3600 * 1000  # a QTimer interval is an int of milliseconds


class StatusTracker(QObject):
    """Signals:
    changed(object): the new :class:`StatusState`.
    suspending(object): the machine goes to sleep; the :class:`StatusState` (away
        unless chosen otherwise) to send now, then call :meth:`sleep_ready`.
    resumed(object): the machine woke up; the :class:`StatusState` to re-join with.
    """

    changed = Signal(object)
    suspending = Signal(object)
    resumed = Signal(object)

    def __init__(
        self,
        machine: StatusMachine,
        watcher: IdleWatcher,
        *,
        clock: Callable[[], float],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.machine = machine
        self.watcher = watcher
        self.found = ""  # what the idle source found on this desktop
        self._clock = clock
        self._resuming = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.check)
        watcher.started.connect(self.on_started)
        watcher.sampled.connect(self.on_sampled)
        watcher.locked.connect(self.on_locked)
        watcher.sleeping.connect(self.on_sleeping)

    @property
    def state(self) -> StatusState:
        return self.machine.state

    def start(self) -> None:
        self.watcher.start()

    def close(self, timeout: float = 2.0) -> None:
        """Stop asking; the backend is closed on its thread (waited for ``timeout`` s)."""
        self._timer.stop()
        self.watcher.close(timeout)

    def next_check_ms(self) -> int | None:
        """The milliseconds the timer was last set to wait before asking for a sample
        (None: it is not running; the status changes only on a report)."""
        return self._timer.interval() if self._timer.isActive() else None

    # ------------------------------------------------------------ intents
    def set_manual(self, status: str | None) -> None:
        self._apply(self.machine.set_manual(status))

    def set_text(self, text: str | None) -> None:
        self._apply(self.machine.set_text(text))

    def set_dnd(self, on: bool) -> None:
        self._apply(self.machine.dnd(on))

    def set_times(self, idle_after: float, away_after: float) -> None:
        """New idle and away times (seconds), from Settings; a fresh sample follows."""
        self._apply(self.machine.set_times(idle_after, away_after))
        self.watcher.request()

    def sleep_ready(self) -> None:
        """What ``suspending`` asked for is sent (or given up): the machine may sleep."""
        self.watcher.sleep_ready()

    # -------------------------------------------------------------- slots
    @Slot()
    def check(self) -> None:
        """Time to look again: ask the desktop how long the user has been idle."""
        self.watcher.request()

    @Slot(str)
    def on_started(self, found: str) -> None:
        self.found = found
        log.info("presence status from: %s", found)
        self.watcher.request()

    @Slot(object)
    def on_sampled(self, sample: Sample) -> None:
        changed = False
        if sample.locked is not None:
            changed = self.machine.locked(sample.locked) or changed
        if sample.idle is not None:
            changed = self.machine.idle(sample.idle) or changed
        if self._resuming:
            self._resuming = False
            self.resumed.emit(self.machine.state)
            self._arm()
            return
        self._apply(changed)

    @Slot(bool)
    def on_locked(self, on: bool) -> None:
        self._apply(self.machine.locked(on))

    @Slot(bool)
    def on_sleeping(self, on: bool) -> None:
        self.machine.sleeping(on)
        if on:
            self._resuming = False
            self.suspending.emit(self.machine.state)
            self._arm()
            return
        self._resuming = True
        if self.machine.next_check() is None:  # locked: nothing to sample, the status is known
            self._resuming = False
            self.resumed.emit(self.machine.state)
            self._arm()
            return
        self.watcher.request()

    # ---------------------------------------------------------- internals
    def _apply(self, changed: bool) -> None:
        if changed and not self._resuming:
            self.changed.emit(self.machine.state)
        self._arm()

    def _arm(self) -> None:
        now = self._clock()
        due = self.machine.next_check()
        every = self.watcher.backend.poll_every
        if every is not None:
            due = now + every if due is None else min(due, now + every)
        if due is None:
            self._timer.stop()
            return
        self._timer.start(min(MAX_WAIT_MS, max(0, round((due - now) * 1000))))
