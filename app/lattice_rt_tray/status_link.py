"""The user's presence status, from the desktop and the menu to every server (GUI thread).

:class:`StatusLink` is the status's part of the composition root's wiring:

- what the :class:`~.status_tracker.StatusTracker` decides (idle time, lock,
  sleep, do-not-disturb, a choice in the menu) goes to every connection
  (:meth:`ConnectionSet.send_status`: a ``POST /realtime/presence/status`` on
  each online one, and every later join says it);
- before the machine sleeps, "away" goes out and the connections hold their
  joins; once awake and the status is known again they re-join with it
  first, then the tracker's sleep inhibitor is released;
- the Status submenu (:class:`~.status_actions.StatusActions`) chooses a
  status by hand or sets the status line, kept in the settings across
  restarts; the idle and away times come from the settings;
- do-not-disturb is read from the tray's status as the controller reports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from lattice_rt_tray.logic.status_machine import StatusState
from lattice_rt_tray.services.connections import ConnectionSet
from lattice_rt_tray.services.settings import GROUP_STATUS, Settings
from lattice_rt_tray.services.status_tracker import StatusTracker
from lattice_rt_tray.views.status_actions import StatusActions, StatusLineDialog
from lattice_rt_tray.views.tray import TrayStatus
from lattice_rt_tray.views.windows import bring_forward

__all__ = ["SLEEP_BUDGET_MS", "StatusLink"]

log = logging.getLogger(__name__)

#: at most this long between "going to sleep" and letting the machine sleep (logind
#: waits for a delay inhibitor 5 s by default)
SLEEP_BUDGET_MS = 3000
#: at the end of quitting, how long the GUI thread waits for the idle backend to close
#: (its thread is a daemon: what is left ends with the process)
CLOSE_WAIT = 0.2


class StatusLink(QObject):
    """Signals:
    sent(object): the :class:`StatusState` handed to every connection (a change).
    rejoined(object): after a wake-up, the :class:`StatusState` every connection
        re-joined with.
    """

    sent = Signal(object)
    rejoined = Signal(object)

    def __init__(
        self,
        *,
        tracker: StatusTracker,
        connections: ConnectionSet,
        actions: StatusActions,
        settings: Settings,
        line_dialog: Callable[[str | None], StatusLineDialog],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.tracker = tracker
        self.connections = connections
        self.actions = actions
        self.settings = settings
        self._line_dialog = line_dialog
        self.dialog: StatusLineDialog | None = None  # open now
        self._closed = False
        self._sleep_pending = False  # told "going to sleep", the inhibitor not released yet
        self._dnd = False
        self._sleep_timer = QTimer(self)
        self._sleep_timer.setSingleShot(True)
        self._sleep_timer.timeout.connect(self._sleep_ready)
        connections.changed.connect(self._show_unshared)

    @property
    def state(self) -> StatusState:
        return self.tracker.state

    def start(self) -> None:
        """The stored choice and line, the times; then the desktop's reports."""
        manual, text = self.settings.status_choice()
        self.tracker.set_manual(manual)
        self.tracker.set_text(text)
        self._show()
        self.connections.send_status(self.tracker.state)  # before any connection joins
        self.tracker.start()

    def close(self) -> None:
        """Quitting is over: no more status; a pending sleep may go ahead."""
        self._sleep_ready()
        self._closed = True
        self.tracker.close(CLOSE_WAIT)

    # --------------------------------------------------------- the tracker
    @Slot(object)
    def on_changed(self, state: StatusState) -> None:
        if self._closed:
            return
        log.info("presence status: %s %s", state.status, state.text or "")
        self.connections.send_status(state)
        self._show()
        self.sent.emit(state)

    @Slot(object)
    def on_suspending(self, state: StatusState) -> None:
        """Tell every server (away, unless chosen otherwise), then let the machine sleep."""
        self._sleep_pending = True
        if self._closed:
            self._sleep_ready()
            return
        self._sleep_timer.start(SLEEP_BUDGET_MS)
        self.connections.send_status(state, self._sleep_ready)
        self.connections.hold_presence()
        self._show()

    @Slot()
    def _sleep_ready(self) -> None:
        """Every server answered, or the budget is spent: the machine may sleep (once)."""
        if self._sleep_pending:
            self._sleep_pending = False
            self._sleep_timer.stop()
            self.tracker.sleep_ready()

    @Slot(object)
    def on_resumed(self, state: StatusState) -> None:
        """Awake, the status known: every connection re-joins with it before anything else."""
        self._sleep_ready()  # (a wake-up before the answers: nothing waits any more)
        if self._closed:
            return
        self.connections.rejoin(state)
        self._show()
        self.rejoined.emit(state)

    # ------------------------------------------------------------ the menu
    @Slot(object)
    def on_manual_requested(self, status: object) -> None:
        self.tracker.set_manual(status if isinstance(status, str) else None)
        self._keep()
        self._show()

    @Slot()
    def on_text_requested(self) -> None:
        if self.dialog is None:
            dialog = self._line_dialog(self.tracker.state.text)
            dialog.chosen.connect(self.on_text_chosen)
            dialog.finished.connect(self._on_dialog_finished)
            self.dialog = dialog
            dialog.open()
        bring_forward(self.dialog)

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None

    @Slot(object)
    def on_text_chosen(self, text: object) -> None:
        self.tracker.set_text(text if isinstance(text, str) else None)
        self._keep()
        self._show()

    @Slot()
    def on_text_cleared(self) -> None:
        self.on_text_chosen(None)

    # ------------------------------------------------- settings and the tray
    @Slot(str)
    def on_settings_changed(self, group: str) -> None:
        if group == GROUP_STATUS:
            values = self.settings.values()
            self.tracker.set_times(values.idle_after, values.away_after)

    @Slot(object)
    def on_tray_status(self, status: TrayStatus) -> None:
        """Do-not-disturb on or off (the controller's status says it, expiry included)."""
        if bool(status.dnd) != self._dnd:  # (the status comes with every event)
            self._dnd = bool(status.dnd)
            self.tracker.set_dnd(self._dnd)

    # ----------------------------------------------------------- internals
    def _keep(self) -> None:
        self.settings.set_status_choice(self.tracker.machine.manual, self.tracker.state.text)

    @Slot(str)
    def _show_unshared(self, _key: str) -> None:
        self.actions.show_unshared([c.settings.name for c in self.connections
                                    if c.online and not c.shares_status])

    def _show(self) -> None:
        self.actions.show_state(self.tracker.state, self.tracker.machine.manual)
