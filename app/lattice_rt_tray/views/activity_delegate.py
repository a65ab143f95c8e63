"""Paint an activity cell with one call into Python instead of seven.

``QStyledItemDelegate.initStyleOption`` asks the model for seven roles, and
with a Python model each is a call from C++ into Python that must take the
GIL, which the embedded server and stream threads hold much of the time while
events pour in. This delegate fills the style option itself from one call of
the model's (:meth:`~.activity_model.ActivityModel.cell`: text, font and
colour at once), so painting a cell costs one such call (plus the two the base
model's ``index()`` makes).

A row after which another day starts (``separator(row)`` names that day) is
twice as tall: its upper half is the row, the lower half the date separator,
painted here.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from lattice_rt_tray.views.activity_model import ActivityModel

__all__ = ["ActivityDelegate"]

_HAS_DISPLAY = QStyleOptionViewItem.ViewItemFeature.HasDisplay


class ActivityDelegate(QStyledItemDelegate):
    """Text, font and colour of a cell straight from the :class:`ActivityModel`."""

    def __init__(
        self,
        model: ActivityModel,
        parent: QObject | None = None,
        separator: Callable[[int], str | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self.separator = separator

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        label = self.separator(index.row()) if self.separator is not None else None
        if label is None:
            super().paint(painter, option, index)
            return
        rect = QRect(option.rect)
        half = rect.height() // 2
        row = QStyleOptionViewItem(option)
        row.rect = QRect(rect.left(), rect.top(), rect.width(), half)
        super().paint(painter, row, index)
        band = QRect(rect.left(), rect.top() + half, rect.width(), rect.height() - half)
        palette: QPalette = option.palette
        painter.save()
        painter.fillRect(band, palette.window())
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.drawLine(band.topLeft(), band.topRight())
        if index.column() == 0:
            font = QFont(option.font)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            painter.drawText(band.adjusted(6, 0, -2, 0),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             label)
        painter.restore()

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        if isinstance(index, QModelIndex):  # a view always paints with a QModelIndex
            option.index = index
        # as the base class does: no style animations in item views (QTBUG-30146);
        # the stubs do not say that the field takes None
        option.styleObject = None  # type: ignore[assignment]
        cell = self._model.cell(index)
        if cell is None:
            return
        text, font, brush = cell
        option.text = text
        option.features |= _HAS_DISPLAY
        if font is not None:
            option.font = font.resolve(option.font)
            option.fontMetrics = QFontMetrics(option.font)
        if brush is not None:
            palette = QPalette(option.palette)
            palette.setBrush(QPalette.ColorRole.Text, brush)
            option.palette = palette
