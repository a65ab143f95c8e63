"""The few colours the app draws text with, readable on a light and on a dark palette.

Seen in a screenshot: the red of failures and the green of "connected", chosen for a
light background, were hard to read in a dark theme. Each tone has a light and a dark
variant, both at least 4.5:1 against the palette's base colour (WCAG AA for text);
which one is used follows the application's palette when the widget is made.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["DARK", "LIGHT", "is_dark", "tone"]

LIGHT = {"failure": "#b42318", "warning": "#b54708", "ok": "#067647", "offline": "#667085"}
DARK = {"failure": "#f97066", "warning": "#fdb022", "ok": "#47cd89", "offline": "#98a2b3"}


def is_dark(palette: QPalette | None = None) -> bool:
    """Is the palette's base (where text is drawn) dark?"""
    base = (palette or QApplication.palette()).color(QPalette.ColorRole.Base)
    return QColor(base).lightnessF() < 0.5


def tone(name: str, palette: QPalette | None = None) -> str:
    """``failure``, ``warning``, ``ok`` or ``offline`` for this palette, as ``#rrggbb``."""
    return (DARK if is_dark(palette) else LIGHT)[name]
