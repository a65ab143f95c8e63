"""Small helpers shared by the app's top-level windows."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QWidget

__all__ = ["ElidedLabel", "bring_forward"]


def bring_forward(window: QWidget) -> None:
    """Show ``window`` un-minimised, raised and active."""
    window.show()
    window.setWindowState(
        (window.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
    )
    window.raise_()
    window.activateWindow()


class ElidedLabel(QLabel):
    """A one-line label that asks for its whole text but, short of room, ends in "…".

    A plain QLabel never gets narrower than its text, so a long error in a
    status bar would widen the whole window. The whole text is the tooltip, and
    the text while the label is not on screen (it has no width to fit yet).
    """

    MIN_WIDTH = 80

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        if text == self._full and self.text():
            return
        self._full = text
        self.setToolTip(text)
        self.updateGeometry()
        self._elide()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right()
        return QSize(width + 2, hint.height())

    def minimumSizeHint(self) -> QSize:
        height = super().minimumSizeHint().height()
        return QSize(min(self.MIN_WIDTH, self.sizeHint().width()), height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self._full
        if self.isVisible():
            width = self.contentsRect().width()
            shown = self.fontMetrics().elidedText(shown, Qt.TextElideMode.ElideRight, width)
        if shown != self.text():
            self.setText(shown)
