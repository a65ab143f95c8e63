"""The Activity and Presence windows, built the first time they are needed.

Most sessions never open a window, so the app starts with neither built nor
their modules imported: a :class:`LazyWindow` holds the function that makes
one, and :meth:`~LazyWindow.get` calls it the first time (the user opens the
window, a notification click selects an event in it). Asking whether it is
visible or hiding it builds nothing. Its models are built at start and keep
every event; the window reads them when it is made.

What the controller tells the Activity window before it exists (the
connection line, the empty list's intro, a status-bar message while it lasts,
whether it is the main window) :class:`LazyActivity` keeps and applies when
the window is built, so a window opened late looks as one built at start.
``built`` is emitted then, for the composition root to wire the window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from lattice_rt_tray.views.windows import bring_forward

if TYPE_CHECKING:
    from lattice_rt_tray.views.activity_window import ActivityWindow

__all__ = ["LazyActivity", "LazyWindow"]

W = TypeVar("W", bound=QWidget)


class LazyWindow(QObject, Generic[W]):
    """Signals:
    built(object): the window was just made (once); what was kept for it is applied.
    """

    built = Signal(object)

    def __init__(self, make: Callable[[], W], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._make = make
        #: the window, once built (None before: nothing of it exists)
        self.window: W | None = None

    def get(self) -> W:
        """The window, built now if it is not yet."""
        if self.window is None:
            self.window = window = self._make()
            self._apply(window)
            self.built.emit(window)
        return self.window

    def _apply(self, window: W) -> None:
        """What was kept for the window before it existed (nothing here)."""

    def is_visible(self) -> bool:
        return self.window is not None and self.window.isVisible()

    def bring_forward(self) -> None:
        bring_forward(self.get())

    def hide(self) -> None:
        if self.window is not None:
            self.window.hide()


class LazyActivity(LazyWindow["ActivityWindow"]):
    """The Activity window and what it was told before it was built.

    ``clock``: seconds, to know whether a status-bar message kept for the
    window is still due when it is built.
    """

    def __init__(
        self,
        make: Callable[[], ActivityWindow],
        *,
        main_window: bool = False,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(make, parent)
        self._clock = clock
        self._main_window = main_window
        self._summary: tuple[str, str] | None = None
        self._intro: str | None = None
        self._message: tuple[str, float] | None = None  # and when it goes

    @property
    def main_window(self) -> bool:
        """Closing the window quits (there is no tray)."""
        return self._main_window

    @main_window.setter
    def main_window(self, value: bool) -> None:
        self._main_window = value
        if self.window is not None:
            self.window.main_window = value

    def set_connection_summary(self, text: str, level: str) -> None:
        """See :meth:`ActivityWindow.set_connection_summary`."""
        if self.window is not None:
            self.window.set_connection_summary(text, level)
        else:
            self._summary = (text, level)

    def set_intro(self, text: str | None) -> None:
        """See :meth:`ActivityWindow.set_intro`."""
        if self.window is not None:
            self.window.set_intro(text)
        else:
            self._intro = text

    def show_message(self, text: str, ms: int) -> None:
        """The status bar's passing message, for ``ms`` milliseconds (0: until the next)."""
        if self.window is not None:
            self.window.statusBar().showMessage(text, ms)
        else:
            self._message = (text, self._clock() + ms / 1000 if ms > 0 else math.inf)

    def _apply(self, window: ActivityWindow) -> None:
        window.main_window = self._main_window
        if self._summary is not None:
            window.set_connection_summary(*self._summary)
        window.set_intro(self._intro)
        if self._message is not None:
            text, until = self._message
            left = until - self._clock()
            if left > 0:
                window.statusBar().showMessage(text, 0 if until == math.inf else
                                               max(1, int(left * 1000)))
        self._summary = self._message = None
