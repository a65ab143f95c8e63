"""The activity list: a bounded, newest-first table model with its own filter.

Rows are kept oldest-first in a plain list (appending a batch is cheap) and
shown reversed, so row 0 is the newest. Only the raw event is stored; the text
of a cell is computed when a view asks for it (a view asks only for the rows
it shows), and the search text of a row only when a search is typed. A batch
is one ``rowsInserted`` at the top plus, past the bound, one ``rowsRemoved`` at
the bottom, whatever its size.

The filter (workspace, area, search text) lives in the model, in Python,
rather than in a ``QSortFilterProxyModel``: events only ever arrive at the top
and leave at the bottom, so the shown rows are a list kept in step with the
stored ones, and with no filter they *are* the stored list. A proxy would call
back into Python (``filterAcceptsRow``, and ``rowCount``/``columnCount`` for
every index it maps) for every row of every batch, and each such call has to
win the GIL from the embedded server and stream threads, which are busiest
exactly when a flood arrives.

A ``gap`` (events the server could not deliver) is a row of its own, so the
user sees that something is missing and where; no filter hides it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from .summary import event_summary, event_title, humanize, workspace_label
from .text import plural
from .timefmt import clock_time

__all__ = [
    "COLUMNS",
    "EVENT_ROLE",
    "KIND_ROLE",
    "SEARCH_ROLE",
    "SEQ_ROLE",
    "ActivityFilter",
    "ActivityModel",
]

DEFAULT_CAPACITY = 5000
COLUMNS = ("Time", "Workspace", "Area", "Event", "Summary")
EVENT_ROLE = int(Qt.ItemDataRole.UserRole) + 1
SEQ_ROLE = int(Qt.ItemDataRole.UserRole) + 2
KIND_ROLE = int(Qt.ItemDataRole.UserRole) + 3
SEARCH_ROLE = int(Qt.ItemDataRole.UserRole) + 4

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_SUMMARY_COLUMN = len(COLUMNS) - 1

_ROW_EVENT = "event"
_ROW_GAP = "gap"

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """Which events the list shows: all of them unless a field is set.

    ``workspace`` and ``area`` match a row's workspace label and area exactly;
    ``search`` is a case-insensitive substring of the row's text (all columns).
    """

    workspace: str | None = None
    area: str | None = None
    search: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "workspace", self.workspace or None)
        object.__setattr__(self, "area", self.area or None)
        object.__setattr__(self, "search", self.search.strip().lower())

    @property
    def active(self) -> bool:
        return bool(self.workspace or self.area or self.search)


class _Row:
    __slots__ = ("event", "kind", "search", "serial")

    def __init__(self, kind: str, event: Mapping[str, Any], serial: int) -> None:
        self.kind = kind
        self.event = event
        self.serial = serial  # arrival order, to find a row in both lists
        self.search: str | None = None


class ActivityModel(QAbstractTableModel):
    """Newest-first events, at most ``capacity`` rows stored; shows those the filter lets through.

    ``rowCount()`` counts the rows shown, :meth:`total` the rows stored.

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
        self._shown: list[_Row] = self._rows  # the rows the filter lets through, oldest first
        self._filter = ActivityFilter()
        self._serials = itertools.count()
        self._now = now
        self._workspaces: set[str] = set()
        self._areas: set[str] = set()
        self._gap_font = QFont()
        self._gap_font.setItalic(True)
        self._gap_brush = QBrush(QColor("#b54708"))

    # ------------------------------------------------------------- feeding
    def add_events(self, events: Iterable[Mapping[str, Any]]) -> None:
        serials = self._serials
        self._add([_Row(_ROW_EVENT, e, next(serials)) for e in events if isinstance(e, Mapping)])

    def add_gap(self, body: Mapping[str, Any]) -> None:
        self._add([_Row(_ROW_GAP, body, next(self._serials))])

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._shown = self._rows
        if self._filter.active:
            self._shown = []
        self.endResetModel()

    def _add(self, rows: list[_Row]) -> None:
        if not rows:
            return
        if len(rows) > self.capacity:
            rows = rows[-self.capacity :]
        filtered = self._shown is not self._rows
        excess = len(self._rows) + len(rows) - self.capacity
        if excess > 0:
            self._drop_oldest(excess)
        if filtered:
            self._rows.extend(rows)  # not shown: no view needs to know
            shown = [r for r in rows if self._accepts(r)]
            if shown:
                self.beginInsertRows(QModelIndex(), 0, len(shown) - 1)
                self._shown.extend(shown)
                self.endInsertRows()
        else:
            self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self._note_facets(rows)

    def _drop_oldest(self, count: int) -> None:
        """Forget the ``count`` oldest stored rows (and the shown ones among them)."""
        shown = self._shown
        if shown is self._rows:
            gone = count
        else:
            last_serial = self._rows[count - 1].serial
            gone = 0
            while gone < len(shown) and shown[gone].serial <= last_serial:
                gone += 1
        if gone:
            self.beginRemoveRows(QModelIndex(), len(shown) - gone, len(shown) - 1)
        if shown is not self._rows:
            del shown[:gone]
        del self._rows[:count]
        if gone:
            self.endRemoveRows()

    def _note_facets(self, rows: list[_Row]) -> None:
        before = (len(self._workspaces), len(self._areas))
        for row in rows:
            if row.kind == _ROW_EVENT:
                self._workspaces.add(workspace_label(row.event))
                self._areas.add(str(row.event.get("area") or "workspace"))
        if (len(self._workspaces), len(self._areas)) != before:
            self.facets_changed.emit()

    # ------------------------------------------------------------ filtering
    @property
    def filter(self) -> ActivityFilter:
        return self._filter

    def set_filter(self, new: ActivityFilter) -> None:
        """Show only the rows ``new`` lets through (a model reset; views keep nothing)."""
        if new == self._filter:
            return
        self.beginResetModel()
        self._filter = new
        self._shown = [r for r in self._rows if self._accepts(r)] if new.active else self._rows
        self.endResetModel()

    def _accepts(self, row: _Row) -> bool:
        f = self._filter
        if row.kind == _ROW_GAP:
            return True
        event = row.event
        if f.workspace and workspace_label(event) != f.workspace:
            return False
        if f.area and str(event.get("area") or "workspace") != f.area:
            return False
        return not f.search or f.search in self._search_text(row)

    def _search_text(self, row: _Row) -> str:
        if row.search is None:
            row.search = " ".join(self._text(row, c) for c in range(len(COLUMNS))).lower()
        return row.search

    # ------------------------------------------------------------- reading
    def total(self) -> int:
        """Rows stored, whatever the filter shows."""
        return len(self._rows)

    def workspaces(self) -> list[str]:
        return sorted(self._workspaces)

    def areas(self) -> list[str]:
        return sorted(self._areas)

    def row_for_seq(self, seq: int) -> int | None:
        """The shown row of event ``seq`` (None if it is not stored or filtered out)."""
        return _find_seq(self._shown, seq)

    def has_seq(self, seq: int) -> bool:
        """Is event ``seq`` stored (shown or not)?"""
        return _find_seq(self._rows, seq) is not None

    def event_at(self, row: int) -> Mapping[str, Any] | None:
        if 0 <= row < len(self._shown):
            item = self._shown[len(self._shown) - 1 - row]
            return item.event if item.kind == _ROW_EVENT else None
        return None

    def event_json(self, row: int) -> str | None:
        event = self.event_at(row)
        if event is None:
            return None
        return json.dumps(event, ensure_ascii=False, indent=2, default=str)

    # ---------------------------------------------------- QAbstractItemModel
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

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
        row = self._row_at(index)
        return None if row is None else self._value(row, index.column(), int(role))

    def _row_at(self, index: Index) -> _Row | None:
        if not index.isValid():
            return None
        shown = self._shown
        n = len(shown)
        r = index.row()
        return shown[n - 1 - r] if 0 <= r < n else None

    def _value(self, row: _Row, column: int, role: int) -> Any:
        if role == _DISPLAY:
            return self._text(row, column)
        if role == _TOOLTIP:
            return self._text(row, column) if column == _SUMMARY_COLUMN else None
        if role == EVENT_ROLE:
            return dict(row.event) if row.kind == _ROW_EVENT else None
        if role == SEQ_ROLE:
            seq = row.event.get("seq") if row.kind == _ROW_EVENT else None
            return seq if isinstance(seq, int) else None
        if role == KIND_ROLE:
            return row.kind
        if role == SEARCH_ROLE:
            return self._search_text(row)
        if row.kind == _ROW_GAP:
            if role == _FOREGROUND:
                return self._gap_brush
            if role == _FONT:
                return self._gap_font
        return None

    def _text(self, row: _Row, column: int) -> str:
        event = row.event
        if row.kind == _ROW_GAP:
            if column == 0:
                return ""
            if column == _SUMMARY_COLUMN:
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


def _find_seq(rows: list[_Row], seq: int) -> int | None:
    """The view row (newest first) of event ``seq`` in ``rows`` (oldest first)."""
    for i in range(len(rows) - 1, -1, -1):
        row = rows[i]
        if row.kind == _ROW_EVENT and row.event.get("seq") == seq:
            return len(rows) - 1 - i
    return None


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
    events = plural(missed, "event") if isinstance(missed, int) else "Some events"
    return f"⚠ {events} missed{span}: {why}"
