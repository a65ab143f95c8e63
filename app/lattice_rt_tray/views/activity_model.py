"""The activity list: a bounded, newest-first table model of every server's events.

Rows are kept oldest-first in a plain list (appending a batch is cheap) and
shown reversed, so row 0 is the newest. Their order is the servers' time: each
row has a *key*, the event's ``received_at`` as a canonical UTC string (the
bus writes it in that form already, so the common case costs a length check),
and rows are sorted by (key, arrival). Only the raw event is stored; the text
of a cell is computed when a view asks for it (a view asks only for the rows
it shows), and the search text of a row only when a search is typed.

Batches come one connection at a time (``add_events(events, server=key)``),
in order within a connection. The common case, a batch newer than everything
shown (a flood, live events of any server), is the cheap path: one
``rowsInserted`` at the top plus, past the bound, one ``rowsRemoved`` at the
bottom, whatever its size. A batch older than what is shown (the catch-up of a
server that reconnected while another one kept talking) is merged into its
place: one ``rowsInserted`` per run of rows that land together.

The filter (server, workspace, area, search text) lives in the model, in
Python, rather than in a ``QSortFilterProxyModel``: the shown rows are a list
kept in step with the stored ones, and with no filter they *are* the stored
list. A proxy would call back into Python (``filterAcceptsRow``, and
``rowCount``/``columnCount`` for every index it maps) for every row of every
batch, and each such call has to win the GIL from the embedded server and
stream threads, which are busiest exactly when a flood arrives.

An event is stored once: a page of history (``add_history``, newest first,
placed below stored rows of the same time) and the stream often hold the same
events, so each stored event's identity (server, seq, time, type; see
:func:`~lattice_rt_tray.logic.history.event_identity`) is kept in a set and an
event arriving again is passed over.

A ``gap`` (events a server could not deliver) is a row of its own, placed
after that server's last event, so the user sees that something is missing
and where; only a server filter hides it.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, tzinfo
from operator import attrgetter
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

from lattice_rt_tray.logic.activity_text import CANONICAL, ActivityFilter, gap_text, time_key
from lattice_rt_tray.logic.history import event_identity
from lattice_rt_tray.logic.summary import (
    event_actor,
    event_json,
    event_summary,
    event_title,
    humanize,
    is_failure,
    summary_tooltip,
    workspace_label,
)
from lattice_rt_tray.logic.timefmt import event_time, full_time, local_day
from lattice_rt_tray.views.tones import tone

__all__ = [
    "ACTOR_COLUMN",
    "TIME_COLUMN",
    "COLUMNS",
    "EVENT_COLUMN",
    "EVENT_ROLE",
    "FAILURE_MARK",
    "KIND_ROLE",
    "SEARCH_ROLE",
    "SEQ_ROLE",
    "SERVER_COLUMN",
    "SERVER_ROLE",
    "SUMMARY_COLUMN",
    "ActivityFilter",
    "ActivityModel",
    "time_key",
]

DEFAULT_CAPACITY = 5000
COLUMNS = ("Time", "Server", "Workspace", "Area", "Event", "Actor", "Summary")
TIME_COLUMN, SERVER_COLUMN, WORKSPACE_COLUMN, AREA_COLUMN, EVENT_COLUMN, ACTOR_COLUMN = range(6)
SUMMARY_COLUMN = len(COLUMNS) - 1
EVENT_ROLE = int(Qt.ItemDataRole.UserRole) + 1
SEQ_ROLE = int(Qt.ItemDataRole.UserRole) + 2
KIND_ROLE = int(Qt.ItemDataRole.UserRole) + 3
SEARCH_ROLE = int(Qt.ItemDataRole.UserRole) + 4
SERVER_ROLE = int(Qt.ItemDataRole.UserRole) + 5
#: what marks a failure, besides its colour (see :func:`.summary.is_failure`)
FAILURE_MARK = "✖"

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)

_ROW_EVENT = "event"
_ROW_GAP = "gap"
_KEY = attrgetter("key")
_CANONICAL = CANONICAL

Index = QModelIndex | QPersistentModelIndex
Identity = tuple[int, str, str]


class _Row:
    __slots__ = ("day", "event", "failed", "ident", "key", "kind", "search", "serial",
                 "server")

    def __init__(
        self, kind: str, event: Mapping[str, Any], server: str, key: str, serial: int,
        ident: tuple[str, Identity] | None = None,
    ) -> None:
        self.ident = ident  # (server, the event's identity): stored once
        self.kind = kind
        self.event = event
        self.server = server
        self.key = key  # the server's time, canonical: rows sort by (key, serial)
        self.serial = serial  # arrival order
        self.search: str | None = None
        self.failed: bool | None = None
        self.day: date | None | bool = False  # its local day, once asked (False: not yet)


class ActivityModel(QAbstractTableModel):
    """Newest-first events, at most ``capacity`` rows stored; shows those the filter lets through.

    ``rowCount()`` counts the rows shown, :meth:`total` the rows stored.

    Signals:
        stored_changed(): rows were stored or forgotten, shown or not (once per batch).
        facets_changed(): a new workspace or area appeared, or one went (for filter menus).
        servers_changed(): :meth:`set_servers` named another set of connections.
    """

    stored_changed = Signal()
    facets_changed = Signal()
    servers_changed = Signal()

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
        self._names: dict[str, str] = {}  # server key -> display name, in display order
        self._last_key: dict[str, str] = {}  # server key -> the newest key it sent
        #: (server, identity) of every stored event: one arriving again (by the stream
        #: and in a page of history) is not stored twice
        self._idents: set[tuple[str, Identity]] = set()
        self._workspaces: set[str] = set()
        self._areas: set[str] = set()
        self._gap_font = QFont()
        self._gap_font.setItalic(True)
        self._gap_brush = QBrush(QColor(tone("warning")))
        self._failure_brush = QBrush(QColor(tone("failure")))

    # ------------------------------------------------------------- servers
    def set_servers(self, names: Mapping[str, str]) -> None:
        """Every configured connection, key -> display name, in display order.

        With more than one, rows say their server (a column, part of the search).
        """
        names = dict(names)
        if names == self._names:
            return
        several = len(names) > 1 or len(self._names) > 1
        self._names = names
        if several:
            for row in self._rows:
                row.search = None
        if self._filter.server is not None and self._filter.server not in names:
            self._refilter(replace(self._filter, server=None))
        elif self._filter.search and several:
            self._refilter(self._filter)
        elif self._shown:
            self.dataChanged.emit(self.index(0, SERVER_COLUMN),
                                  self.index(len(self._shown) - 1, SERVER_COLUMN))
        self.servers_changed.emit()

    def servers(self) -> dict[str, str]:
        """key -> display name of every configured connection, in display order."""
        return dict(self._names)

    def server_name(self, server: str) -> str:
        return self._names.get(server, server)

    def drop_server(self, server: str) -> None:
        """Forget every row of a removed connection."""
        self._last_key.pop(server, None)
        if not any(row.server == server for row in self._rows):
            return
        self.beginResetModel()
        self._idents = {i for i in self._idents if i[0] != server}
        self._rows = [row for row in self._rows if row.server != server]
        self._shown = (
            [r for r in self._rows if self._accepts(r)] if self._filter.active else self._rows
        )
        self.endResetModel()
        self.stored_changed.emit()
        self._recount_facets()

    # ------------------------------------------------------------- feeding
    def add_events(
        self, events: Iterable[Mapping[str, Any]], server: str = "", *, older: bool = False
    ) -> None:
        """A batch of ``server``'s events, in the order it sent them; an event stored
        already (the same seq, time and type of that server) is passed over. ``older``:
        read back, so below the rows of the same time that are stored already."""
        serials = self._serials
        last = self._last_key.get(server)  # the newest time this server sent
        rows: list[_Row] = []
        ordered = True
        idents = self._idents
        for event in events:
            if type(event) is not dict and not isinstance(event, Mapping):  # dict: the fast test
                continue
            identity = event_identity(event)
            ident = (server, identity) if identity is not None else None
            if ident is not None:
                if ident in idents:
                    continue
                idents.add(ident)
            key = event.get("received_at")
            if not (isinstance(key, str) and len(key) == _CANONICAL and key.endswith("+00:00")):
                key = time_key(key)
                if key is None:  # no time of its own: right after what the server sent last
                    key = last if last is not None else self._newest_key()
            if last is None or key >= last:
                last = key
            else:
                ordered = False
            rows.append(_Row(_ROW_EVENT, event, server, key, next(serials), ident))
        if last is not None:
            self._last_key[server] = last
        self._add(rows, ordered, older=older)

    def add_history(self, events: Iterable[Mapping[str, Any]], server: str = "") -> None:
        """A page of what ``server`` keeps, newest first (``GET /realtime/feed``): each
        event not stored yet goes into its place by time."""
        self.add_events(list(events)[::-1], server, older=True)

    def add_gap(self, body: Mapping[str, Any], server: str = "") -> None:
        """``server`` could not deliver some events: a row after its last event."""
        key = self._last_key.get(server)
        self._add([_Row(_ROW_GAP, body, server, key if key is not None else self._newest_key(),
                        next(self._serials))], True)

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._shown = self._rows
        if self._filter.active:
            self._shown = []
        self._last_key.clear()
        self._idents.clear()
        self.endResetModel()
        self.stored_changed.emit()

    def _newest_key(self) -> str:
        return self._rows[-1].key if self._rows else ""

    def _add(self, rows: list[_Row], ordered: bool, *, older: bool = False) -> None:
        if not rows:
            return
        if not ordered:
            rows.sort(key=_KEY)  # stable: arrival order among equal times
        if self._rows and (rows[0].key < self._rows[-1].key
                           or older and rows[0].key == self._rows[-1].key):
            self._merge(rows, older)
        else:
            self._append(rows)
        self.stored_changed.emit()
        self._note_facets(rows)

    def _append(self, rows: list[_Row]) -> None:
        """The cheap path: every row is at least as new as the newest stored."""
        if len(rows) > self.capacity:
            self._idents.difference_update(r.ident for r in rows[: -self.capacity] if r.ident)
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

    def _merge(self, rows: list[_Row], older: bool = False) -> None:
        """Rows (sorted) that belong below newer ones: each run into its place (``older``:
        below the stored rows of the same time too)."""
        filtered = self._shown is not self._rows
        self._insert_sorted(self._rows, rows, notify=not filtered, older=older)
        if filtered:
            shown = [r for r in rows if self._accepts(r)]
            if shown:
                self._insert_sorted(self._shown, shown, notify=True, older=older)
        excess = len(self._rows) - self.capacity
        if excess > 0:
            self._drop_oldest(excess)

    def _insert_sorted(self, target: list[_Row], rows: list[_Row], *, notify: bool,
                       older: bool = False) -> None:
        runs: list[tuple[int, list[_Row]]] = []
        lo = 0
        place = bisect_left if older else bisect_right
        for row in rows:  # newer than every row in target with the same key (later serial)
            lo = place(target, row.key, lo=lo, key=_KEY)
            if runs and runs[-1][0] == lo:
                runs[-1][1].append(row)
            else:
                runs.append((lo, [row]))
        for at, run in reversed(runs):  # from the newest: earlier places stay valid
            first = len(target) - at  # the view row of the row stored at ``at``
            if notify:
                self.beginInsertRows(QModelIndex(), first, first + len(run) - 1)
            target[at:at] = run
            if notify:
                self.endInsertRows()

    def _drop_oldest(self, count: int) -> None:
        """Forget the ``count`` oldest stored rows (and the shown ones among them)."""
        shown = self._shown
        if shown is self._rows:
            gone = count
        else:
            last = self._rows[count - 1]
            bound = (last.key, last.serial)
            gone = 0
            while gone < len(shown) and (shown[gone].key, shown[gone].serial) <= bound:
                gone += 1
        if gone:
            self.beginRemoveRows(QModelIndex(), len(shown) - gone, len(shown) - 1)
        if shown is not self._rows:
            del shown[:gone]
        idents = self._idents
        for row in self._rows[:count]:
            if row.ident is not None:
                idents.discard(row.ident)
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

    def _recount_facets(self) -> None:
        before = (self._workspaces, self._areas)
        self._workspaces, self._areas = set(), set()
        for row in self._rows:
            if row.kind == _ROW_EVENT:
                self._workspaces.add(workspace_label(row.event))
                self._areas.add(str(row.event.get("area") or "workspace"))
        if (self._workspaces, self._areas) != before:
            self.facets_changed.emit()

    # ------------------------------------------------------------ filtering
    @property
    def filter(self) -> ActivityFilter:
        return self._filter

    def set_filter(self, new: ActivityFilter) -> None:
        """Show only the rows ``new`` lets through (a model reset; views keep nothing)."""
        if new != self._filter:
            self._refilter(new)

    def _refilter(self, new: ActivityFilter) -> None:
        self.beginResetModel()
        self._filter = new
        self._shown = [r for r in self._rows if self._accepts(r)] if new.active else self._rows
        self.endResetModel()

    def _accepts(self, row: _Row) -> bool:
        f = self._filter
        if f.server and row.server != f.server:
            return False
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
            skip = SERVER_COLUMN if len(self._names) < 2 else -1
            row.search = " ".join(
                self._text(row, c) for c in range(len(COLUMNS)) if c != skip
            ).lower()
        return row.search

    # ------------------------------------------------------------- reading
    def total(self) -> int:
        """Rows stored, whatever the filter shows."""
        return len(self._rows)

    def workspaces(self) -> list[str]:
        return sorted(self._workspaces)

    def areas(self) -> list[str]:
        return sorted(self._areas)

    def row_for_event(self, server: str, seq: int) -> int | None:
        """The shown row of ``server``'s event ``seq`` (None if not stored or filtered out)."""
        return _find(self._shown, server, seq)

    def has_event(self, server: str, seq: int) -> bool:
        """Is ``server``'s event ``seq`` stored (shown or not)?"""
        return _find(self._rows, server, seq) is not None

    def _shown_row(self, row: int) -> _Row | None:
        shown = self._shown
        return shown[len(shown) - 1 - row] if 0 <= row < len(shown) else None

    def event_at(self, row: int) -> Mapping[str, Any] | None:
        item = self._shown_row(row)
        return item.event if item is not None and item.kind == _ROW_EVENT else None

    def server_at(self, row: int) -> str | None:
        """The connection key of the shown ``row``."""
        item = self._shown_row(row)
        return item.server if item is not None else None

    def days(self) -> list[date | None]:
        """The local day of each shown row, newest first (a gap: its server's last
        event's day; None: no time known)."""
        zone = self._now().tzinfo
        return [_day(row, zone) for row in reversed(self._shown)]

    def day_at(self, row: int) -> date | None:
        """The local day of the shown ``row`` (None: no such row, or no time known)."""
        item = self._shown_row(row)
        return None if item is None else _day(item, self._now().tzinfo)

    def today(self) -> date:
        return self._now().date()

    def refresh_times(self) -> None:
        """The clock moved: "2 min ago" is said again (the Time column only)."""
        if self._shown:
            self.dataChanged.emit(self.index(0, TIME_COLUMN),
                                  self.index(len(self._shown) - 1, TIME_COLUMN))

    def event_json(self, row: int) -> str | None:
        event = self.event_at(row)
        return None if event is None else event_json(event)

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

    def cell(self, index: Index) -> tuple[str, QFont | None, QBrush | None] | None:
        """Text, font and colour of a cell in one call (what :meth:`data` answers for the
        display, font and foreground roles), for the delegate that paints it."""
        row = self._row_at(index)
        if row is None:
            return None
        text = self._text(row, index.column())
        if row.kind == _ROW_GAP:
            return text, self._gap_font, self._gap_brush
        return text, None, self._failure_brush if self._failed(row) else None

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
            if column == SUMMARY_COLUMN:
                return summary_tooltip(row.event) if row.kind == _ROW_EVENT else gap_text(row.event)
            if column == TIME_COLUMN and row.kind == _ROW_EVENT:
                return full_time(row.event.get("received_at"), self._now()) or None
            return "Failed" if column == EVENT_COLUMN and self._failed(row) else None
        if role == EVENT_ROLE:
            return dict(row.event) if row.kind == _ROW_EVENT else None
        if role == SEQ_ROLE:
            seq = row.event.get("seq") if row.kind == _ROW_EVENT else None
            return seq if isinstance(seq, int) else None
        if role == KIND_ROLE:
            return row.kind
        if role == SERVER_ROLE:
            return row.server
        if role == SEARCH_ROLE:
            return self._search_text(row)
        if role == _FOREGROUND:
            if row.kind == _ROW_GAP:
                return self._gap_brush
            return self._failure_brush if self._failed(row) else None
        if role == _FONT and row.kind == _ROW_GAP:
            return self._gap_font
        return None

    def _failed(self, row: _Row) -> bool:
        if row.failed is None:
            row.failed = row.kind == _ROW_EVENT and is_failure(row.event)
        return row.failed

    def _text(self, row: _Row, column: int) -> str:
        event = row.event
        if column == SERVER_COLUMN:
            return self._names.get(row.server, row.server)
        if row.kind == _ROW_GAP:
            if column == SUMMARY_COLUMN:
                return gap_text(event)
            if column == EVENT_COLUMN:
                return "events missed"
            return "—" if column in (WORKSPACE_COLUMN, AREA_COLUMN) else ""
        if column == TIME_COLUMN:
            return event_time(event.get("received_at"), self._now())
        if column == WORKSPACE_COLUMN:
            return workspace_label(event)
        if column == AREA_COLUMN:
            return humanize(event.get("area") or "workspace")
        if column == EVENT_COLUMN:
            title = event_title(event)
            return f"{FAILURE_MARK} {title}" if self._failed(row) else title
        if column == ACTOR_COLUMN:
            return event_actor(event)
        return event_summary(event)


def _day(row: _Row, zone: tzinfo | None) -> date | None:
    day = row.day
    if day is False:
        day = row.day = local_day(row.key, zone) if row.key else None
    return day if isinstance(day, date) else None


def _find(rows: list[_Row], server: str, seq: int) -> int | None:
    """The view row (newest first) of ``server``'s event ``seq`` in ``rows`` (oldest first)."""
    for i in range(len(rows) - 1, -1, -1):
        row = rows[i]
        if row.kind == _ROW_EVENT and row.server == server and row.event.get("seq") == seq:
            return len(rows) - 1 - i
    return None
