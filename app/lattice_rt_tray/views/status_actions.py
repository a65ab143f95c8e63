"""The "Status" submenu: automatic or a chosen status, and the status line.

Like ``actions.py``, the actions only emit intent signals; the controller
applies them to the status tracker. The status line is edited in
:class:`StatusLineDialog`, which checks it with the server's own rule (the
name rule, ``ApiLimits.max_status_text`` characters), so what it accepts no
server refuses.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from lattice_rt_core.protocol.limits import ApiLimits, name_problem
from lattice_rt_tray.logic.status_display import label, status_line
from lattice_rt_tray.logic.status_machine import ACTIVE, AWAY, DND, IDLE, StatusState
from lattice_rt_tray.logic.text import and_list

__all__ = ["MAX_STATUS_TEXT", "StatusActions", "StatusLineDialog"]

MAX_STATUS_TEXT = ApiLimits().max_status_text
#: the statuses one can choose by hand (each until "Automatic" is chosen again)
CHOICES = (ACTIVE, IDLE, AWAY, DND)
_AUTOMATIC = ""


class StatusActions(QObject):
    """Signals:
    manual_requested(object): a status chosen by hand, or None for automatic.
    text_requested(): open the status line editor.
    text_cleared(): remove the status line.
    """

    manual_requested = Signal(object)
    text_requested = Signal()
    text_cleared = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.current = QAction("Active", self)  # what others see now (not clickable)
        self.current.setEnabled(False)
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.choices: dict[str, QAction] = {}
        for key, text in ((_AUTOMATIC, "Automatic"), *((s, label(s)) for s in CHOICES)):
            action = QAction(text, self.group)
            action.setCheckable(True)
            action.setData(key)
            self.choices[key] = action
        self.choices[_AUTOMATIC].setChecked(True)
        self.edit_text = QAction("Set status line…", self)
        self.clear_text = QAction("Clear status line", self)
        self.clear_text.setEnabled(False)
        #: which servers keep no status (a Lattice AI server): said, not clickable
        self.unshared = QAction("", self)
        self.unshared.setEnabled(False)
        self.unshared.setVisible(False)
        self.menus: list[QMenu] = []  # every Status submenu made, titled with the status
        self.group.triggered.connect(self.on_choice)
        self.edit_text.triggered.connect(self.text_requested)
        self.clear_text.triggered.connect(self.text_cleared)

    @Slot(QAction)
    def on_choice(self, action: QAction) -> None:
        key = str(action.data())
        self.manual_requested.emit(key or None)

    def show_state(self, state: StatusState, manual: str | None) -> None:
        """Show the status others see and tick the choice (without emitting a request)."""
        line = status_line(state.status, state.text)
        self.current.setText(line)
        self.menus = [menu for menu in self.menus if shiboken6.isValid(menu)]  # gone with theirs
        for menu in self.menus:
            menu.setTitle(f"Status: {line}")
        self.choices[manual if manual in self.choices else _AUTOMATIC].setChecked(True)
        self.edit_text.setText("Change status line…" if state.text else "Set status line…")
        self.clear_text.setEnabled(bool(state.text))

    def show_unshared(self, names: list[str]) -> None:
        """Say which of the servers followed keep no status (an empty list: none)."""
        if names:
            self.unshared.setText(f"Not shared with {and_list(names)}: it keeps no status")
        self.unshared.setVisible(bool(names))

    def add_menu(self, menu: QMenu) -> QMenu:
        """Add the "Status" submenu to ``menu``; returns it."""
        sub = menu.addMenu(f"Status: {self.current.text()}")
        self.menus.append(sub)
        sub.addAction(self.current)
        sub.addAction(self.unshared)
        sub.addSeparator()
        for action in self.choices.values():
            sub.addAction(action)
        sub.addSeparator()
        sub.addAction(self.edit_text)
        sub.addAction(self.clear_text)
        return sub


class StatusLineDialog(QDialog):
    """Edit the status line; not modal to the app (``open()``), answers by signal.

    Signals:
        chosen(object): the new line, or None when it was emptied.
    """

    chosen = Signal(object)

    def __init__(self, text: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("status-line-dialog")
        self.setWindowTitle("Status line")
        self.edit = QLineEdit(text or "")
        self.edit.setObjectName("status-line")
        self.edit.setMaxLength(MAX_STATUS_TEXT)
        self.edit.setPlaceholderText("In a meeting until 3, Working from the train, …")
        self.edit.setClearButtonEnabled(True)
        self.problem = QLabel("")
        self.problem.setObjectName("status-line-problem")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("What others see next to your status:"))
        layout.addWidget(self.edit)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self.on_changed)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.accepted.connect(self.on_accepted)
        self.on_changed(self.edit.text())
        self.setMinimumWidth(title_width(self))


    def line(self) -> str | None:
        """The line as it would be sent (trimmed; None when empty)."""
        return self.edit.text().strip() or None

    @Slot(str)
    def on_changed(self, text: str) -> None:
        line = self.line()
        problem = None if line is None else name_problem(line, MAX_STATUS_TEXT)
        self.problem.setText(f"The status line {problem}." if problem else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)

    @Slot()
    def on_accepted(self) -> None:
        self.chosen.emit(self.line())


#: room for a title bar's icon and buttons beside the title (seen in a screenshot: a
#: dialog sized by its contents cut the title to "Status lin…ltime Tray")
_TITLE_BAR_EXTRA = 140


def title_width(window: QWidget) -> int:
    """A width at which ``window``'s title, as the window manager shows it ("Title — App"),
    is not cut."""
    app = QApplication.applicationDisplayName()
    title = f"{window.windowTitle()} — {app}" if app else window.windowTitle()
    return max(360, window.fontMetrics().horizontalAdvance(title) + _TITLE_BAR_EXTRA)
