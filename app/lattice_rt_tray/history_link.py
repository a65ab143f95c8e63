"""History's part of the wiring: what each server keeps, into the Activity window.

When a connection has caught up the first time (or after its history started
over), :class:`HistoryLink` reads that server's feed back a page at a time
(:class:`~lattice_rt_tray.logic.history.HistoryPages` decides which page; the
connection reads it on a request thread) and stores each page in the activity
model, where an event the stream delivered too stays one row. Scrolling the
list to its end asks for one page more of every server that has one. Pages go
to the model only: they are history, so they pop no notification, count as no
unread and change no presence. The status bar's note about older events is
said once the window is built (reading goes on without it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from lattice_rt_tray.logic.history import HistoryPages, Page
from lattice_rt_tray.services.connections import ConnectionSet
from lattice_rt_tray.views.activity_model import ActivityModel
from lattice_rt_tray.views.lazy_windows import LazyActivity

__all__ = ["HistoryLink"]

log = logging.getLogger(__name__)

LOADING = "Loading older events…"
NO_MORE = "No older events on the server"


class HistoryLink(QObject):
    """Signals:
    settled(str): reading that connection's history stopped (enough read, nothing
        older, or a failure) until the next scroll to the end.
    """

    settled = Signal(str)

    def __init__(
        self,
        *,
        pages: HistoryPages,
        connections: ConnectionSet,
        model: ActivityModel,
        window: LazyActivity,
        listed: Callable[[dict[str, Any]], bool] = lambda event: True,
        parent: QObject | None = None,
    ) -> None:
        """``listed``: whether an event belongs in the list (the app's own comings and
        goings do not)."""
        super().__init__(parent)
        self._listed = listed
        self.pages = pages
        self.connections = connections
        self.model = model
        self.window = window
        self.closed = False

    @Slot(str, object)
    def on_caught_up(self, key: str, _seq: object = None) -> None:
        self._read(self.pages.start(key))

    @Slot(str)
    def forget(self, key: str) -> None:
        """Another history behind the connection, or it was removed."""
        self.pages.forget(key)
        self._note()

    @Slot()
    def on_older_requested(self) -> None:
        """The list was scrolled to its end: a page more of each server that has one."""
        if self.model.total() >= self.model.capacity:
            self.window.get().set_history_note(
                f"The list holds its {self.model.capacity:,} newest events")
            return
        for connection in list(self.connections):
            self._read(self.pages.older(connection.key))
        self._note()

    def close(self) -> None:
        self.closed = True

    def on_window_built(self) -> None:
        """The Activity window exists now: its note about older events."""
        self._note()

    def _read(self, page: Page | None) -> None:
        if page is None or self.closed:
            return
        connection = self.connections.get(page.server)

        def done(events: list[dict[str, Any]], older: int | None) -> None:
            if self.closed or not self.pages.current(page):
                return  # quitting, or another history by now: this page is not of it
            self.model.add_history([e for e in events if self._listed(e)], server=page.server)
            following = self.pages.read(page, len(events), older)
            self._read(following)
            if following is None:
                self.settled.emit(page.server)
            self._note()

        def failed(message: str) -> None:
            log.info("%s: history: %s", page.server, message)
            self.pages.failed(page)
            self.settled.emit(page.server)
            self._note()

        if connection is None or not connection.read_history(page.before, done, failed):
            self.pages.failed(page)
            self.settled.emit(page.server)
        self._note()

    def _note(self) -> None:
        window = self.window.window
        if window is None:
            return
        if self.pages.busy():
            window.set_history_note(LOADING)
        elif window.at_end() and not self.pages.more() and self.model.total():
            window.set_history_note(NO_MORE)
        else:
            window.set_history_note("")
