"""The activity list: a bounded, newest-first table model and its filter proxy.

Rows are kept oldest-first in a plain list (appending a batch is cheap) and
shown reversed, so row 0 is the newest. Only the raw event is stored; the text
of a cell is computed when a view asks for it (a view asks only for the rows
it shows), and the search text of a row only when a search is typed. A batch
is one ``rowsInserted`` at the top plus, past the bound, one ``rowsRemoved`` at
the bottom, whatever its size.

A ``gap`` (events the server could not deliver) is a row of its own, so the
user sees that something is missing and where.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from .summary import event_summary, event_title, humanize, workspace_label
from .timefmt import clock_time

__all__ = ["COLUMNS", "EVENT_ROLE", "KIND_ROLE", "SEQ_ROLE", "ActivityFilter", "ActivityModel"]

DEFAULT_CAPACITY = 5000
COLUMNS = ("Time", "Workspace", "Area", "Event", "Summary")
EVENT_ROLE = int(Qt.ItemDataRole.UserRole) + 1
SEQ_ROLE = int(Qt.ItemDataRole.UserRole) + 2
KIND_ROLE = int(Qt.ItemDataRole.UserRole) + 3
SEARCH_ROLE = int(Qt.ItemDataRole.UserRole) + 4

_ROW_EVENT = "event"
_ROW_GAP = "gap"

Index = QModelIndex | QPersistentModelIndex


class _Row:
    __slots__ = ("event", "kind", "search")

    def __init__(self, kind: str, event: Mapping[str, Any]) -> None:
        self.kind = kind
        self.event = event
        self.search: str | None = None


class ActivityModel(QAbstractTableModel):
    """Newest-first events, at most ``capacity`` rows.

    Signals:
        facets_changed(): a new workspace or area appeared (for filter menus).
    """

    facets_changed = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ) -> None:
        super().__init__(parent)
        self.capacity = max(1, capacity)
        self._rows: list[_Row] = []  # oldest first
        self._now = now
        self._workspaces: set[str] = set()
        self._areas: set[str] = set()
        self._gap_font = QFont()
        self._gap_font.setItalic(True)
        self._gap_brush = QBrush(QColor("#b54708"))

    # ------------------------------------------------------------- feeding
    def add_events(self, events: Iterable[Mapping[str, Any]]) -> None:
        self._add([_Row(_ROW_EVENT, e) for e in events if isinstance(e, Mapping)])

    def add_gap(self, body: Mapping[str, Any]) -> None:
        self._add([_Row(_ROW_GAP, body)])

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def _add(self, rows: list[_Row]) -> None:
        if not rows:
            return
        if len(rows) > self.capacity:
            rows = rows[-self.capacity :]
        excess = len(self._rows) + len(rows) - self.capacity
        if excess > 0:
            last = len(self._rows) - 1
            self.beginRemoveRows(QModelIndex(), last - excess + 1, last)
            del self._rows[:excess]
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()
        self._note_facets(rows)

    def _note_facets(self, rows: list[_Row]) -> None:
        before = (len(self._workspaces), len(self._areas))
        for row in rows:
            if row.kind == _ROW_EVENT:
                self._workspaces.add(workspace_label(row.event))
                self._areas.add(str(row.event.get("area") or "workspace"))
        if (len(self._workspaces), len(self._areas)) != before:
            self.facets_changed.emit()

    # ------------------------------------------------------------- reading
    def workspaces(self) -> list[str]:
        return sorted(self._workspaces)

    def areas(self) -> list[str]:
        return sorted(self._areas)

    def row_for_seq(self, seq: int) -> int | None:
        for i in range(len(self._rows) - 1, -1, -1):
            row = self._rows[i]
            if row.kind == _ROW_EVENT and row.event.get("seq") == seq:
                return len(self._rows) - 1 - i
        return None

    def event_at(self, row: int) -> Mapping[str, Any] | None:
        if 0 <= row < len(self._rows):
            item = self._rows[len(self._rows) - 1 - row]
            return item.event if item.kind == _ROW_EVENT else None
        return None

    def event_json(self, row: int) -> str | None:
        event = self.event_at(row)
        if event is None:
            return None
        return json.dumps(event, ensure_ascii=False, indent=2, default=str)

    # ---------------------------------------------------- QAbstractItemModel
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        n = len(self._rows)
        r = index.row()
        if not 0 <= r < n:
            return None
        row = self._rows[n - 1 - r]
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.ToolTipRole:
            text = self._text(row, index.column())
            if role == Qt.ItemDataRole.ToolTipRole and index.column() != 4:
                return None
            return text
        if role == EVENT_ROLE:
            return dict(row.event) if row.kind == _ROW_EVENT else None
        if role == SEQ_ROLE:
            seq = row.event.get("seq") if row.kind == _ROW_EVENT else None
            return seq if isinstance(seq, int) else None
        if role == KIND_ROLE:
            return row.kind
        if role == SEARCH_ROLE:
            if row.search is None:
                row.search = " ".join(self._text(row, c) for c in range(len(COLUMNS))).lower()
            return row.search
        if row.kind == _ROW_GAP:
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._gap_brush
            if role == Qt.ItemDataRole.FontRole:
                return self._gap_font
        return None

    def _text(self, row: _Row, column: int) -> str:
        event = row.event
        if row.kind == _ROW_GAP:
            if column == 0:
                return ""
            if column == 4:
                return _gap_text(event)
            return "—" if column in (1, 2) else "events missed"
        if column == 0:
            return clock_time(event.get("received_at"), self._now())
        if column == 1:
            return workspace_label(event)
        if column == 2:
            return humanize(event.get("area") or "workspace")
        if column == 3:
            return event_title(event)
        return event_summary(event)


def _gap_text(body: Mapping[str, Any]) -> str:
    missed = body.get("missed")
    reason = body.get("reason")
    why = {
        "overflow": "this app fell behind the stream",
        "retention": "they are older than the server keeps",
    }.get(str(reason), str(reason or "unknown reason"))
    span = ""
    if isinstance(body.get("from_seq"), int) and isinstance(body.get("to_seq"), int):
        span = f" (#{body['from_seq']}–#{body['to_seq']})"
    count = missed if isinstance(missed, int) else "Some"
    return f"⚠ {count} events missed{span}: {why}"


class ActivityFilter(QSortFilterProxyModel):
    """Filter by workspace, area and a search text; gap rows always stay visible."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workspace: str | None = None
        self._area: str | None = None
        self._search = ""
        self.setDynamicSortFilter(False)

    @property
    def active(self) -> bool:
        return bool(self._workspace or self._area or self._search)

    def set_workspace(self, workspace: str | None) -> None:
        self._refilter("_workspace", workspace or None)

    def set_area(self, area: str | None) -> None:
        self._refilter("_area", area or None)

    def set_search(self, text: str) -> None:
        self._refilter("_search", text.strip().lower())

    def _refilter(self, attribute: str, value: str | None) -> None:
        # Qt 6.10 replaced invalidateFilter() with a begin/end pair around the change
        begin = getattr(self, "beginFilterChange", None)
        if begin is None:
            setattr(self, attribute, value)
            self.invalidateFilter()
            return
        begin()
        setattr(self, attribute, value)
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not (self._workspace or self._area or self._search):
            return True
        model = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        if model.data(index, KIND_ROLE) == _ROW_GAP:
            return True
        event = model.event_at(source_row) if isinstance(model, ActivityModel) else None
        if event is None:
            return False
        if self._workspace and workspace_label(event) != self._workspace:
            return False
        if self._area and str(event.get("area") or "workspace") != self._area:
            return False
        if self._search:
            return self._search in str(model.data(index, SEARCH_ROLE))
        return True
