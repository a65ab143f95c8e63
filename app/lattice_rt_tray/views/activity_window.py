"""The Activity window: every server's events in one list, with filters, details and status.

It shows the models it is given and emits intents; it never calls the
network. Copying an event as JSON is local (the clipboard).

The list is a ``QTableView`` with fixed row heights: when rows arrive it only
moves its header sections and repaints the rows on screen, where a
``QTreeView`` lays out every row (thousands) after each insert. Filters are
applied by the model itself (see :mod:`.activity_model`). With more than one
connection the Server column and the Server filter appear.

Double-click or Enter opens the event in a detail window
(:class:`~.event_detail.EventDetail`) that does not block the list. When the
list is empty it says why: the intro the controller set (first run,
connecting), or that the filters hide every event, with a button that clears
them.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QHideEvent,
    QKeyEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lattice_rt_tray.logic.identity import PRODUCT
from lattice_rt_tray.logic.text import plural
from lattice_rt_tray.views.actions import AppActions
from lattice_rt_tray.views.activity_days import DaySeparators
from lattice_rt_tray.views.activity_delegate import ActivityDelegate
from lattice_rt_tray.views.activity_model import (
    SERVER_COLUMN,
    ActivityFilter,
    ActivityModel,
)
from lattice_rt_tray.views.event_detail import EventDetail
from lattice_rt_tray.views.tones import tone
from lattice_rt_tray.views.windows import ElidedLabel, bring_forward

__all__ = ["ALL", "DEFAULT_INTRO", "LEVELS", "ActivityWindow"]

ALL = "All"
#: what the empty list says until the controller says something else (set_intro)
DEFAULT_INTRO = (
    "No events yet.\n\n"
    "What happens in your Lattice workspaces shows up here as it happens: workflow runs, "
    "graphs indexed, members added, plugins enabled. A notification tells you about each "
    "new one, and a double-click here shows all of it.\n\n"
    "To follow a team server too, add it in Settings."
)
#: level -> (marker, colour) of the status bar's connection line; never colour alone
LEVELS = {"ok": ("●", "ok"), "warning": ("▲", "warning"), "error": ("✖", "failure")}
#: width of each column but the last (which stretches): time, server, workspace, area,
#: event, actor
COLUMN_WIDTHS = (120, 120, 130, 90, 190, 90)
LIST_PAGE, EMPTY_PAGE = 0, 1
#: how often the relative times ("2 min ago") and the day separators are said again
TIMES_MS = 30_000


class ActivityWindow(QMainWindow):
    """Signals:
    shown(): the window became visible (unread activity counts as read).
    close_requested(): the window was closed while it is the main window.
    older_requested(): the list was scrolled to its end (time to load older events).
    """

    shown = Signal()
    close_requested = Signal()
    older_requested = Signal()

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
        self.resize(1000, 520)
        self.model = model
        self.main_window = main_window
        self.intro: str | None = None
        self.detail: EventDetail | None = None

        self.menuBar().addMenu(actions.build_menu(self, title="&Lattice"))
        filters = self._build_filters()
        self.view = self._build_view(model)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self._build_empty_page())

        self.open_action = QAction("Show details", self)
        self.open_action.triggered.connect(self.on_open_current)
        self.view.doubleClicked.connect(self.on_double_click)
        self.view.installEventFilter(self)  # Enter opens the current event
        self.copy_action = QAction("Copy event as JSON", self)
        self.copy_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(self.on_copy)
        self.view.addAction(self.copy_action)

        self.connection_label = ElidedLabel("Starting…")
        self.connection_label.setObjectName("connection-status")
        self.connection_level = "warning"
        self.count_label = QLabel("")
        self.history_label = QLabel("")
        self.history_label.setObjectName("history-note")
        self.statusBar().addPermanentWidget(self.history_label)
        self.statusBar().addPermanentWidget(self.connection_label)
        self.statusBar().addPermanentWidget(self.count_label)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addLayout(filters)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(body)

        self.view.verticalScrollBar().valueChanged.connect(self.on_scrolled)
        self._times = QTimer(self)  # "2 min ago" stays true while the window is open
        self._times.setInterval(TIMES_MS)
        self._times.timeout.connect(self.on_clock)
        model.facets_changed.connect(self.on_facets_changed)
        model.servers_changed.connect(self.on_servers_changed)
        model.stored_changed.connect(self.on_rows_changed)
        model.modelReset.connect(self.on_rows_changed)
        self.server_box.currentIndexChanged.connect(self.on_server_filter)
        self.workspace_box.currentTextChanged.connect(self.on_workspace_filter)
        self.area_box.currentTextChanged.connect(self.on_area_filter)
        self.search.textChanged.connect(self.on_search)
        self.on_facets_changed()
        self.on_servers_changed()
        self.on_rows_changed()

    # --------------------------------------------------------------- parts
    def _build_filters(self) -> QHBoxLayout:
        self.server_label = QLabel("Server")
        self.server_box = QComboBox()
        self.server_box.setObjectName("server-filter")
        self.server_box.setMinimumContentsLength(10)
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
        filters.addWidget(self.server_label)
        filters.addWidget(self.server_box)
        filters.addWidget(QLabel("Workspace"))
        filters.addWidget(self.workspace_box)
        filters.addWidget(QLabel("Area"))
        filters.addWidget(self.area_box)
        filters.addWidget(self.search, 1)
        return filters

    def _build_view(self, model: ActivityModel) -> QTableView:
        view = QTableView()
        view.setObjectName("activity-view")
        view.setModel(model)
        self.delegate = ActivityDelegate(model, view)
        view.setItemDelegate(self.delegate)
        view.setShowGrid(False)
        view.setWordWrap(False)
        view.setTabKeyNavigation(False)  # Tab leaves the list, as in a tree view
        view.setCornerButtonEnabled(False)
        view.setAlternatingRowColors(True)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self.on_context_menu)
        rows = view.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        row_height = view.fontMetrics().height() + 2  # one line, as dense as a tree view
        rows.setMinimumSectionSize(row_height)
        rows.setDefaultSectionSize(row_height)
        self.days = DaySeparators(view, model, row_height)
        self.delegate.separator = self.days.label
        header = view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in enumerate(COLUMN_WIDTHS):
            header.resizeSection(column, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        return view

    def _build_empty_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("empty-state")
        self.empty_text = QLabel()
        self.empty_text.setObjectName("empty-text")
        self.empty_text.setWordWrap(True)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setMaximumWidth(560)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.setObjectName("clear-filters")
        self.clear_button.clicked.connect(self.clear_filters)
        # centred by stretches, not by an alignment flag: a word-wrapped label given one
        # is laid out at its one-line height and its lines are cut off
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.empty_text, 10)
        row.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        return page

    # -------------------------------------------------------------- status
    def set_connection_summary(self, text: str, level: str) -> None:
        """The status bar's line about the connections; it stays until the next call.

        ``level`` is ``"ok"``, ``"warning"`` or ``"error"``: a marker and a colour.
        """
        marker, name = LEVELS.get(level, LEVELS["warning"])
        colour = tone(name, self.palette())
        self.connection_level = level if level in LEVELS else "warning"
        self.connection_label.set_full_text(f"{marker} {text}")
        style = f"color: {colour};"
        if style != self.connection_label.styleSheet():  # restyling is not cheap
            self.connection_label.setStyleSheet(style)

    def set_history_note(self, text: str) -> None:
        """What the status bar says about older events ("Loading older events…")."""
        if text != self.history_label.text():
            self.history_label.setText(text)
        self.history_label.setVisible(bool(text))

    def at_end(self) -> bool:
        """Is the end of the list (its oldest row) in sight?"""
        bar = self.view.verticalScrollBar()
        return bar.value() >= bar.maximum()

    @Slot()
    def on_clock(self) -> None:
        """Time passed: the Time column and the separators ("Today") say it again."""
        self.model.refresh_times()
        self.days.update()
        self.view.viewport().update()

    @Slot(int)
    def on_scrolled(self, value: int) -> None:
        bar = self.view.verticalScrollBar()
        if value >= bar.maximum() > 0:
            self.older_requested.emit()

    def set_intro(self, text: str | None) -> None:
        """What the empty list says (None: :data:`DEFAULT_INTRO`)."""
        self.intro = text
        self._update_empty()

    @Slot()
    def on_rows_changed(self) -> None:
        total = self.model.total()
        text = plural(total, "event")
        if self.model.filter.active:
            text = f"{self.model.rowCount()} of {text}"
        if text != self.count_label.text():
            self.count_label.setText(text)
        self._update_empty()

    def _update_empty(self) -> None:
        shown = self.model.rowCount()
        page = LIST_PAGE if shown else EMPTY_PAGE
        if not shown:
            hidden = self.model.total() > 0
            text = self._no_match_text() if hidden else self.intro or DEFAULT_INTRO
            self.empty_text.setText(text)
            self.clear_button.setVisible(hidden)
        if self.stack.currentIndex() != page:
            self.stack.setCurrentIndex(page)

    def _no_match_text(self) -> str:
        search = self.search.text().strip()
        text = f"No events match “{search}”" if search else "No events match these filters"
        return f"{text}.\n\n{plural(self.model.total(), 'event')} in all."

    # ------------------------------------------------------------- filters
    @Slot()
    def on_servers_changed(self) -> None:
        servers = self.model.servers()
        several = len(servers) > 1
        self.view.setColumnHidden(SERVER_COLUMN, not several)
        self.server_label.setVisible(several)
        self.server_box.setVisible(several)
        current = self.server_box.currentData()
        self.server_box.blockSignals(True)
        self.server_box.clear()
        self.server_box.addItem(ALL, None)
        for key, name in servers.items():
            self.server_box.addItem(name, key)
        at = self.server_box.findData(current) if current in servers else 0
        self.server_box.setCurrentIndex(max(0, at))
        self.server_box.blockSignals(False)
        if self.model.filter.server not in (None, *servers):
            self.on_server_filter(0)

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
        f = self.model.filter
        if f.workspace not in (None, *self.model.workspaces()) or f.area not in (
            None, *self.model.areas()
        ):  # what the filter named is gone: the boxes say All, so must the filter
            self._set_filter(replace(f, workspace=self._chosen(self.workspace_box),
                                     area=self._chosen(self.area_box)))

    @staticmethod
    def _chosen(box: QComboBox) -> str | None:
        return None if box.currentIndex() <= 0 else box.currentText()

    @Slot(int)
    def on_server_filter(self, index: int) -> None:
        key = self.server_box.itemData(index)
        self._set_filter(replace(self.model.filter, server=key if isinstance(key, str) else None))

    @Slot(str)
    def on_workspace_filter(self, text: str) -> None:
        self._set_filter(replace(self.model.filter, workspace=None if text == ALL else text))

    @Slot(str)
    def on_area_filter(self, text: str) -> None:
        self._set_filter(replace(self.model.filter, area=None if text == ALL else text))

    @Slot(str)
    def on_search(self, text: str) -> None:
        self._set_filter(replace(self.model.filter, search=text))

    @Slot()
    def clear_filters(self) -> None:
        for box in (self.server_box, self.workspace_box, self.area_box):
            box.setCurrentIndex(0)
        self.search.clear()

    def _set_filter(self, new: ActivityFilter) -> None:
        """Filter the list; the selected event stays selected (and in sight) if still shown."""
        selected = self.selected_event()
        self.model.set_filter(new)
        row = self.model.row_for_event(*selected) if selected is not None else None
        if row is not None:
            self._select_row(row)

    # ------------------------------------------------------------ selection
    def select_event(self, server: str, seq: int) -> bool:
        """Select and scroll to ``server``'s event ``seq`` (clearing filters that hide it)."""
        if not self.model.has_event(server, seq):
            return False
        row = self.model.row_for_event(server, seq)
        if row is None:
            self.clear_filters()
            row = self.model.row_for_event(server, seq)
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

    def selected_event(self) -> tuple[str, int] | None:
        """(server, seq) of the selected event, if an event is selected."""
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        event = self.model.event_at(index.row())
        server = self.model.server_at(index.row())
        seq = event.get("seq") if event else None
        return (server, seq) if isinstance(seq, int) and server is not None else None

    # ------------------------------------------------------- detail, copy
    @Slot(QModelIndex)
    def on_double_click(self, index: QModelIndex) -> None:
        self.open_detail(index.row())

    @Slot()
    def on_open_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            self.open_detail(index.row())

    def open_detail(self, row: int) -> bool:
        """Show the event of the shown ``row`` in the detail window (not for a gap row)."""
        event = self.model.event_at(row)
        server = self.model.server_at(row)
        if event is None or server is None:
            return False
        if self.detail is None:
            self.detail = EventDetail(self)
        name = self.model.server_name(server) if len(self.model.servers()) > 1 else ""
        self.detail.show_event(event, name)
        return True

    @Slot(QPoint)
    def on_context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        self.view.setCurrentIndex(index)
        menu = QMenu(self)
        if self.model.event_at(index.row()) is not None:
            menu.addAction(self.open_action)
            menu.setDefaultAction(self.open_action)
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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.view
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ):
            self.on_open_current()
            return True
        return super().eventFilter(watched, event)

    # -------------------------------------------------------------- window
    def bring_forward(self) -> None:
        bring_forward(self)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.on_clock()
        self._times.start()
        self.shown.emit()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._times.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.main_window:
            event.ignore()
            self.close_requested.emit()
            return
        super().closeEvent(event)
