"""The Activity window: the live event list with filters, search and status.

It shows the models it is given and emits intents; it never calls the
network. Copying an event as JSON is local (the clipboard).

The list is a ``QTableView`` with fixed row heights: when rows arrive it only
moves its header sections and repaints the rows on screen, where a
``QTreeView`` lays out every row (thousands) after each insert. Filters are
applied by the model itself (see :mod:`.activity_model`).
"""

from __future__ import annotations

from dataclasses import replace

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
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .actions import AppActions
from .activity_delegate import ActivityDelegate
from .activity_model import ActivityFilter, ActivityModel
from .identity import PRODUCT
from .text import plural
from .windows import bring_forward

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
        self.setWindowTitle(f"{PRODUCT} — Activity")
        self.resize(880, 520)
        self.model = model
        self.main_window = main_window

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

        self.view = QTableView()
        self.view.setObjectName("activity-view")
        self.view.setModel(model)
        self.view.setItemDelegate(ActivityDelegate(model, self.view))
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.setTabKeyNavigation(False)  # Tab leaves the list, as in a tree view
        self.view.setCornerButtonEnabled(False)
        self.view.setAlternatingRowColors(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self.on_context_menu)
        rows = self.view.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        row_height = self.view.fontMetrics().height() + 2  # one line, as dense as a tree view
        rows.setMinimumSectionSize(row_height)
        rows.setDefaultSectionSize(row_height)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
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
        self.search.textChanged.connect(self.on_search)
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
        total = self.model.total()
        text = plural(total, "event")
        if self.model.filter.active:
            text = f"{self.model.rowCount()} of {text}"
        if text != self.count_label.text():
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
        self._set_filter(replace(self.model.filter, workspace=None if text == ALL else text))

    @Slot(str)
    def on_area_filter(self, text: str) -> None:
        self._set_filter(replace(self.model.filter, area=None if text == ALL else text))

    @Slot(str)
    def on_search(self, text: str) -> None:
        self._set_filter(replace(self.model.filter, search=text))

    def _set_filter(self, new: ActivityFilter) -> None:
        """Filter the list; the selected event stays selected (and in sight) if still shown."""
        seq = self.selected_seq()
        self.model.set_filter(new)
        row = self.model.row_for_seq(seq) if seq is not None else None
        if row is not None:
            self._select_row(row)

    # ------------------------------------------------------------ selection
    def select_seq(self, seq: int) -> bool:
        """Select and scroll to the event ``seq`` (clearing filters that hide it)."""
        if not self.model.has_seq(seq):
            return False
        row = self.model.row_for_seq(seq)
        if row is None:
            self.workspace_box.setCurrentText(ALL)
            self.area_box.setCurrentText(ALL)
            self.search.clear()
            row = self.model.row_for_seq(seq)
        if row is None:  # pragma: no cover - cleared filters show every stored event
            return False
        self._select_row(row)
        return True

    def _select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def selected_seq(self) -> int | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        event = self.model.event_at(index.row())
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
        text = self.model.event_json(index.row())
        if text is not None:
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage("Event copied as JSON", 3000)

    # -------------------------------------------------------------- window
    def bring_forward(self) -> None:
        bring_forward(self)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.shown.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.main_window:
            event.ignore()
            self.close_requested.emit()
            return
        super().closeEvent(event)
