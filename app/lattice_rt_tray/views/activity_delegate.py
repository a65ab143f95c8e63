"""Paint an activity cell with one call into Python instead of seven.

``QStyledItemDelegate.initStyleOption`` asks the model for seven roles, and
with a Python model each is a call from C++ into Python that must take the
GIL, which the embedded server and stream threads hold much of the time while
events pour in. This delegate fills the style option itself from one call of
the model's (:meth:`~.activity_model.ActivityModel.cell`: text, font and
colour at once), so painting a cell costs one such call (plus the two the base
model's ``index()`` makes).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex
from PySide6.QtGui import QFontMetrics, QPalette
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from lattice_rt_tray.views.activity_model import ActivityModel

__all__ = ["ActivityDelegate"]

_HAS_DISPLAY = QStyleOptionViewItem.ViewItemFeature.HasDisplay


class ActivityDelegate(QStyledItemDelegate):
    """Text, font and colour of a cell straight from the :class:`ActivityModel`."""

    def __init__(self, model: ActivityModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model

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
