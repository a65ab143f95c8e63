"""Date separators in the activity list: "Yesterday", a date, between rows of different days.

The model's rows stay events (its row numbers, selection and filters are
untouched): the last (oldest) row of a day that older rows follow is made
twice as tall and the delegate paints the next day's name in its lower half
(:meth:`DaySeparators.label`), so the separator sits above that day's rows.
Live events arrive on top, newer than every row: they move no separator, so
a flood resizes nothing.
Which rows start a day is worked out again after the rows change, once per
turn of the event loop however many batches arrived; Qt moves a tall row's
height with it when rows are inserted or removed above it, and this keeps
its own list of tall rows moved the same way (through a reset, which keeps
heights by row number, it stays), so only rows whose part changed are resized.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QTimer, Slot
from PySide6.QtWidgets import QTableView

from lattice_rt_tray.logic.timefmt import day_label
from lattice_rt_tray.views.activity_model import ActivityModel

__all__ = ["DaySeparators"]

Index = QModelIndex | QPersistentModelIndex


class DaySeparators(QObject):
    def __init__(self, view: QTableView, model: ActivityModel, row_height: int) -> None:
        super().__init__(view)
        self.view = view
        self.model = model
        self.row_height = row_height
        self._starts: dict[int, date | None] = {}  # tall view row -> the day of the rows below
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.update)
        model.rowsInserted.connect(self._on_inserted)
        model.rowsRemoved.connect(self._on_removed)
        model.modelReset.connect(self._on_reset)
        model.layoutChanged.connect(self._on_reset)
        self.update()

    @property
    def starts(self) -> dict[int, date | None]:
        """Tall view row -> the day of the rows that follow it (named below it)."""
        return dict(self._starts)

    def label(self, row: int) -> str | None:
        """The separator below ``row`` ("Yesterday", "Tue 1 Dec"; "Today" above rows of
        today under rows of a clock that is ahead), or None."""
        if row not in self._starts:
            return None
        day = self._starts[row]
        return "Earlier" if day is None else day_label(day, self.model.today())

    # ------------------------------------------------------------ tracking
    @Slot(QModelIndex, int, int)
    def _on_inserted(self, _parent: Index, first: int, last: int) -> None:
        n = last - first + 1
        self._starts = {r + n if r >= first else r: d for r, d in self._starts.items()}
        if first == 0 and self._one_day(last + 1):
            return  # live rows on top, of the day the list starts with: nothing to redo
        self._timer.start()

    def _one_day(self, rows: int) -> bool:
        """Are the first ``rows`` + 1 rows (the new ones and the old top) of one day?"""
        top = self.model.day_at(rows)
        return top is not None and all(self.model.day_at(r) == top for r in range(rows))

    @Slot(QModelIndex, int, int)
    def _on_removed(self, _parent: Index, first: int, last: int) -> None:
        n = last - first + 1
        self._starts = {r - n if r > last else r: d for r, d in self._starts.items()
                        if not first <= r <= last}
        self._timer.start()

    @Slot()
    def _on_reset(self) -> None:
        # the header keeps each section's height by its number through a reset: the
        # tall rows are where they were, and update() makes the right ones tall
        self._timer.start()

    @Slot()
    def update(self) -> None:
        """Make the last row of each day that older rows follow tall, no other row."""
        days = self.model.days()
        wanted: dict[int, date | None] = {}
        for row in range(len(days) - 1):
            if days[row] != days[row + 1]:
                wanted[row] = days[row + 1]
        header = self.view.verticalHeader()
        for row in self._starts.keys() - wanted.keys():
            if row < len(days):
                header.resizeSection(row, self.row_height)
        for row in wanted.keys() - self._starts.keys():
            header.resizeSection(row, 2 * self.row_height)
        changed = [r for r in wanted if self._starts.get(r, 0) != wanted[r]]
        self._starts = wanted
        for row in changed:  # a tall row that starts another day now: its label again
            self.view.viewport().update(self.view.visualRect(self.model.index(row, 0)))
