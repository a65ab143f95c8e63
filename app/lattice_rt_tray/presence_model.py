"""The presence tree: workspaces, and under each the people present there.

Built from a :class:`~lattice_rt_tray.roster.Roster` (which holds the truth);
rebuilt whole on every change, which is cheap at the size of a team, and
refreshed every so often so "5 min ago" stays true.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel

from .roster import Person, Roster
from .timefmt import relative

__all__ = ["CLIENT_ID_ROLE", "PRESENCE_COLUMNS", "PresenceModel"]

PRESENCE_COLUMNS = ("Name", "User", "Joined", "Last seen")
CLIENT_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1


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
        self.setHorizontalHeaderLabels(list(PRESENCE_COLUMNS))

    def rebuild(self) -> None:
        now = self._now()
        self.removeRows(0, self.rowCount())
        root = self.invisibleRootItem()
        for workspace, people in self.roster.by_workspace().items():
            title = workspace or "personal (no workspace)"
            group = QStandardItem(f"{title}  ({len(people)})")
            group.setEditable(False)
            font = QFont(group.font())
            font.setBold(True)
            group.setFont(font)
            filler = [_cell("") for _ in PRESENCE_COLUMNS[1:]]
            for person in people:
                group.appendRow(_person_row(person, now))
            root.appendRow([group, *filler])
        self.rebuilt.emit()

    def person_rows(self) -> list[tuple[str, str, str]]:
        """(workspace title, name, client id) per person row, for tests and tooltips."""
        out: list[tuple[str, str, str]] = []
        for g in range(self.rowCount()):
            group = self.item(g, 0)
            for r in range(group.rowCount()):
                child = group.child(r, 0)
                out.append((group.text(), child.text(), str(child.data(CLIENT_ID_ROLE))))
        return out


def _cell(text: str) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    return item


def _person_row(person: Person, now: datetime) -> list[QStandardItem]:
    name = _cell(f"{person.name} (you)" if person.is_self else person.name)
    name.setData(person.client_id, CLIENT_ID_ROLE)
    name.setToolTip(f"client {person.client_id}")
    if person.is_self:
        font = QFont(name.font())
        font.setBold(True)
        name.setFont(font)
    joined = _cell(relative(person.joined_at, now))
    joined.setToolTip(person.joined_at)
    seen = _cell(relative(person.last_seen, now))
    seen.setToolTip(person.last_seen)
    return [name, _cell(person.user or "—"), joined, seen]
