"""The app's commands as QActions, shared by the tray menu and the window menu.

Every command is reachable from a menu (some desktops never deliver clicks on
the tray icon itself). The actions only emit intent signals; the controller
decides what happens.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from lattice_rt_tray.logic.dnd import DndMode
from lattice_rt_tray.logic.identity import APP_NAME
from lattice_rt_tray.views.status_actions import StatusActions

__all__ = ["AppActions"]

BROWSER = "Open in browser"


class AppActions(QObject):
    """Signals:
    activity_requested(): show the Activity window.
    presence_requested(): show the Presence window.
    dnd_requested(str): a DndMode value was picked.
    dnd_menu_opening(): the Do-not-disturb menu is about to show (time to say the times).
    browser_requested(str): open that connection's /activity page in the browser.
    settings_requested(): show the Settings dialog.
    about_requested(): show the About dialog.
    quit_requested(): quit (leave presence, stop everything).
    """

    activity_requested = Signal()
    presence_requested = Signal()
    dnd_requested = Signal(str)
    dnd_menu_opening = Signal()
    browser_requested = Signal(str)
    settings_requested = Signal()
    about_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status = QAction("Starting…", self)
        self.status.setEnabled(False)
        self.activity = QAction("Activity…", self)
        self.activity.setShortcut(QKeySequence("Ctrl+1"))
        self.presence = QAction("Presence…", self)
        self.presence.setShortcut(QKeySequence("Ctrl+2"))
        self.browser = QAction(BROWSER, self)  # one connection: opens its page
        self.browser_menu = QMenu(BROWSER)  # several: one entry per connection
        self.browser_menu.menuAction().setVisible(False)
        self._browser_key = ""
        self.settings = QAction("Settings…", self)
        self.settings.setShortcut(QKeySequence(QKeySequence.StandardKey.Preferences))
        self.about = QAction(f"About {APP_NAME}", self)
        self.about.setMenuRole(QAction.MenuRole.AboutRole)
        self.quit = QAction("Quit", self)
        self.quit.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        self.dnd_group = QActionGroup(self)
        self.dnd_group.setExclusive(True)
        self.dnd: dict[DndMode, QAction] = {}
        for mode in DndMode:
            action = QAction("", self.dnd_group)  # the controller says when each ends
            action.setCheckable(True)
            action.setData(mode.value)
            self.dnd[mode] = action
        self.dnd[DndMode.OFF].setChecked(True)
        self.my_status = StatusActions(self)  # the "Status" submenu: the user's own status

        self.activity.triggered.connect(self.activity_requested)
        self.presence.triggered.connect(self.presence_requested)
        self.browser.triggered.connect(lambda: self.browser_requested.emit(self._browser_key))
        self.settings.triggered.connect(self.settings_requested)
        self.about.triggered.connect(self.about_requested)
        self.quit.triggered.connect(self.quit_requested)
        self.dnd_group.triggered.connect(self.on_dnd_triggered)

    @Slot(QAction)
    def on_dnd_triggered(self, action: QAction) -> None:
        self.dnd_requested.emit(str(action.data()))

    def show_dnd(self, mode: DndMode) -> None:
        """Tick the entry for ``mode`` (without emitting a request)."""
        self.dnd[mode].setChecked(True)

    def set_dnd_labels(self, labels: Mapping[DndMode, str]) -> None:
        for mode, text in labels.items():
            if self.dnd[mode].text() != text:
                self.dnd[mode].setText(text)

    def set_browser_targets(self, names: Mapping[str, str]) -> None:
        """The connections whose page can be opened (key -> name, in order)."""
        keys = list(names)
        self._browser_key = keys[0] if keys else ""
        self.browser.setEnabled(bool(keys))
        self.browser.setVisible(len(keys) <= 1)
        self.browser_menu.clear()
        for key, name in names.items():
            action = self.browser_menu.addAction(name)
            action.triggered.connect(lambda _=False, k=key: self.browser_requested.emit(k))
        self.browser_menu.menuAction().setVisible(len(keys) > 1)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def build_menu(self, parent: QWidget | None = None, *, title: str = "") -> QMenu:
        menu = QMenu(title, parent)
        menu.addAction(self.status)
        menu.addSeparator()
        menu.addAction(self.activity)
        menu.addAction(self.presence)
        self.my_status.add_menu(menu)
        dnd = menu.addMenu("Do not disturb")
        dnd.aboutToShow.connect(self.dnd_menu_opening)
        for action in self.dnd.values():
            dnd.addAction(action)
        menu.addAction(self.browser)
        menu.addMenu(self.browser_menu)
        menu.addSeparator()
        menu.addAction(self.settings)
        menu.addAction(self.about)
        menu.addSeparator()
        menu.addAction(self.quit)
        return menu
