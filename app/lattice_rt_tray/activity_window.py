"""The Activity window: the live event list with filters, search and status.

It shows the models it is given and emits intents; it never calls the
network. Copying an event as JSON is local (the clipboard).
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from .actions import AppActions
from .activity_model import ActivityFilter, ActivityModel

__all__ = ["ActivityWindow"]

ALL = "All"


class ActivityWindow(QMainWindow):
    """Signals:
    shown(): the window became visible (unread activity counts as read).
    close_requested(): the window was closed while it is the main window.
    """

    shown = Signal()
    close_requested = Signal()

    def __init__(
        self,
        model: ActivityModel,
        actions: AppActions,
        *,
        main_window: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("activity-window")
        self.setWindowTitle("Lattice Realtime — Activity")
        self.resize(880, 520)
        self.model = model
        self.main_window = main_window
        self.proxy = ActivityFilter(self)
        self.proxy.setSourceModel(model)

        self.menuBar().addMenu(actions.build_menu(self, title="&Lattice"))

        self.workspace_box = QComboBox()
        self.workspace_box.setObjectName("workspace-filter")
        self.workspace_box.setMinimumContentsLength(12)
        self.area_box = QComboBox()
        self.area_box.setObjectName("area-filter")
        self.area_box.setMinimumContentsLength(10)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search events…")
        self.search.setClearButtonEnabled(True)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Workspace"))
        filters.addWidget(self.workspace_box)
        filters.addWidget(QLabel("Area"))
        filters.addWidget(self.area_box)
        filters.addWidget(self.search, 1)

        self.view = QTreeView()
        self.view.setObjectName("activity-view")
        self.view.setModel(self.proxy)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self.on_context_menu)
        header = self.view.header()
        header.setStretchLastSection(True)
        for column, width in enumerate((110, 130, 90, 190)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

        self.copy_action = QAction("Copy event as JSON", self)
        self.copy_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(self.on_copy)
        self.view.addAction(self.copy_action)

        self.connection_label = QLabel("Starting…")
        self.connection_label.setObjectName("connection-status")
        self.count_label = QLabel("")
        self.statusBar().addWidget(self.connection_label, 1)
        self.statusBar().addPermanentWidget(self.count_label)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(body)

        self.on_facets_changed()
        model.facets_changed.connect(self.on_facets_changed)
        model.rowsInserted.connect(self.on_rows_changed)
        model.rowsRemoved.connect(self.on_rows_changed)
        model.modelReset.connect(self.on_rows_changed)
        self.workspace_box.currentTextChanged.connect(self.on_workspace_filter)
        self.area_box.currentTextChanged.connect(self.on_area_filter)
        self.search.textChanged.connect(self.proxy.set_search)
        self.on_rows_changed()

    # -------------------------------------------------------------- status
    def set_connection(self, text: str, connected: bool) -> None:
        label = ("● " if connected else "○ ") + text
        if label != self.connection_label.text():
            self.connection_label.setText(label)
        style = "color: #067647;" if connected else "color: #b42318;"
        if style != self.connection_label.styleSheet():  # restyling is not cheap
            self.connection_label.setStyleSheet(style)

    @Slot()
    def on_rows_changed(self) -> None:
        total = self.model.rowCount()
        text = f"{total} events"
        if self.proxy.active:
            text = f"{self.proxy.rowCount()} of {total} events"
        self.count_label.setText(text)

    # ------------------------------------------------------------- filters
    @Slot()
    def on_facets_changed(self) -> None:
        for box, values in (
            (self.workspace_box, self.model.workspaces()),
            (self.area_box, self.model.areas()),
        ):
            current = box.currentText() or ALL
            box.blockSignals(True)
            box.clear()
            box.addItems([ALL, *values])
            box.setCurrentText(current if current in values else ALL)
            box.blockSignals(False)

    @Slot(str)
    def on_workspace_filter(self, text: str) -> None:
        self.proxy.set_workspace(None if text == ALL else text)
        self.on_rows_changed()

    @Slot(str)
    def on_area_filter(self, text: str) -> None:
        self.proxy.set_area(None if text == ALL else text)
        self.on_rows_changed()

    # ------------------------------------------------------------ selection
    def select_seq(self, seq: int) -> bool:
        """Select and scroll to the event ``seq`` (clearing filters that hide it)."""
        row = self.model.row_for_seq(seq)
        if row is None:
            return False
        source = self.model.index(row, 0)
        index = self.proxy.mapFromSource(source)
        if not index.isValid():
            self.workspace_box.setCurrentText(ALL)
            self.area_box.setCurrentText(ALL)
            self.search.clear()
            index = self.proxy.mapFromSource(source)
        self.view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    def selected_seq(self) -> int | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        event = self.model.event_at(self.proxy.mapToSource(index).row())
        seq = event.get("seq") if event else None
        return seq if isinstance(seq, int) else None

    # ---------------------------------------------------------------- copy
    @Slot(QPoint)
    def on_context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        self.view.setCurrentIndex(index)
        menu = QMenu(self)
        menu.addAction(self.copy_action)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    @Slot()
    def on_copy(self) -> None:
        index: QModelIndex = self.view.currentIndex()
        if not index.isValid():
            return
        text = self.model.event_json(self.proxy.mapToSource(index).row())
        if text is not None:
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage("Event copied as JSON", 3000)

    # -------------------------------------------------------------- window
    def bring_forward(self) -> None:
        self.show()
        self.setWindowState(
            (self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
        )
        self.raise_()
        self.activateWindow()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.shown.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.main_window:
            event.ignore()
            self.close_requested.emit()
            return
        super().closeEvent(event)
