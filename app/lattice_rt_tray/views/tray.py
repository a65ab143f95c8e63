"""The system tray icon: its look, its tooltip, its menu."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from lattice_rt_tray.logic.identity import APP_NAME
from lattice_rt_tray.logic.link_status import LinkStatus, overview
from lattice_rt_tray.logic.status_display import people_line
from lattice_rt_tray.views.actions import AppActions
from lattice_rt_tray.views.icons import TrayState, tray_icon

__all__ = ["TrayIcon", "TrayStatus", "tooltip", "tray_state"]


@dataclass(frozen=True, slots=True)
class TrayStatus:
    links: tuple[LinkStatus, ...]  # every connection, in display order
    people_online: int  # people present (away ones too)
    unread: int
    dnd: str  # "" when off, else "Do not disturb until 14:05"
    people_away: int = 0  # of them, those away

    @property
    def people(self) -> str:
        """``5 people online · 2 away``."""
        return people_line(self.people_online, self.people_away)

    @property
    def connected(self) -> bool:
        """At least one connection is online."""
        return any(link.online for link in self.links)


def tray_state(status: TrayStatus) -> TrayState:
    """Offline wins (the most important thing to know), then a warning, DND, unread."""
    icon = overview(status.links).icon
    if icon == "offline":
        return TrayState.OFFLINE
    if icon == "warning":
        return TrayState.WARNING
    if status.dnd:
        return TrayState.DND
    if status.unread:
        return TrayState.UNREAD
    return TrayState.ONLINE


def tooltip(status: TrayStatus) -> str:
    """The app, then one line per connection, then people, unread and do-not-disturb."""
    lines = [APP_NAME]
    lines.extend(link.line() for link in status.links)
    if not status.links:
        lines.append("no server")
    lines.append(status.people)
    lines.append(f"{status.unread} unread" if status.unread else "no unread activity")
    if status.dnd:
        lines.append(status.dnd)
    return "\n".join(lines)


class TrayIcon(QObject):
    """Signals:
    activated(): the icon itself was clicked (where the desktop reports it).
    """

    activated = Signal()

    def __init__(self, actions: AppActions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.menu: QMenu = actions.build_menu()
        self.icon = QSystemTrayIcon(self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self.on_activated)
        self.state = TrayState.OFFLINE
        self.status: TrayStatus | None = None
        self.icon.setIcon(tray_icon(self.state))
        self.icon.setToolTip(f"{APP_NAME}\nstarting…")

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def update(self, status: TrayStatus) -> None:
        state = tray_state(status)
        if state is not self.state:
            self.state = state
            self.icon.setIcon(tray_icon(state))
        self.status = status
        text = tooltip(status)
        if text != self.icon.toolTip():
            self.icon.setToolTip(text)

    @Slot(QSystemTrayIcon.ActivationReason)
    def on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.activated.emit()
