"""The app's commands as QActions, shared by the tray menu and the window menu.

Every command is reachable from a menu (some desktops never deliver clicks on
the tray icon itself). The actions only emit intent signals; the controller
decides what happens.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from .dnd import DndMode

__all__ = ["AppActions"]

_DND_LABELS = (
    (DndMode.OFF, "Off"),
    (DndMode.HOUR, "For 1 hour"),
    (DndMode.TOMORROW, "Until tomorrow"),
    (DndMode.ON, "On"),
)


class AppActions(QObject):
    """Signals:
    activity_requested(): show the Activity window.
    presence_requested(): show the Presence window.
    dnd_requested(str): a DndMode value was picked.
    browser_requested(): open the /activity page in the browser.
    settings_requested(): show the Settings dialog.
    quit_requested(): quit (leave presence, stop everything).
    """

    activity_requested = Signal()
    presence_requested = Signal()
    dnd_requested = Signal(str)
    browser_requested = Signal()
    settings_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status = QAction("Starting…", self)
        self.status.setEnabled(False)
        self.activity = QAction("Activity…", self)
        self.activity.setShortcut(QKeySequence("Ctrl+1"))
        self.presence = QAction("Presence…", self)
        self.presence.setShortcut(QKeySequence("Ctrl+2"))
        self.browser = QAction("Open in browser", self)
        self.settings = QAction("Settings…", self)
        self.settings.setShortcut(QKeySequence(QKeySequence.StandardKey.Preferences))
        self.quit = QAction("Quit", self)
        self.quit.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        self.dnd_group = QActionGroup(self)
        self.dnd_group.setExclusive(True)
        self.dnd: dict[DndMode, QAction] = {}
        for mode, label in _DND_LABELS:
            action = QAction(label, self.dnd_group)
            action.setCheckable(True)
            action.setData(mode.value)
            self.dnd[mode] = action
        self.dnd[DndMode.OFF].setChecked(True)

        self.activity.triggered.connect(self.activity_requested)
        self.presence.triggered.connect(self.presence_requested)
        self.browser.triggered.connect(self.browser_requested)
        self.settings.triggered.connect(self.settings_requested)
        self.quit.triggered.connect(self.quit_requested)
        self.dnd_group.triggered.connect(self.on_dnd_triggered)

    @Slot(QAction)
    def on_dnd_triggered(self, action: QAction) -> None:
        self.dnd_requested.emit(str(action.data()))

    def show_dnd(self, mode: DndMode) -> None:
        """Tick the entry for ``mode`` (without emitting a request)."""
        self.dnd[mode].setChecked(True)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def build_menu(self, parent: QWidget | None = None, *, title: str = "") -> QMenu:
        menu = QMenu(title, parent)
        menu.addAction(self.status)
        menu.addSeparator()
        menu.addAction(self.activity)
        menu.addAction(self.presence)
        dnd = menu.addMenu("Do not disturb")
        for action in self.dnd.values():
            dnd.addAction(action)
        menu.addAction(self.browser)
        menu.addSeparator()
        menu.addAction(self.settings)
        menu.addSeparator()
        menu.addAction(self.quit)
        return menu
