"""The tray app outlives its endpoint: frozen, killed, back again.

The app is built through its public composition root (``lattice_rt_tray.main.build``)
following a ``lattice-rt serve`` child process (its one connection, the
embedded endpoint switched off), which the test
SIGSTOPs (a machine asleep, a hung server: the read stalls) and kills (the
endpoint goes away). Meanwhile the app says offline; afterwards it is
connected again and present again on the server. The only seam used is the
app's ``client_factory``: the client's read timeout is shortened from 35 s to
2 s so the stall is noticed quickly.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

import functools  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")

import shiboken6  # noqa: E402
from PySide6.QtCore import QObject  # noqa: E402

from lattice_rt_core.client import RealtimeClient  # noqa: E402
from lattice_rt_core.paths import read_owner_token  # noqa: E402
from lattice_rt_tray.logic.settings_values import (  # noqa: E402
    LOCAL_KEY,
    ConnectionSettings,
    local_connection,
)
from lattice_rt_tray.main import TrayApp, build  # noqa: E402
from lattice_rt_tray.services.notifiers import RecordingNotifier  # noqa: E402
from lattice_rt_tray.services.presence_keeper import presence_client_id  # noqa: E402
from lattice_rt_tray.services.settings import Settings  # noqa: E402
from lattice_rt_tray.system.autostart import Autostart  # noqa: E402
from tests.hardening.helpers import ServeProcess, bearer  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 20_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"port": _free_port(), "data": tmp_path / "server", "procs": []}

    def start(*extra: str) -> ServeProcess:
        proc = ServeProcess("--port", str(state["port"]), "--data-dir", str(state["data"]),
                            "--heartbeat", "1", *extra)
        state["procs"].append(proc)
        state["url"] = proc.url()
        state["token"] = read_owner_token(state["data"])
        return proc

    state["start"] = start
    yield state
    for proc in state["procs"]:
        if proc.popen.poll() is None:
            os.kill(proc.popen.pid, signal.SIGCONT)
        proc.close()


def _present(remote: dict[str, Any]) -> set[str]:
    r = httpx.get(remote["url"] + "/realtime/presence", headers=bearer(remote["token"]))
    return {e["client_id"] for e in r.json()["presence"]}


REMOTE = "r1"


def _build(tmp_path: Path, remote: dict[str, Any]) -> tuple[TrayApp, QObject, str]:
    settings = Settings.open(tmp_path / "tray.ini")
    settings.update(connections=(local_connection(enabled=False),
                                 ConnectionSettings(REMOTE, "Team", url=remote["url"])),
                    display_name="Ada", workspaces=("w",))
    settings.set_file_token(REMOTE, remote["token"])  # the way without a keyring
    root = QObject()
    app = build(
        settings=settings,
        data_dir=tmp_path / "app-data",
        tray_available=False,
        notifier=lambda tray_icon, parent: RecordingNotifier(parent),
        client_factory=functools.partial(RealtimeClient, read_timeout=2.0),
        keyring=lambda: None,
        autostart=Autostart(platform="linux", home=tmp_path / "home",
                            config_dir=tmp_path / "config", command=["lattice-rt-tray"]),
        open_url=lambda url: None,
        parent=root,
    )
    return app, root, presence_client_id(settings.instance_id, "w")


def _started(qtbot: Any, app: TrayApp, key: str = REMOTE) -> None:
    """Start ``app``; wait until connection ``key`` caught up and joined presence."""
    with qtbot.waitSignals([app.controller.caught_up, app.connections.joined], timeout=WAIT_MS,
                           check_params_cbs=[lambda k: k == key, lambda k, entries: k == key]):
        app.controller.start()


def _joined(key: str = REMOTE) -> Any:
    return lambda k, entries: k == key


def _close(qtbot: Any, app: TrayApp, root: QObject) -> None:
    controller = app.controller
    if not (controller.quitting and controller.finished):
        with qtbot.waitSignal(controller.quit_finished, timeout=WAIT_MS):
            controller.quit()
        controller.wait_for_shutdown(5.0)
    for widget in (app.views.activity.window, app.views.presence.window):
        if widget is not None and shiboken6.isValid(widget):
            shiboken6.delete(widget)
    if shiboken6.isValid(root):
        shiboken6.delete(root)


def test_the_app_goes_offline_and_comes_back_present(
    qtbot: Any, tmp_path: Path, remote: dict[str, Any]
) -> None:
    server = remote["start"]()
    app, root, mine = _build(tmp_path, remote)
    controller = app.controller
    try:
        _started(qtbot, app)
        assert controller.status().connected and mine in _present(remote)

        # frozen: the connection stays up, nothing arrives; the read times out
        os.kill(server.popen.pid, signal.SIGSTOP)
        qtbot.waitUntil(lambda: not controller.status().connected, timeout=WAIT_MS)
        assert app.views.actions is not None
        with qtbot.waitSignal(app.connections.joined, timeout=WAIT_MS,
                              check_params_cb=_joined()):
            os.kill(server.popen.pid, signal.SIGCONT)
        qtbot.waitUntil(lambda: controller.status().connected, timeout=WAIT_MS)

        # gone: killed, presence and all (it lived in that process's memory)
        server.popen.kill()
        server.finish()
        qtbot.waitUntil(lambda: not controller.status().connected, timeout=WAIT_MS)
        with qtbot.waitSignal(app.connections.joined, timeout=WAIT_MS,
                              check_params_cb=_joined()):
            remote["start"]()  # back, same port, same data dir
        qtbot.waitUntil(lambda: controller.status().connected, timeout=WAIT_MS)
        assert mine in _present(remote)  # re-joined on the new server process
    finally:
        _close(qtbot, app, root)


def _left(client_id: str):
    """A check for ``bridge.events_received``: the batch has ``client_id``'s presence leave."""

    def check(key: str, batch: list[dict[str, Any]]) -> bool:
        return any(
            e.get("area") == "presence" and e.get("event_type") == "leave"
            and isinstance(e.get("payload"), dict) and e["payload"].get("client_id") == client_id
            for e in batch
        )

    return check


def test_a_connected_app_stays_present_past_the_stream_hold(
    qtbot: Any, tmp_path: Path, remote: dict[str, Any]
) -> None:
    # hold = TTL = 4 s, sweep every 4/3 s; the app re-joins every 4/3 s, so it
    # keeps its entry unless its GUI thread stalls for more than ~2.7 s
    remote["start"]("--presence-ttl", "4")
    app, root, mine = _build(tmp_path, remote)
    try:
        _started(qtbot, app)
        # a control entry joined after the app's, held by an open stream and
        # never re-joined: when it expires, so has an app that does not re-join.
        # Its leave reaches the app's own stream; the GUI thread keeps running
        # its event loop (and the app its re-join timer) while the test waits.
        h = bearer(remote["token"])
        with httpx.Client(base_url=remote["url"], headers=h, timeout=WAIT_MS / 1000) as http:
            r = http.post("/realtime/presence/join", json={"client_id": "control"})
            assert r.status_code == 200
            with (
                http.stream("GET", "/realtime/stream", params={"client_id": "control"}),
                qtbot.waitSignal(app.bridge.events_received, timeout=3 * WAIT_MS,
                                 check_params_cb=_left("control")),
            ):
                pass
        assert app.controller.status().connected
        assert mine in _present(remote)
    finally:
        _close(qtbot, app, root)


def test_the_app_follows_a_serve_that_holds_its_data_dir_on_another_port(
    qtbot: Any, tmp_path: Path, remote: dict[str, Any]
) -> None:
    """The embedded server is refused the directory (its lock), so the app follows ``serve``."""
    server = remote["start"]()
    settings = Settings.open(tmp_path / "tray.ini")
    settings.update(connections=(local_connection(port=_free_port()),), display_name="Ada",
                    workspaces=("w",))
    root = QObject()
    app = build(
        settings=settings,
        data_dir=remote["data"],  # the directory the serve process holds
        tray_available=False,
        notifier=lambda tray_icon, parent: RecordingNotifier(parent),
        keyring=lambda: None,
        autostart=Autostart(platform="linux", home=tmp_path / "home",
                            config_dir=tmp_path / "config", command=["lattice-rt-tray"]),
        open_url=lambda url: None,
        parent=root,
    )
    mine = presence_client_id(settings.instance_id, "w")
    try:
        _started(qtbot, app, LOCAL_KEY)
        local = app.connections[LOCAL_KEY]
        assert local.server is None  # no embedded server of its own
        assert local.url == remote["url"]
        assert mine in _present(remote)
    finally:
        _close(qtbot, app, root)
    server.popen.send_signal(signal.SIGTERM)
    assert server.finish() == 0
    assert not (remote["data"] / "server.json").exists()
    assert not [line for line in server.err if "did not shut down cleanly" in line]
