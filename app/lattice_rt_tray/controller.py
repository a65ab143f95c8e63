"""The app's behaviour: what happens when events, clicks and settings arrive.

:class:`TrayController` gets every part by constructor from the composition
root (``main.py``) and connects nothing itself except its own timers; the
root links signals to its ``on_*`` slots. Every event, gap and presence entry
comes from a connection, named by its key, and is handled as that
connection's (see :mod:`.connections`). The controller never blocks the GUI
thread: requests go through the task runner, tokens through the vault, and
the quit sequence runs on a thread of its own with a hard deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QDialog

from lattice_rt_tray.logic.coalescer import NotificationCoalescer
from lattice_rt_tray.logic.dnd import DndMode, DoNotDisturb, menu_labels
from lattice_rt_tray.logic.link_status import intro, overview
from lattice_rt_tray.logic.notices import Notice, NoticeKind
from lattice_rt_tray.logic.presence_news import as_news, listed
from lattice_rt_tray.logic.resume import ServerIdentity
from lattice_rt_tray.logic.roster import Roster
from lattice_rt_tray.logic.status_display import away_count
from lattice_rt_tray.services.connection import Connection
from lattice_rt_tray.services.connections import ConnectionSet
from lattice_rt_tray.services.notifiers import MUTE_ACTION, READ_ACTION, Notifier
from lattice_rt_tray.services.settings import (
    GROUP_CONNECTIONS,
    GROUP_GENERAL,
    GROUP_NOTIFY,
    GROUP_PRESENCE,
    Settings,
)
from lattice_rt_tray.services.tasks import TaskRunner
from lattice_rt_tray.settings_flow import SettingsFlow
from lattice_rt_tray.system.autostart import Autostart
from lattice_rt_tray.system.shown_files import ShownFiles
from lattice_rt_tray.views.actions import AppActions
from lattice_rt_tray.views.activity_model import ActivityModel
from lattice_rt_tray.views.lazy_windows import LazyActivity, LazyWindow
from lattice_rt_tray.views.presence_model import PresenceModel
from lattice_rt_tray.views.tray import TrayIcon, TrayStatus
from lattice_rt_tray.views.windows import bring_forward

if TYPE_CHECKING:  # the windows' modules load when a window is first built
    from lattice_rt_tray.views.presence_window import PresenceWindow

__all__ = ["QUIT_BUDGET", "TrayController", "Views"]

log = logging.getLogger(__name__)

#: how long a notification's "Mute this workspace" lasts
MUTE_SECONDS = 3600.0
#: the notice (and its "server") offering to follow a Lattice AI server found here
FOUND_LATTICE = "found:lattice-ai"

QUIT_BUDGET = 2.0  # seconds from Quit to the event loop ending, whatever happens
LEAVE_SHARE = 0.4  # of it, at most this long waiting for presence leaves


@dataclass(slots=True)
class Views:
    """The widgets the controller drives (``tray`` is None without a system tray).

    The windows are built the first time they are needed (:mod:`.lazy_windows`);
    ``about`` makes the About dialog the first time it is asked for.
    """

    actions: AppActions
    tray: TrayIcon | None
    activity: LazyActivity
    presence: LazyWindow[PresenceWindow]
    about: Callable[[], QDialog]


class TrayController(QObject):
    """Signals:
    starting(): start() begins; nothing is connected yet.
    sign_in_requested(str): the user clicked "sign in again" for that connection.
    settings_requested(): the user clicked the offer to follow a server found here.
    quit_finished(): the quit sequence is over; the event loop may end.
    notice_shown(object): a Notice was handed to the notifier.
    status_changed(object): the TrayStatus after any change.
    caught_up(str): after a (re)connect of that connection, the replay was sorted
        out (live from now on).
    """

    starting = Signal()
    sign_in_requested = Signal(str)  # open Settings at this connection to sign in again
    settings_requested = Signal()  # open Settings (a notice offered a server to follow)
    quit_finished = Signal()
    notice_shown = Signal(object)
    status_changed = Signal(object)
    caught_up = Signal(str)
    _shutdown_done = Signal()

    def __init__(
        self,
        *,
        settings: Settings,
        views: Views,
        activity_model: ActivityModel,
        presence_model: PresenceModel,
        roster: Roster,
        coalescer: NotificationCoalescer,
        notifier: Notifier,
        connections: ConnectionSet,
        flow: SettingsFlow,
        runner: TaskRunner,
        autostart: Autostart,
        data_dir: Path,
        open_url: Callable[[str], str | None],
        shown: ShownFiles,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        quit_budget: float = QUIT_BUDGET,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.views = views
        self.activity_model = activity_model
        self.presence_model = presence_model
        self.roster = roster
        self.coalescer = coalescer
        self.notifier = notifier
        self.connections = connections
        self.flow = flow
        self.runner = runner
        self.autostart = autostart
        self.data_dir = data_dir
        #: what notifications showed, per connection, kept across a crash
        self.shown = shown
        self._open_url = open_url
        self._clock = clock
        self._wallclock = wallclock
        self._quit_budget = quit_budget

        self.quitting = False
        self._finished = False
        self._about: QDialog | None = None
        #: the connections' names last handed out (all of them, those switched on)
        self._named: tuple[dict[str, str], dict[str, str]] = ({}, {})
        self._shutdown_thread: threading.Thread | None = None

        self._sign_in_asked: set[str] = set()  # connections told to sign in again
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.on_notice_timer)
        self._dnd_timer = QTimer(self)
        self._dnd_timer.setSingleShot(True)
        self._dnd_timer.timeout.connect(self.on_dnd_expired)
        self._quit_timer = QTimer(self)
        self._quit_timer.setSingleShot(True)
        self._quit_timer.timeout.connect(self._finish)
        self._shutdown_done.connect(self._finish, Qt.ConnectionType.QueuedConnection)

    @property
    def connected(self) -> bool:
        """At least one connection is online."""
        return any(c.online for c in self.connections)

    # ---------------------------------------------------------------- start
    def start(self) -> None:
        """Show the tray (or the Activity window without one) and connect everything."""
        self.starting.emit()
        self._apply_notify_settings()
        for problem in self.settings.notify_problems():  # skipped, kept in the file
            self._report(f"Notifications: {problem}")
        if self.views.tray is not None:
            self.views.tray.show()
        else:
            self.views.activity.bring_forward()
        self.flow.start()
        self._refresh_status()

    # --------------------------------------------------------- connections
    @Slot(str, bool)
    def on_connected(self, key: str, resumed: bool) -> None:
        self.coalescer.connected(key, resumed=resumed)
        self._schedule_notices()

    @Slot(str, object)
    def on_caught_up(self, key: str, seq: object) -> None:
        self._show(self.coalescer.boundary(key, seq if isinstance(seq, int) else None))
        connection = self.connections.get(key)
        if connection is not None and not self.quitting:
            self.settings.set_resume_points(key, connection.resume_points())
        self._refresh_status()
        self.caught_up.emit(key)

    @Slot(str)
    def on_history_changed(self, key: str) -> None:
        """Another server (or history) behind the connection: its old counts do not apply."""
        self.coalescer.forget(key)
        self._clear_presence(key)

    @Slot(str)
    def on_connection_removed(self, key: str) -> None:
        self.coalescer.forget(key)
        self.shown.forget(key)
        self._clear_presence(key)
        self.activity_model.drop_server(key)
        self.on_connections_changed()

    @Slot()
    def on_connections_changed(self) -> None:
        """A connection came or went, was renamed or switched on or off."""
        self._named = every, used = self._names()
        self.coalescer.set_servers(used)
        self.views.actions.set_browser_targets(used)
        self.activity_model.set_servers(every)
        self.roster.set_servers(every)
        self.presence_model.rebuild()
        self._refresh_status()

    def _names(self) -> tuple[dict[str, str], dict[str, str]]:
        """Key -> name of every connection, and of those switched on."""
        every = self.connections.names()
        return every, {c.key: c.name for c in self.connections if c.settings.enabled}

    @Slot(str)
    def on_connection_changed(self, key: str) -> None:
        connection = self.connections.get(key)
        if connection is not None and not connection.settings.enabled:
            self._clear_presence(key)
        elif (connection is not None and connection.state is not None
              and not connection.online and not self.quitting):
            # unreachable: who was there stays, as last seen, and counts as nobody online
            since = datetime.fromtimestamp(self._wallclock(), UTC).isoformat()
            if self.roster.set_offline(key, since):
                self.presence_model.rebuild()
        self._ask_to_sign_in(connection)
        if self._names() != self._named:  # renamed, or switched on or off
            self.on_connections_changed()
        else:  # its state: the icon, the tooltip, the status bar
            self._refresh_status()

    @Slot(str, object)
    def on_joined(self, key: str, entries: list[dict[str, Any]]) -> None:
        log.info("%s: presence joined: %s", key, [e.get("client_id") for e in entries])
        connection = self.connections.get(key)
        if connection is not None:
            connection.refresh_presence()

    @Slot(str, object)
    def on_presence(self, key: str, entries: list[dict[str, Any]]) -> None:
        if self.quitting:
            return
        self.roster.replace(key, entries)
        self.presence_model.rebuild()
        self._refresh_status()

    def _clear_presence(self, key: str) -> None:
        self.roster.clear(key)
        self.presence_model.rebuild()
        self._refresh_status()

    @Slot(str, str)
    def on_connection_report(self, key: str, message: str) -> None:
        connection = self.connections.get(key)
        self._report(f"{connection.name}: {message}" if connection is not None else message)

    @Slot()
    def refresh_presence(self) -> None:
        for connection in self.connections:
            connection.refresh_presence()
        if self.roster.offline_servers():  # no snapshot comes from those: "last seen" anew
            self.presence_model.rebuild()

    # ------------------------------------------------------- stream events
    @Slot(str, object)
    def on_events(self, key: str, events: list[dict[str, Any]]) -> None:
        if self.quitting:
            return
        presence = any(e.get("area") == "presence" for e in events)
        self.activity_model.add_events(
            [e for e in events if self.listed(e)] if presence else events, server=key)
        offered = events
        if presence:
            changed = False
            offered = []
            for event in events:
                change = self.roster.apply_event(key, event)
                changed = changed or change.changed
                offered.append(as_news(event, change))
            if changed:
                self.presence_model.rebuild()
        # shown before this start (the app was killed after it): never again
        offered = self.shown.fresh(key, self._identity(key), offered)
        self._show(self.coalescer.offer(key, offered))
        if self.views.activity.is_visible():
            self.coalescer.mark_read()
        self._refresh_status()

    def listed(self, event: dict[str, Any]) -> bool:
        """Does ``event`` belong in the Activity list (see :func:`.presence_news.listed`)?"""
        return listed(event, self.coalescer.is_own)

    @Slot(str, object)
    def on_gap(self, key: str, body: dict[str, Any]) -> None:
        self.activity_model.add_gap(body, server=key)
        self.coalescer.gap(key, body)

    @Slot(str, object)
    def on_reset(self, key: str, body: dict[str, Any]) -> None:
        self.activity_model.add_gap({**body, "reason": "reset"}, server=key)
        self.coalescer.reset(key, body)

    # --------------------------------------------------------- notifications
    def _identity(self, key: str) -> ServerIdentity | None:
        """The history connection ``key`` follows (None: a server without ids of ours)."""
        connection = self.connections.get(key)
        return connection.guide.last if connection is not None else None

    def _show(self, notices: list[Notice]) -> None:
        """Record what the notices account for (on disk before any pops up), show them."""
        for key, events in self.coalescer.take_accounted().items():
            self.shown.note(key, self._identity(key), events)
        if notices:
            for problem in self.shown.save():
                self._report(problem)
        for notice in notices:
            self.notifier.show(notice)
            self.notice_shown.emit(notice)
        self._schedule_notices()

    def _schedule_notices(self) -> None:
        due = self.coalescer.next_due()
        if due is None:
            self._notice_timer.stop()
            return
        delay = max(0, int((due - self._clock()) * 1000) + 1)
        self._notice_timer.start(delay)

    @Slot()
    def on_notice_timer(self) -> None:
        holding = {c.key for c in self.connections if self.coalescer.holds(c.key)}
        self._show(self.coalescer.poll())
        self._refresh_status()
        for key in sorted(holding):
            if not self.coalescer.holds(key):
                self.caught_up.emit(key)

    def _ask_to_sign_in(self, connection: Connection | None) -> None:
        """Once per refusal: a notice that the session ended (never a silent retry loop)."""
        if connection is None:
            return
        key = connection.key
        if not connection.needs_sign_in:
            if connection.online:
                self._sign_in_asked.discard(key)
            return
        if key in self._sign_in_asked:
            return
        self._sign_in_asked.add(key)
        self._show([Notice(NoticeKind.EVENT, f"sign-in:{key}",
                           f"Sign in to {connection.settings.name} again",
                           "Its session ended or was refused. Click to sign in in Settings.",
                           None, 1, server=key)])

    @Slot(str)
    def on_lattice_found(self, url: str) -> None:
        """First start, and a Lattice AI server runs here: offer to follow it."""
        self._show([Notice(NoticeKind.EVENT, FOUND_LATTICE, "Lattice AI runs on this computer",
                           f"Click to follow it ({url}) in Settings.", None, 1,
                           server=FOUND_LATTICE)])

    @Slot(str, str, str)
    def on_notice_action(self, action: str, server: str, workspace: str) -> None:
        """A notification's button: mute its workspace for an hour, or mark all read."""
        if action == MUTE_ACTION and workspace:
            self.coalescer.mute_for(workspace, MUTE_SECONDS)
            self._report(f"{workspace} muted for an hour")
        elif action == READ_ACTION:
            self.coalescer.mark_read()
        self._refresh_status()

    @Slot(str, int)
    def on_notice_clicked(self, server: str, seq: int) -> None:
        if seq < 0 and server in self._sign_in_asked:
            self.sign_in_requested.emit(server)
            return
        if server == FOUND_LATTICE:
            self.settings_requested.emit()
            return
        self.on_activity_requested()
        if seq >= 0:
            self.views.activity.get().select_event(server, seq)

    # ------------------------------------------------------------ menu intents
    @Slot()
    def on_activity_requested(self) -> None:
        self.views.activity.bring_forward()

    @Slot()
    def on_activity_shown(self) -> None:
        self.coalescer.mark_read()
        self._refresh_status()

    @Slot()
    def on_presence_requested(self) -> None:
        self.views.presence.bring_forward()

    @Slot()
    def on_about_requested(self) -> None:
        if self._about is None:
            self._about = self.views.about()
        bring_forward(self._about)

    @Slot(str)
    def on_dnd_requested(self, mode: str) -> None:
        try:
            chosen = DndMode(mode)
        except ValueError:
            return
        self.settings.set_dnd(DoNotDisturb.start(chosen, self._now()))

    @Slot()
    def on_dnd_expired(self) -> None:
        self._apply_notify_settings()

    @Slot()
    def on_dnd_menu_opening(self) -> None:
        self.views.actions.set_dnd_labels(menu_labels(self.settings.dnd, self._now()))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._wallclock()).astimezone()

    @Slot(str)
    def on_browser_requested(self, key: str) -> None:
        connection = self.connections.get(key)
        client = connection.client if connection is not None else None
        if connection is None or client is None or not connection.online:
            name = connection.name if connection is not None else "the server"
            self._report(f"{name} is not connected yet")
            return
        open_url = self._open_url
        self.runner.run(  # both block: a launch request, then a browser start
            lambda: open_url(client.launch_url()),
            self._on_browser_started,
            lambda exc: self._report(f"cannot open the activity page: {exc}"),
        )

    def _on_browser_started(self, failure: object) -> None:
        if failure is not None:
            self._report(f"no browser started: {failure}")

    @Slot(str)
    def on_settings_changed(self, group: str) -> None:
        if self.quitting:
            return
        if group == GROUP_NOTIFY:
            self._apply_notify_settings()
        elif group in (GROUP_CONNECTIONS, GROUP_PRESENCE):
            self.flow.sync()
        elif group == GROUP_GENERAL:
            try:
                self.autostart.set_enabled(self.settings.values().autostart)
            except OSError as exc:
                self._report(f"cannot change start at login: {exc}")
        self._refresh_status()

    def _apply_notify_settings(self) -> None:
        self.coalescer.prefs = self.settings.values().notify
        dnd = self.settings.dnd
        self.coalescer.dnd = dnd
        now = self._wallclock()
        self.views.actions.show_dnd(dnd.mode(now))
        self.views.actions.set_dnd_labels(menu_labels(dnd, self._now()))
        self._dnd_timer.stop()
        ends = [t for t in (dnd.until if dnd.active(now) and not dnd.forever else None,
                            self.coalescer.quiet_changes_at()) if t is not None]
        if ends:  # do-not-disturb ends, or quiet hours start or end: look again then
            self._dnd_timer.start(max(0, int((min(ends) - now) * 1000)) + 50)
        self._show(self.coalescer.release_held())
        self._refresh_status()

    @Slot()
    def on_activation_requested(self) -> None:
        self.on_activity_requested()

    # ---------------------------------------------------------------- status
    def status(self) -> TrayStatus:
        people = self.roster.statuses()
        return TrayStatus(
            links=tuple(self.connections.statuses()),
            people_online=len(people),
            people_away=away_count(people),
            unread=self.coalescer.unread,
            dnd=(self.coalescer.dnd.describe(self._wallclock())
                 or self.coalescer.describe_quiet()),
        )

    def _refresh_status(self) -> None:
        status = self.status()
        if self.views.tray is not None:
            self.views.tray.update(status)
        summary = overview(status.links)
        text = summary.menu
        if status.connected and status.people_online:
            text += f" · {status.people}"
        if status.unread:
            text += f" · {status.unread} unread"
        self.views.actions.set_status(text)
        self.views.activity.set_connection_summary(summary.text, summary.level)
        self.views.activity.set_intro(intro(status.links, first_run=self._first_run()))
        self.flow.show_statuses(status.links)
        self.status_changed.emit(status)

    def _first_run(self) -> bool:
        """Nothing configured yet: only the endpoint on this computer, no team server."""
        return len(self.connections) <= 1

    @Slot(str)
    def on_report(self, message: str) -> None:
        self._report(message)

    def _report(self, message: str) -> None:
        """A passing problem the user should see: status bar and log, never a traceback."""
        log.warning("%s", message)
        self.views.activity.show_message(message, 10_000)

    # ------------------------------------------------------------------ quit
    @Slot()
    def quit(self) -> None:
        """Leave presence, stop clients and servers; over within the budget."""
        if self.quitting:
            self._finish()  # asked again (a second Ctrl-C): stop waiting
            return
        self.quitting = True
        deadline = self._clock() + self._quit_budget - 0.15
        for connection in self.connections:
            connection.close()
            self.settings.set_resume_points(connection.key, connection.resume_points())
        self.settings.sync()
        self._notice_timer.stop()
        self._dnd_timer.stop()
        if self.views.tray is not None:
            self.views.tray.hide()
        self.views.activity.main_window = False
        self.views.activity.hide()
        self.views.presence.hide()
        if self._about is not None:
            self._about.hide()
        self.flow.close()
        self._quit_timer.start(max(1, int((self._quit_budget - 0.05) * 1000)))
        self._shutdown_thread = threading.Thread(
            target=self._shutdown, args=(deadline,), name="quit", daemon=True
        )
        self._shutdown_thread.start()

    def _shutdown(self, deadline: float) -> None:
        try:
            leave_by = min(deadline, self._clock() + self._quit_budget * LEAVE_SHARE)
            self.connections.shutdown(deadline, leave_by, self._clock)
        except Exception:  # noqa: BLE001 - quitting must finish whatever happens
            log.exception("error while quitting")
        finally:
            try:
                self._shutdown_done.emit()
            except RuntimeError:  # the controller is already gone
                pass

    @property
    def finished(self) -> bool:
        """True once the quit sequence is over."""
        return self._finished

    def wait_for_shutdown(self, timeout: float) -> bool:
        """After the event loop: give the quit thread what is left of the budget."""
        thread = self._shutdown_thread
        if thread is None:
            return True
        thread.join(max(0.0, timeout))
        return not thread.is_alive()

    @Slot()
    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._quit_timer.stop()
        self.notifier.close()
        self.runner.close()
        self.quit_finished.emit()
