"""The Presence window: everyone present, grouped by server (when several), then workspace."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QTreeView, QVBoxLayout, QWidget

from lattice_rt_core.protocol.people import away_count, summary_line
from lattice_rt_tray.logic.identity import PRODUCT
from lattice_rt_tray.logic.text import and_list
from lattice_rt_tray.views.presence_model import PRESENCE_COLUMNS, PresenceModel
from lattice_rt_tray.views.windows import bring_forward

__all__ = ["PresenceWindow"]

REFRESH_MS = 30_000
NOBODY = (
    "Nobody is online yet. People appear here when they join a workspace you can see: "
    "a tray app joins its workspaces as soon as it connects."
)
MIN_NAME_WIDTH = 220
STATUS_COLUMN = PRESENCE_COLUMNS.index("Status")


class PresenceWindow(QMainWindow):
    """Signals:
    refresh_requested(): while visible, every 30 s: time to re-read presence
        (``last seen`` only changes on the server) and re-render "… ago".
    """

    refresh_requested = Signal()

    def __init__(self, model: PresenceModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presence-window")
        self.setWindowTitle(f"{PRODUCT} — Presence")
        self.resize(760, 420)
        self.model = model
        self.view = QTreeView()
        self.view.setObjectName("presence-view")
        self.view.setModel(model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        self.view.header().resizeSection(0, MIN_NAME_WIDTH)
        self.summary = QLabel("")
        self.summary.setObjectName("presence-summary")
        self.summary.setWordWrap(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(body)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh_requested)
        model.rebuilt.connect(self.on_rebuilt)
        self.on_rebuilt()

    @Slot()
    def on_rebuilt(self) -> None:
        self.view.expandAll()
        self.view.setCurrentIndex(self.model.index(-1, -1))
        self.view.resizeColumnToContents(0)
        if self.view.columnWidth(0) < MIN_NAME_WIDTH:
            self.view.setColumnWidth(0, MIN_NAME_WIDTH)
        self.view.resizeColumnToContents(STATUS_COLUMN)  # "Idle for 12 min · Lunch" in full
        self.summary.setText(self.summary_text())

    def summary_text(self) -> str:
        """``"3 people online in 2 workspaces on 2 servers · 1 away"``, or what to expect
        (online: present and not away, as the tray's tooltip counts)."""
        statuses = self.model.roster.statuses()
        offline = [s.name for s in self.model.servers if s.offline]
        gone = f"{and_list(offline)} offline" if offline else ""
        if not statuses:
            return f"Nobody is online · {gone}" if gone else NOBODY
        reachable = [s for s in self.model.servers if not s.offline]
        servers = len(reachable) if len(self.model.servers) > 1 else 0
        text = summary_line(len(statuses), away_count(statuses),
                            workspaces=self.model.workspace_count(), servers=servers)
        return f"{text} · {gone}" if gone else text

    def bring_forward(self) -> None:
        bring_forward(self)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()
        self.refresh_requested.emit()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._timer.stop()
