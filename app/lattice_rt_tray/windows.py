"""Small helpers shared by the app's top-level windows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

__all__ = ["bring_forward"]


def bring_forward(window: QWidget) -> None:
    """Show ``window`` un-minimised, raised and active."""
    window.show()
    window.setWindowState(
        (window.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
    )
    window.raise_()
    window.activateWindow()
