"""The presence tree: servers (when there are several), their workspaces, the people there.

Built from a :class:`~lattice_rt_tray.logic.roster.Roster` (which holds the truth);
rebuilt whole on every change, which is cheap at the size of a team, and
refreshed every so often so "5 min ago" stays true. A group's title counts
people (see :mod:`.roster`), and a person with several entries in one
workspace (two computers) is one row.

The columns are :data:`PRESENCE_COLUMNS`, and one function makes a person's
row (:func:`_person_row`): a new column is one entry in each. The status
column shows a coloured dot and "Idle for 12 min · Lunch" (the person's most
present entry, see :attr:`.roster.Person.shown`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QIcon,
    QPainter,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)

from lattice_rt_tray.logic.roster import Person, Roster, ServerGroup, WorkspaceGroup
from lattice_rt_tray.logic.status_display import colour, since_text, status_cell, status_line
from lattice_rt_tray.logic.text import plural
from lattice_rt_tray.logic.timefmt import clock_time, relative
from lattice_rt_tray.views.tones import tone

__all__ = ["CLIENT_IDS_ROLE", "OFFLINE", "OFFLINE_ROLE", "PRESENCE_COLUMNS", "STATUS_ROLE",
           "PersonRow", "PresenceModel", "status_dot"]

PRESENCE_COLUMNS = ("Name", "Status", "User", "Joined", "Last seen")
#: on a person's first cell: the client ids of their entries (a tuple)
CLIENT_IDS_ROLE = int(Qt.ItemDataRole.UserRole) + 1
#: on a person's status cell: the status shown (``active``, ``idle``, ``away``, ``dnd``)
STATUS_ROLE = int(Qt.ItemDataRole.UserRole) + 2
DOT_SIZE = 12
#: on a server's group row: True when it cannot be reached
OFFLINE_ROLE = int(Qt.ItemDataRole.UserRole) + 3
#: the status of a person on a server that cannot be reached (STATUS_ROLE)
OFFLINE = "offline"
#: the grey of what a server that cannot be reached last said (readable on light and dark)

#: (server title or "", workspace title, name as shown, client ids), per person row
PersonRow = tuple[str, str, str, tuple[str, ...]]


def _people(count: int) -> str:
    return plural(count, "person", "people")


class PresenceModel(QStandardItemModel):
    """Signals:
    rebuilt(): the tree was rebuilt (views re-expand it).
    """

    rebuilt = Signal()

    def __init__(
        self,
        roster: Roster,
        parent: QObject | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ) -> None:
        super().__init__(parent)
        self.roster = roster
        self._now = now
        self.servers: list[ServerGroup] = []
        self.setHorizontalHeaderLabels(list(PRESENCE_COLUMNS))

    @property
    def by_server(self) -> bool:
        """Is the tree grouped by server first (more than one is followed, or one of
        them cannot be reached: its group says so)?"""
        return len(self.servers) > 1 or any(s.offline for s in self.servers)

    def rebuild(self) -> None:
        now = self._now()
        self.removeRows(0, self.rowCount())
        self.servers = self.roster.groups()
        root = self.invisibleRootItem()
        if self.by_server:
            for server in self.servers:
                if server.offline:
                    self._add_offline(root, server, now)
                    continue
                title = f"{server.name} · {_people(server.people)}"
                item = _group_row(root, title if server.people else f"{server.name} · nobody")
                self._add_workspaces(item, server.workspaces, now)
        elif self.servers:
            self._add_workspaces(root, self.servers[0].workspaces, now)
        self.rebuilt.emit()

    def _add_workspaces(
        self, parent: QStandardItem, groups: Sequence[WorkspaceGroup], now: datetime
    ) -> None:
        for group in groups:
            item = _group_row(parent, f"{group.title} · {_people(len(group.people))}")
            for person in group.people:
                item.appendRow(_person_row(person, now))

    def _add_offline(self, root: QStandardItem, server: ServerGroup, now: datetime) -> None:
        """A server that cannot be reached: greyed, marked offline, its people as last
        seen (the server's last word on them, else when it went away)."""
        since = clock_time(server.offline_since, now)
        item = _group_row(root, f"{server.name} · offline since {since}" if since
                          else f"{server.name} · offline")
        item.setData(True, OFFLINE_ROLE)
        item.setToolTip(f"{server.name} cannot be reached since {server.offline_since}: "
                        "who was there when it was last heard from")
        grey = QBrush(QColor(tone("offline")))
        for group in server.workspaces:
            head = _group_row(item, f"{group.title} · {_people(len(group.people))}")
            head.setForeground(grey)
            for person in group.people:
                row = _person_row(person, now)
                seen = person.last_seen or server.offline_since
                row[1].setText(f"last seen {relative(seen, now)}")
                row[1].setIcon(QIcon())
                row[1].setData(OFFLINE, STATUS_ROLE)
                row[1].setToolTip(f"{server.name} is offline; last seen {seen}")
                for cell in row:
                    cell.setForeground(grey)
                head.appendRow(row)
        item.setForeground(grey)

    def workspace_count(self) -> int:
        """Named workspaces with someone in them, over every server."""
        return sum(
            1 for server in self.servers if not server.offline
            for g in server.workspaces if g.workspace is not None
        )

    def person_rows(self) -> list[PersonRow]:
        """Every person row, with where it is (for tests and tooltips)."""
        out: list[PersonRow] = []

        def walk(item: QStandardItem, path: tuple[str, ...]) -> None:
            for r in range(item.rowCount()):
                child = item.child(r, 0)
                ids = child.data(CLIENT_IDS_ROLE)
                if isinstance(ids, tuple):
                    server = path[0] if len(path) == 2 else ""
                    out.append((server, path[-1], child.text(), ids))
                else:
                    walk(child, (*path, child.text()))

        walk(self.invisibleRootItem(), ())
        return out


def _cell(text: str) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    return item


def _group_row(parent: QStandardItem, title: str) -> QStandardItem:
    group = _cell(title)
    font = QFont(group.font())
    font.setBold(True)
    group.setFont(font)
    parent.appendRow([group, *(_cell("") for _ in PRESENCE_COLUMNS[1:])])
    return group


def _person_row(person: Person, now: datetime) -> list[QStandardItem]:
    name = _cell(f"{person.name} (you)" if person.is_self else person.name)
    ids = tuple(e.client_id for e in person.entries)
    name.setData(ids, CLIENT_IDS_ROLE)
    name.setToolTip("\n".join(f"client {cid}" for cid in ids))
    if person.is_self:
        font = QFont(name.font())
        font.setBold(True)
        name.setFont(font)
    shown = person.shown
    status = _cell(status_cell(shown.status, shown.status_text, shown.status_since, now))
    status.setIcon(status_dot(shown.status))
    status.setData(shown.status, STATUS_ROLE)
    how = since_text(shown.status, shown.status_since, now)
    status.setToolTip(status_line(shown.status, shown.status_text) + (f"\n{how}" if how else ""))
    joined = _cell(relative(person.joined_at, now))
    joined.setToolTip(person.joined_at)
    seen = _cell(relative(person.last_seen, now))
    seen.setToolTip(person.last_seen)
    return [name, status, _cell(person.user or "—"), joined, seen]


_DOTS: dict[str, QIcon] = {}


def status_dot(status: str) -> QIcon:
    """A filled circle in the status's colour (made once per status)."""
    icon = _DOTS.get(status)
    if icon is None:
        pixmap = QPixmap(DOT_SIZE, DOT_SIZE)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour(status)))
        painter.drawEllipse(1, 1, DOT_SIZE - 2, DOT_SIZE - 2)
        painter.end()
        icon = _DOTS[status] = QIcon(pixmap)
    return icon
