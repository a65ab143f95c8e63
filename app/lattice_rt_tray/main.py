"""The composition root of the tray app: build every part, wire it, run it.

``main()`` parses the command line, makes the QApplication, makes sure only
one instance runs, installs the Ctrl-C/SIGTERM handler and calls
:func:`build`, which creates every object and passes each one what it needs
by constructor, then connects their signals (``link``). Nothing else in the
package creates long-lived objects or reads global settings.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QDialog, QSystemTrayIcon

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.api import ApiError
from lattice_rt_core.net.browser import open_browser
from lattice_rt_core.net.discovery import discover, find_lattice_ai
from lattice_rt_core.paths import default_data_dir
from lattice_rt_core.process.child import ChildServer, dismiss
from lattice_rt_core.process.config import ServerConfig
from lattice_rt_core.version import __version__
from lattice_rt_tray.controller import QUIT_BUDGET, TrayController, Views
from lattice_rt_tray.history_link import HistoryLink
from lattice_rt_tray.logic.coalescer import DEFAULT_WINDOW, NotificationCoalescer
from lattice_rt_tray.logic.connection_types import (
    ClientFactory,
    Discover,
    ServerFactory,
    ServerLike,
)
from lattice_rt_tray.logic.history import HistoryPages
from lattice_rt_tray.logic.identity import APP_ID, APP_NAME, BUNDLE_ID, SUMMARY
from lattice_rt_tray.logic.resume import ResumeGuide
from lattice_rt_tray.logic.roster import Roster
from lattice_rt_tray.logic.settings_values import ConnectionSettings
from lattice_rt_tray.logic.status_machine import StatusMachine
from lattice_rt_tray.services.bridge import ClientBridge
from lattice_rt_tray.services.connection import Connection, Presence
from lattice_rt_tray.services.connections import ConnectionSet
from lattice_rt_tray.services.idle_watcher import IdleWatcher
from lattice_rt_tray.services.notifiers import Notifier, RecordingNotifier, TrayMessageNotifier
from lattice_rt_tray.services.presence_keeper import PresenceKeeper
from lattice_rt_tray.services.settings import Settings
from lattice_rt_tray.services.single_instance import SingleInstance, instance_key
from lattice_rt_tray.services.status_tracker import StatusTracker
from lattice_rt_tray.services.tasks import TaskRunner
from lattice_rt_tray.services.token_vault import KeyringLike, TokenVault, default_keyring
from lattice_rt_tray.services.unix_signals import SignalHandler
from lattice_rt_tray.settings_flow import SettingsFlow
from lattice_rt_tray.status_link import StatusLink
from lattice_rt_tray.system.autostart import Autostart
from lattice_rt_tray.system.gc_pauses import freeze_survivors
from lattice_rt_tray.system.idle.auto import choose_backend
from lattice_rt_tray.system.idle.base import IdleBackend
from lattice_rt_tray.system.shown_files import SHOWN_DIR, ShownFiles
from lattice_rt_tray.system.thread_errors import quiet_lost_connections
from lattice_rt_tray.views.actions import AppActions
from lattice_rt_tray.views.activity_model import ActivityModel
from lattice_rt_tray.views.icons import app_icon, app_icon_file
from lattice_rt_tray.views.lazy_windows import LazyActivity, LazyWindow
from lattice_rt_tray.views.presence_model import PresenceModel
from lattice_rt_tray.views.status_actions import StatusLineDialog
from lattice_rt_tray.views.tray import TrayIcon

if TYPE_CHECKING:
    from lattice_rt_tray.views.activity_window import ActivityWindow
    from lattice_rt_tray.views.presence_window import PresenceWindow
    from lattice_rt_tray.views.settings_dialog import SettingsDialog

__all__ = [
    "TrayApp", "build", "choose_notifier", "main", "no_display", "settle_after_startup",
]

log = logging.getLogger("lattice_rt_tray")

NOTIFIERS = ("auto", "dbus", "tray", "record")


class EmbeddedServers:
    """The embedded endpoint: a child process (POSIX), else a server on a thread here.

    In a process of its own the endpoint never competes with the windows for
    this interpreter, and a crash of either leaves the other running
    (:mod:`lattice_rt_core.process.child`). ``warm``: a child started ahead by
    the launcher (:mod:`.launch`), adopted by the first start.
    """

    def __init__(self, warm: subprocess.Popen[str] | None = None) -> None:
        self._warm = warm

    def __call__(self, port: int, data_dir: Path) -> ServerLike:
        config = ServerConfig(port=port, data_dir=data_dir)
        if os.name != "posix":  # pragma: no cover - no stdin-bound children elsewhere yet
            from lattice_rt_core.server import RealtimeServer

            return RealtimeServer(config)
        return ChildServer(config, warm=self.take)

    def take(self) -> subprocess.Popen[str] | None:
        warm, self._warm = self._warm, None
        return warm

    def close(self) -> None:
        """Dismiss a warm child nobody adopted (the settings wanted no embedded endpoint)."""
        dismiss(self.take())


embedded_server = EmbeddedServers()


def find_local_server(data_dir: Path) -> tuple[str, str | None] | None:
    """A server already running on this data dir (``lattice-rt serve``), if any."""
    try:
        return discover(data_dir=data_dir)
    except (ApiError, OSError, ValueError, KeyError):
        return None


def choose_notifier(kind: str, tray: QSystemTrayIcon | None, parent: QObject) -> Notifier:
    """``auto``: native D-Bus notifications on Linux when a daemon answers, else the tray.

    Falls back in that order and never fails: without a tray or D-Bus the
    recording notifier keeps the app running (notifications then only show in
    the Activity window).
    """
    if kind == "record":
        return RecordingNotifier(parent)
    if kind in ("auto", "dbus") and sys.platform.startswith("linux"):
        try:
            from lattice_rt_tray.services.notifier_dbus import (
                DBusNotifier,
                NotificationsUnavailable,
            )
        except ImportError as exc:  # jeepney missing
            log.info("D-Bus notifications unavailable: %s", exc)
        else:
            try:
                return DBusNotifier(
                    app_name=APP_NAME,
                    app_icon=str(app_icon_file(64)),
                    desktop_entry=APP_ID,
                    parent=parent,
                )
            except NotificationsUnavailable as exc:
                log.info("%s; falling back", exc)
    if tray is not None and QSystemTrayIcon.supportsMessages():
        return TrayMessageNotifier(tray, parent)
    log.info("no way to show notifications here; they only appear in the Activity window")
    return RecordingNotifier(parent)


@dataclass(slots=True)
class TrayApp:
    """Everything :func:`build` made (tests reach the parts through it).

    ``root`` owns the QObjects; keep this value alive as long as the app runs.
    """

    root: QObject
    controller: TrayController
    settings: Settings
    bridge: ClientBridge
    connections: ConnectionSet
    vault: TokenVault
    flow: SettingsFlow
    coalescer: NotificationCoalescer
    notifier: Notifier
    views: Views
    activity_model: ActivityModel
    presence_model: PresenceModel
    roster: Roster
    runner: TaskRunner
    keyring_runner: TaskRunner
    status: StatusLink
    history: HistoryLink


def build(
    *,
    settings: Settings,
    data_dir: Path,
    tray_available: bool,
    notifier: str | Callable[[QSystemTrayIcon | None, QObject], Notifier] = "auto",
    server_factory: ServerFactory = embedded_server,
    client_factory: ClientFactory = RealtimeClient,
    discover_local: Discover = find_local_server,
    find_lattice: Callable[[], str | None] = find_lattice_ai,
    keyring: Callable[[], KeyringLike | None] = default_keyring,
    autostart: Autostart | None = None,
    open_url: Callable[[str], str | None] = open_browser,
    idle_backend: Callable[[], IdleBackend] = choose_backend,
    clock: Callable[[], float] = time.monotonic,
    wallclock: Callable[[], float] = time.time,
    quit_budget: float = QUIT_BUDGET,
    notify_window: float = DEFAULT_WINDOW,
    parent: QObject | None = None,
) -> TrayApp:
    """Create and wire the whole app (not started: call ``controller.start()``)."""
    root = parent or QObject()
    settings.migrate(data_dir)
    values = settings.values()
    instance_id = settings.instance_id

    actions = AppActions(root)
    tray = TrayIcon(actions, root) if tray_available else None
    activity_model = ActivityModel(root)
    roster = Roster(self_prefix=f"{instance_id}:")
    presence_model = PresenceModel(roster, root)
    activity = LazyActivity(lambda: _activity_window(activity_model, actions),
                            main_window=not tray_available, clock=clock, parent=root)
    presence: LazyWindow[PresenceWindow] = LazyWindow(
        lambda: _presence_window(presence_model), root)
    views = Views(actions=actions, tray=tray, activity=activity, presence=presence,
                  about=lambda: _about(activity.window))
    if callable(notifier):
        chosen = notifier(tray.icon if tray else None, root)
    else:
        chosen = choose_notifier(notifier, tray.icon if tray else None, root)
    log.info("notifications: %s", chosen.name)

    coalescer = NotificationCoalescer(
        instance_id=instance_id, clock=clock, wallclock=wallclock, prefs=values.notify,
        dnd=settings.dnd, window=notify_window,
    )
    bridge = ClientBridge(root)
    runner = TaskRunner("requests", workers=4, parent=root)
    keyring_runner = TaskRunner("keyring", workers=1, parent=root)

    def connection(conn: ConnectionSettings, presence: Presence, owner: QObject) -> Connection:
        """One connection and what it alone owns: a lifecycle thread, a presence keeper."""
        return Connection(
            conn,
            presence,
            bridge=bridge,
            keeper=PresenceKeeper(instance_id, runner, display_name=presence[0],
                                  workspaces=presence[1]),
            guide=ResumeGuide(settings.resume_points(conn.key),
                              legacy=settings.legacy_resume(conn.key)),
            lifecycle=TaskRunner(f"connection-{conn.key}", workers=1),
            requests=runner,
            server_factory=server_factory,
            client_factory=client_factory,
            discover=discover_local,
            data_dir=data_dir,
            parent=owner,
        )

    connections = ConnectionSet(bridge, connection, root)
    vault = TokenVault(keyring_runner, settings, backend=keyring, parent=root)
    flow = SettingsFlow(
        settings=settings, vault=vault, connections=connections, runner=runner,
        dialog=lambda: _settings_dialog(activity.window), client_factory=client_factory,
        find_lattice=find_lattice, parent=root,
    )
    controller = TrayController(
        settings=settings,
        views=views,
        activity_model=activity_model,
        presence_model=presence_model,
        roster=roster,
        coalescer=coalescer,
        notifier=chosen,
        connections=connections,
        flow=flow,
        runner=runner,
        autostart=autostart or Autostart(),
        data_dir=data_dir,
        open_url=open_url,
        shown=ShownFiles(data_dir / SHOWN_DIR),
        clock=clock,
        wallclock=wallclock,
        quit_budget=quit_budget,
        parent=root,
    )
    tracker = StatusTracker(
        StatusMachine(clock=clock, idle_after=values.idle_after, away_after=values.away_after),
        IdleWatcher(idle_backend(), root),
        clock=clock,
        parent=root,
    )
    size = settings.history_size()
    pages = HistoryPages() if size is None else HistoryPages(size)
    history = HistoryLink(pages=pages, connections=connections, model=activity_model,
                          window=activity, listed=controller.listed, parent=root)
    status = StatusLink(
        tracker=tracker, connections=connections, actions=actions.my_status,
        settings=settings, line_dialog=lambda text: StatusLineDialog(text, activity.window),
        parent=root,
    )
    app = TrayApp(
        root=root, controller=controller, settings=settings, bridge=bridge,
        connections=connections, vault=vault, flow=flow, coalescer=coalescer, notifier=chosen,
        views=views, activity_model=activity_model, presence_model=presence_model,
        roster=roster, runner=runner, keyring_runner=keyring_runner, status=status,
        history=history,
    )
    link(app)
    return app


# The windows' and dialogs' modules load when one is first built, not before the first
# frame. A dialog belongs to the Activity window if that is built by then.
def _activity_window(model: ActivityModel, actions: AppActions) -> ActivityWindow:
    from lattice_rt_tray.views.activity_window import ActivityWindow

    return ActivityWindow(model, actions)


def _presence_window(model: PresenceModel) -> PresenceWindow:
    from lattice_rt_tray.views.presence_window import PresenceWindow

    return PresenceWindow(model)


def _about(parent: ActivityWindow | None) -> QDialog:
    from lattice_rt_tray.views.about import AboutDialog

    return AboutDialog(parent)


def _settings_dialog(parent: ActivityWindow | None) -> SettingsDialog:
    from lattice_rt_tray.views.settings_dialog import SettingsDialog

    return SettingsDialog(parent)


def link(app: TrayApp) -> None:
    """Connect every signal to its slot: the whole app's wiring in one place."""
    c, v, conns = app.controller, app.views, app.connections
    app.bridge.events_received.connect(c.on_events)
    app.bridge.gap_received.connect(c.on_gap)
    app.bridge.reset_received.connect(c.on_reset)
    conns.connected.connect(c.on_connected)
    conns.caught_up.connect(c.on_caught_up)
    conns.history_changed.connect(c.on_history_changed)
    conns.changed.connect(c.on_connection_changed)
    conns.added.connect(c.on_connections_changed)
    conns.removed.connect(c.on_connection_removed)
    conns.joined.connect(c.on_joined)
    conns.presence.connect(c.on_presence)
    conns.report.connect(c.on_connection_report)
    app.vault.ready.connect(app.flow.on_tokens_ready)
    app.vault.failed.connect(c.on_report)
    app.flow.report.connect(c.on_report)
    app.notifier.activated.connect(c.on_notice_clicked)
    app.notifier.acted.connect(c.on_notice_action)
    app.settings.changed.connect(c.on_settings_changed)
    a = v.actions
    a.activity_requested.connect(c.on_activity_requested)
    a.presence_requested.connect(c.on_presence_requested)
    a.dnd_requested.connect(c.on_dnd_requested)
    a.dnd_menu_opening.connect(c.on_dnd_menu_opening)
    a.browser_requested.connect(c.on_browser_requested)
    a.settings_requested.connect(app.flow.on_settings_requested)
    c.sign_in_requested.connect(app.flow.on_sign_in_requested)
    app.flow.lattice_found.connect(c.on_lattice_found)
    c.settings_requested.connect(app.flow.on_settings_requested)
    a.about_requested.connect(c.on_about_requested)
    a.quit_requested.connect(c.quit)
    if v.tray is not None:
        v.tray.activated.connect(c.on_activity_requested)
    v.activity.built.connect(lambda window: link_activity(app, window))
    v.presence.built.connect(lambda window: window.refresh_requested.connect(c.refresh_presence))
    h = app.history
    conns.caught_up.connect(h.on_caught_up)
    conns.history_changed.connect(h.forget)
    conns.removed.connect(h.forget)
    c.quit_finished.connect(h.close)
    st = app.status
    c.starting.connect(st.start)  # before any connection starts: its joins say the status
    c.status_changed.connect(st.on_tray_status)
    c.quit_finished.connect(st.close)
    st.tracker.changed.connect(st.on_changed)
    st.tracker.suspending.connect(st.on_suspending)
    st.tracker.resumed.connect(st.on_resumed)
    app.settings.changed.connect(st.on_settings_changed)
    mine = a.my_status
    mine.manual_requested.connect(st.on_manual_requested)
    mine.text_requested.connect(st.on_text_requested)
    mine.text_cleared.connect(st.on_text_cleared)


def link_activity(app: TrayApp, window: ActivityWindow) -> None:
    """The Activity window's part of :func:`link`, once it is built."""
    window.shown.connect(app.controller.on_activity_shown)
    window.close_requested.connect(app.controller.quit)
    window.older_requested.connect(app.history.on_older_requested)
    app.history.on_window_built()


def settle_after_startup(app: TrayApp) -> None:
    """Process-wide tuning for the running program (not for apps built in tests).

    Once the app first caught up (server up, client connected, every module
    imported), what exists lives as long as the process: take it out of the
    garbage collector's full passes (see :mod:`.gc_pauses`).
    """
    app.controller.caught_up.connect(
        lambda _key: freeze_survivors(), Qt.ConnectionType.SingleShotConnection
    )


# ---------------------------------------------------------------------- main
def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=APP_ID,
        description=f"{SUMMARY}, in the system tray.",
    )
    parser.add_argument("--settings", type=Path, help="settings file (an ini file)")
    parser.add_argument("--data-dir", type=Path, help="data directory of the embedded server")
    parser.add_argument("--notifier", choices=NOTIFIERS, default="auto",
                        help="how to show notifications (default: auto)")
    parser.add_argument("--no-tray", action="store_true",
                        help="act as if the desktop had no system tray")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def _set_windows_app_id() -> None:
    """Windows groups notifications by AppUserModelID; use the installer's."""
    if sys.platform == "win32":  # pragma: no cover - not testable here
        import ctypes

        try:
            ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(BUNDLE_ID)
        except (AttributeError, OSError):
            pass


def no_display(environ: Mapping[str, str], platform: str) -> str | None:
    """Why Qt would abort for want of a display here, in one line; None when it would not.

    Only on the X11/Wayland systems: Windows and macOS always have their own.
    ``QT_QPA_PLATFORM`` set by the user (``offscreen``, ``xcb``) is their choice.
    """
    if platform in ("win32", "darwin") or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        f"{APP_ID}: no display (neither DISPLAY nor WAYLAND_DISPLAY is set): start it in a "
        "desktop session, or with QT_QPA_PLATFORM=offscreen for a headless test"
    )


def main(argv: list[str] | None = None, warm: subprocess.Popen[str] | None = None) -> int:
    """Run the app; ``warm``: the embedded endpoint's process, started ahead (``launch``)."""
    servers = EmbeddedServers(warm)
    try:
        return _main(sys.argv[1:] if argv is None else argv, servers)
    finally:
        servers.close()


def _main(argv: list[str], servers: EmbeddedServers) -> int:
    args = parse_args(argv)
    problem = no_display(os.environ, sys.platform) if QApplication.instance() is None else None
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    _set_windows_app_id()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    quiet_lost_connections()  # the session bus ending before the app: a line, not a traceback
    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName(APP_ID)
    qapp.setApplicationDisplayName(APP_NAME)
    qapp.setApplicationVersion(__version__)
    qapp.setDesktopFileName(APP_ID)
    qapp.setWindowIcon(app_icon())

    settings = Settings.open(args.settings)
    instance = SingleInstance(instance_key(settings.path))
    try:
        first = instance.acquire()
    except OSError as exc:
        print(f"{APP_ID}: {exc}", file=sys.stderr)
        return 1
    if not first:
        if instance.ask_running_instance():
            print(f"{APP_ID} is already running; showed its Activity window.")
            return 0
        print(f"{APP_ID} is already running but does not answer.", file=sys.stderr)
        return 1

    data_dir = args.data_dir or default_data_dir()
    tray_available = not args.no_tray and QSystemTrayIcon.isSystemTrayAvailable()
    qapp.setQuitOnLastWindowClosed(False)
    app = build(
        settings=settings, data_dir=data_dir, tray_available=tray_available,
        server_factory=servers,
        # --notifier record: what a user would see, as JSON lines on stdout
        notifier=(args.notifier if args.notifier != "record"
                  else lambda tray, parent: RecordingNotifier(parent, out=sys.stdout)),
    )
    signals = SignalHandler()
    signals.interrupted.connect(app.controller.quit)
    instance.activation_requested.connect(app.controller.on_activation_requested)
    app.controller.quit_finished.connect(qapp.quit)
    settle_after_startup(app)
    signals.activate()
    started = time.monotonic()
    app.controller.start()
    log.info("started in %.0f ms (tray: %s)", (time.monotonic() - started) * 1000, tray_available)
    try:
        code = qapp.exec()
    finally:
        app.controller.wait_for_shutdown(QUIT_BUDGET)
        signals.deactivate()
        instance.release()
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
