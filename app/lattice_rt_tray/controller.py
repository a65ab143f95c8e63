"""The app's behaviour: what happens when events, clicks and settings arrive.

:class:`TrayController` gets every part by constructor from the composition
root (``main.py``) and connects nothing itself except its own timers; the
root links signals to its ``on_*`` slots. It never blocks the GUI thread:
requests go through the task runner, and the quit sequence runs on a thread of
its own with a hard deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from lattice_rt_core.client import ClientState

from .actions import AppActions
from .activity_model import ActivityModel
from .activity_window import ActivityWindow
from .autostart import Autostart
from .coalescer import Notice, NotificationCoalescer
from .dnd import DndMode, DoNotDisturb
from .endpoint import ClientLike, Endpoint, EndpointConfig
from .notifiers import Notifier
from .presence_keeper import PresenceKeeper
from .presence_model import PresenceModel
from .presence_window import PresenceWindow
from .roster import Roster
from .settings import GROUP_GENERAL, GROUP_NOTIFY, GROUP_PRESENCE, GROUP_SERVER, Settings
from .settings_dialog import SettingsDialog
from .tasks import TaskRunner
from .text import people_online
from .tray import TrayIcon, TrayStatus

__all__ = ["QUIT_BUDGET", "TrayController", "Views"]

log = logging.getLogger(__name__)

QUIT_BUDGET = 2.0  # seconds from Quit to the event loop ending, whatever happens
LEAVE_SHARE = 0.4  # of it, at most this long waiting for presence leaves


@dataclass(slots=True)
class Views:
    """The widgets the controller drives (``tray`` is None without a system tray)."""

    actions: AppActions
    tray: TrayIcon | None
    activity: ActivityWindow
    presence: PresenceWindow
    settings_dialog: Callable[[], SettingsDialog]


class TrayController(QObject):
    """Signals:
    quit_finished(): the quit sequence is over; the event loop may end.
    notice_shown(object): a Notice was handed to the notifier.
    status_changed(object): the TrayStatus after any change.
    caught_up(): after a (re)connect, the replay was sorted out (live from now on).
    """

    quit_finished = Signal()
    notice_shown = Signal(object)
    status_changed = Signal(object)
    caught_up = Signal()
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
        endpoint: Endpoint,
        keeper: PresenceKeeper,
        runner: TaskRunner,
        autostart: Autostart,
        data_dir: Path,
        open_url: Callable[[str], str | None],
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
        self.endpoint = endpoint
        self.keeper = keeper
        self.runner = runner
        self.autostart = autostart
        self.data_dir = data_dir
        self._open_url = open_url
        self._clock = clock
        self._wallclock = wallclock
        self._quit_budget = quit_budget

        self.connected = False
        self.detail = "starting"
        self.quitting = False
        self._finished = False
        self._connects = 0
        self._initial_resume: int | None = None
        self._last_seq: int | None = None
        self._dialog: SettingsDialog | None = None
        self._shutdown_thread: threading.Thread | None = None

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

    # ---------------------------------------------------------------- start
    def endpoint_config(self) -> EndpointConfig:
        values = self.settings.values()
        return EndpointConfig(
            mode=values.server_mode,
            port=values.port,
            url=values.remote_url,
            token=values.remote_token,
            data_dir=self.data_dir,
        )

    def start(self) -> None:
        """Show the tray (or the Activity window without one) and connect."""
        self._apply_notify_settings()
        if self.views.tray is not None:
            self.views.tray.show()
        else:
            self.views.activity.bring_forward()
        self._connect_endpoint()
        self._refresh_status()

    def _connect_endpoint(self, leave: list[str] | None = None) -> None:
        config = self.endpoint_config()
        resume = self.settings.last_event_id(config.identity)
        self._initial_resume = resume
        self._connects = 0
        self.detail = f"connecting to {config.label}"
        self.endpoint.start(config, self.keeper.client_ids(), resume, leave=leave or ())

    # ------------------------------------------------------- stream events
    @Slot(object)
    def on_events(self, events: list[dict[str, Any]]) -> None:
        if self.quitting:
            return
        self.activity_model.add_events(events)
        if any(e.get("area") == "presence" for e in events):
            changed = False
            for event in events:
                changed = self.roster.apply("", event) or changed
            if changed:
                self.presence_model.rebuild()
        seqs = [e["seq"] for e in events if isinstance(e.get("seq"), int)]
        if seqs:
            self._last_seq = max(seqs) if self._last_seq is None else max(self._last_seq, *seqs)
        self._show(self.coalescer.offer(events))
        if self.views.activity.isVisible():
            self.coalescer.mark_read()
        self._refresh_status()

    @Slot(object)
    def on_gap(self, body: dict[str, Any]) -> None:
        self.activity_model.add_gap(body)
        self.coalescer.gap(body)

    @Slot(object)
    def on_reset(self, body: dict[str, Any]) -> None:
        self.activity_model.add_gap({**body, "reason": "reset"})
        self.coalescer.reset(body)
        server_seq = body.get("server_seq")
        self._last_seq = server_seq if isinstance(server_seq, int) else None

    @Slot(object, str)
    def on_state(self, state: ClientState, detail: str) -> None:
        if self.quitting:
            return
        was = self.connected
        self.connected = state is ClientState.CONNECTED
        self.detail = detail
        if was and not self.connected:
            self.keeper.stop_keep_alive()
        if self.connected and not was:
            self._on_connected()
        self._refresh_status()

    def _on_connected(self) -> None:
        client = self.endpoint.client
        if client is None:
            return
        self._connects += 1
        resumed = self._connects > 1 or self._initial_resume is not None
        self.coalescer.connected(resumed=resumed)
        self._schedule_notices()

        def stats() -> dict[str, Any] | None:
            answer = client.health().get("stats")
            return answer if isinstance(answer, dict) else None

        self.runner.run(
            stats,
            lambda answer: self._on_stats(client, answer),
            lambda exc: self._on_stats(client, None),
        )
        self.keeper.join(client)
        self.refresh_presence()

    def _on_stats(self, client: ClientLike, stats: dict[str, Any] | None) -> None:
        stats = stats or {}
        ttl = stats.get("presence_ttl")
        if self.connected and not self.quitting and client is self.endpoint.client:
            self.keeper.keep_alive(client, float(ttl) if isinstance(ttl, int | float) else None)
        seq = stats.get("seq")
        self._on_boundary(seq if isinstance(seq, int) else None)

    def _on_boundary(self, seq: object) -> None:
        self._show(self.coalescer.boundary(seq if isinstance(seq, int) else None))
        self._refresh_status()
        self.caught_up.emit()

    @Slot(str)
    def on_endpoint_started(self, url: str) -> None:
        self.detail = f"connecting to {url}"
        self._refresh_status()

    @Slot(str)
    def on_endpoint_failed(self, message: str) -> None:
        self.connected = False
        self.detail = f"cannot start: {message}"
        self._refresh_status()
        self._report(self.detail)

    @Slot(object)
    def on_joined(self, entries: list[dict[str, Any]]) -> None:
        log.info("presence joined: %s", [e.get("client_id") for e in entries])
        self.refresh_presence()

    @Slot(str)
    def on_join_failed(self, message: str) -> None:
        self._report(message)

    @Slot()
    def refresh_presence(self) -> None:
        client = self.endpoint.client
        if client is None or self.quitting:
            return
        self.runner.run(client.presence, self._on_presence_snapshot)

    def _on_presence_snapshot(self, answer: object) -> None:
        entries = answer.get("presence") if isinstance(answer, dict) else None
        if isinstance(entries, list):
            self.roster.replace("", (e for e in entries if isinstance(e, dict)))
            self.presence_model.rebuild()
            self._refresh_status()

    # --------------------------------------------------------- notifications
    def _show(self, notices: list[Notice]) -> None:
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
        holding = self.coalescer.holding
        self._show(self.coalescer.poll())
        self._refresh_status()
        if holding and not self.coalescer.holding:
            self.caught_up.emit()

    @Slot(int)
    def on_notice_clicked(self, seq: int) -> None:
        self.on_activity_requested()
        if seq >= 0:
            self.views.activity.select_event("", seq)

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

    @Slot(str)
    def on_dnd_requested(self, mode: str) -> None:
        try:
            chosen = DndMode(mode)
        except ValueError:
            return
        now = datetime.fromtimestamp(self._wallclock()).astimezone()
        self.settings.set_dnd(DoNotDisturb.start(chosen, now))

    @Slot()
    def on_dnd_expired(self) -> None:
        self._apply_notify_settings()
        self._refresh_status()

    @Slot()
    def on_browser_requested(self) -> None:
        client = self.endpoint.client
        if client is None:
            self._report("not connected yet")
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

    @Slot()
    def on_settings_requested(self) -> None:
        if self._dialog is None:
            self._dialog = self.views.settings_dialog()
            self._dialog.apply_requested.connect(self.on_settings_apply)
        self._dialog.load(self.settings.values())
        self._dialog.show()
        self._dialog.raise_()
        self._dialog.activateWindow()

    @Slot(object)
    def on_settings_apply(self, values: object) -> None:
        try:
            self.settings.apply(values)  # type: ignore[arg-type]
        except ValueError as exc:
            self._report(str(exc))

    @Slot(str)
    def on_settings_changed(self, group: str) -> None:
        if self.quitting:
            return
        values = self.settings.values()
        if group == GROUP_NOTIFY:
            self._apply_notify_settings()
        elif group == GROUP_PRESENCE:
            removed = self.keeper.configure(values.display_name, values.workspaces)
            self.endpoint.restart_client(self.keeper.client_ids(), leave=removed)
        elif group == GROUP_SERVER:
            self._save_resume_point()
            self.connected = False
            self.roster.clear("")
            self.presence_model.rebuild()
            self._connect_endpoint(leave=self.keeper.client_ids())
        elif group == GROUP_GENERAL:
            try:
                self.autostart.set_enabled(values.autostart)
            except OSError as exc:
                self._report(f"cannot change start at login: {exc}")
        self._refresh_status()

    def _apply_notify_settings(self) -> None:
        self.coalescer.prefs = self.settings.values().notify
        dnd = self.settings.dnd
        self.coalescer.dnd = dnd
        now = self._wallclock()
        self.views.actions.show_dnd(dnd.mode(now))
        self._dnd_timer.stop()
        if dnd.until is not None and not dnd.forever and dnd.active(now):
            self._dnd_timer.start(max(0, int((dnd.until - now) * 1000)) + 50)
        self._refresh_status()

    @Slot()
    def on_activation_requested(self) -> None:
        self.on_activity_requested()

    # ---------------------------------------------------------------- status
    def status(self) -> TrayStatus:
        now = self._wallclock()
        return TrayStatus(
            connected=self.connected,
            detail=self.detail,
            server=self.endpoint.url or self.endpoint_config().label,
            people_online=self.roster.online_count(),
            unread=self.coalescer.unread,
            dnd=self.coalescer.dnd.describe(now),
        )

    def _refresh_status(self) -> None:
        status = self.status()
        if self.views.tray is not None:
            self.views.tray.update(status)
        text = "Connected" if status.connected else "Offline"
        if status.connected and status.people_online:
            text += f" · {people_online(status.people_online)}"
        if status.unread:
            text += f" · {status.unread} unread"
        self.views.actions.set_status(text)
        self.views.activity.set_connection_summary(
            status.detail if not status.connected else f"connected to {status.server}",
            "ok" if status.connected else "warning",
        )
        self.status_changed.emit(status)

    def _report(self, message: str) -> None:
        """A problem the user should see: status bar and log, never a traceback."""
        log.warning("%s", message)
        self.views.activity.statusBar().showMessage(message, 10_000)

    def _save_resume_point(self) -> None:
        config = self.endpoint.config
        if config is not None and self._last_seq is not None:
            self.settings.set_last_event_id(config.identity, self._last_seq)

    # ------------------------------------------------------------------ quit
    @Slot()
    def quit(self) -> None:
        """Leave presence, stop the client and the server; over within the budget."""
        if self.quitting:
            self._finish()  # asked again (a second Ctrl-C): stop waiting
            return
        self.quitting = True
        self.keeper.stop_keep_alive()
        deadline = self._clock() + self._quit_budget - 0.15
        self._save_resume_point()
        self.settings.sync()
        self._notice_timer.stop()
        self._dnd_timer.stop()
        if self.views.tray is not None:
            self.views.tray.hide()
        self.views.activity.main_window = False
        self.views.activity.hide()
        self.views.presence.hide()
        if self._dialog is not None:
            self._dialog.hide()
        self._quit_timer.start(max(1, int((self._quit_budget - 0.05) * 1000)))
        self._shutdown_thread = threading.Thread(
            target=self._shutdown, args=(deadline,), name="quit", daemon=True
        )
        self._shutdown_thread.start()

    def _shutdown(self, deadline: float) -> None:
        try:
            client = self.endpoint.client
            if client is not None:
                leave_by = min(deadline, self._clock() + self._quit_budget * LEAVE_SHARE)
                self.keeper.leave_all_blocking(client, leave_by, self._clock)
            self.endpoint.shutdown(deadline, self._clock)
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
