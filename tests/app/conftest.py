"""Fixtures for the tray app tests: offscreen Qt, temp settings, a real endpoint.

``QT_QPA_PLATFORM=offscreen`` is set here, before any QApplication exists, so
the tests need no display (and have no system tray, which is what the no-tray
fallback expects). Every test that uses ``qapp`` or ``qtbot`` is marked
``gui``; ``pytest -m "not gui"`` runs the pure ones alone.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import shiboken6  # noqa: E402
from PySide6.QtCore import QObject, QSettings, Signal  # noqa: E402

from lattice_rt_core.protocol.defaults import DEFAULT_HEARTBEAT  # noqa: E402
from lattice_rt_core.server import RealtimeServer, ServerConfig  # noqa: E402
from lattice_rt_tray.logic.settings_values import LOCAL_KEY  # noqa: E402
from lattice_rt_tray.main import TrayApp, build  # noqa: E402
from lattice_rt_tray.services.connection import Connection  # noqa: E402
from lattice_rt_tray.services.notifiers import RecordingNotifier  # noqa: E402
from lattice_rt_tray.services.settings import Settings  # noqa: E402
from lattice_rt_tray.system.autostart import Autostart  # noqa: E402
from tests.app.idle_fakes import Desk  # noqa: E402
from tests.app.team_server import TeamServer  # noqa: E402

GUI_FIXTURES = {"qapp", "qtbot"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if GUI_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.open(tmp_path / "tray.ini")


class ServerBox:
    """The embedded servers an app under test started (the factory records them)."""

    def __init__(self, heartbeat: float = DEFAULT_HEARTBEAT) -> None:
        self.servers: list[RealtimeServer] = []
        self.heartbeat = heartbeat

    def factory(self, port: int, data_dir: Path) -> RealtimeServer:
        server = RealtimeServer(
            ServerConfig(port=0, data_dir=data_dir, heartbeat=self.heartbeat)
        )
        self.servers.append(server)
        return server

    @property
    def current(self) -> RealtimeServer:
        assert self.servers, "the app has not started a server"
        return self.servers[-1]

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop(timeout=2.0)


class MemoryKeyring:
    """A keyring backend in memory: the app's tests never touch the machine's keyring.

    (``tests/app/services/test_token_vault.py`` runs the vault against a real Secret Service.)
    """

    def __init__(self) -> None:
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class Ready(QObject):
    """Signals:
    done(): every connection in ``keys`` caught up after connecting and joined presence.
    """

    done = Signal()

    def __init__(self, app: TrayApp, keys: tuple[str, ...]) -> None:
        super().__init__(app.root)
        self.missing = {(key, what) for key in keys for what in ("caught up", "joined")}
        app.controller.caught_up.connect(lambda key: self.seen(key, "caught up"))
        app.connections.joined.connect(lambda key, entries: self.seen(key, "joined"))

    def seen(self, key: str, what: str) -> None:
        if self.missing:
            self.missing.discard((key, what))
            if not self.missing:
                self.done.emit()


def local(app: TrayApp) -> Connection:
    """The app's connection to the endpoint on this computer."""
    return app.connections[LOCAL_KEY]


class Harness:
    """Builds apps the way main() does, with test doubles at the edges."""

    def __init__(self, qtbot: Any, tmp_path: Path) -> None:
        self.qtbot = qtbot
        self.tmp_path = tmp_path
        self.data_dir = tmp_path / "data"
        self.box = ServerBox()
        self.keyring = MemoryKeyring()
        self.opened: list[str] = []
        self.browser_failure: str | None = None  # what open_url answers
        self.apps: list[TrayApp] = []
        self.roots: list[QObject] = []

    def open_url(self, url: str) -> str | None:
        self.opened.append(url)
        return self.browser_failure

    def build(
        self,
        settings: Settings,
        *,
        tray: bool = True,
        notify_window: float = 0.4,
        **kwargs: Any,
    ) -> TrayApp:
        root = QObject()
        self.roots.append(root)
        kwargs.setdefault("server_factory", self.box.factory)
        kwargs.setdefault("discover_local", lambda data_dir: None)
        kwargs.setdefault("keyring", lambda: self.keyring)
        kwargs.setdefault("idle_backend", Desk)  # not this machine's desktop
        app = build(
            settings=settings,
            data_dir=self.data_dir,
            tray_available=tray,
            notifier=lambda tray_icon, parent: RecordingNotifier(parent),
            autostart=Autostart(platform="linux", home=self.tmp_path / "home",
                                config_dir=self.tmp_path / "config", command=["lattice-rt-tray"]),
            open_url=self.open_url,
            notify_window=notify_window,
            parent=root,
            **kwargs,
        )
        self.apps.append(app)
        return app

    def start(self, app: TrayApp, *keys: str) -> None:
        """Start ``app``; wait until connections ``keys`` (default: the embedded one) are
        connected, caught up and present."""
        ready = Ready(app, keys or (LOCAL_KEY,))
        with self.qtbot.waitSignal(ready.done, timeout=15_000):
            app.controller.start()

    def quit(self, app: TrayApp) -> None:
        if app.controller.quitting and app.controller.finished:
            return
        with self.qtbot.waitSignal(app.controller.quit_finished, timeout=10_000):
            app.controller.quit()
        app.controller.wait_for_shutdown(5.0)

    def close(self) -> None:
        for app in self.apps:
            if not app.controller.finished:
                self.quit(app)
        # Delete in a fixed order: windows (which hold views of the models) first,
        # then the object tree that owns the models, so no view outlives its model.
        for app in self.apps:
            for widget in (app.flow.dialog, app.views.activity.window, app.views.presence.window):
                if widget is not None and shiboken6.isValid(widget):
                    shiboken6.delete(widget)
        for root in self.roots:
            if shiboken6.isValid(root):
                shiboken6.delete(root)
        self.apps.clear()
        self.roots.clear()
        self.box.stop_all()


@pytest.fixture
def team(tmp_path: Path) -> Iterator[TeamServer]:
    """A real ``lattice-rt serve`` process: the team server next to the embedded endpoint."""
    server = TeamServer(tmp_path / "team")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def harness(qtbot: Any, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(qtbot, tmp_path)
    yield h
    h.close()


def wait_until(qtbot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll an observable condition with a deadline (only where no signal exists)."""
    qtbot.waitUntil(condition, timeout=int(timeout * 1000))


@pytest.fixture
def ini_registry(tmp_path: Path) -> QSettings:
    """An ini-backed stand-in for the Windows registry Run key."""
    return QSettings(str(tmp_path / "registry.ini"), QSettings.Format.IniFormat)
