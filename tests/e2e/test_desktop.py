"""The tray app on a real desktop stack: X server, session bus, tray host, notification daemon.

The stack is what a Linux desktop offers the app, piece by piece:

* ``Xvfb`` (the X server) on a free display;
* ``dbus-run-session`` (the session bus; its address is read back from a file);
* ``status-notifier-watcher`` (``org.kde.StatusNotifierWatcher``) and
  ``gtk-sni-tray-standalone`` (a StatusNotifierItem host: the tray itself);
* ``dunst`` (``org.freedesktop.Notifications``).

The test starts the whole stack and the real app (``python -m lattice_rt_tray``
on the xcb platform), asserts that the tray item registered with the watcher,
publishes an event through the app's own embedded endpoint and asserts it
reached dunst; then quits the app with SIGTERM and checks it left presence.
It skips, naming the binary, only when part of the stack is not installed.

Run as a script it takes the README screenshots of the tray and the
notifications instead (the windows': :mod:`tests.e2e.window_shots`)::

    .venv/bin/python -m tests.e2e.test_desktop --screenshots docs/screenshots
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARIES = (
    "Xvfb",
    "dbus-run-session",
    "status-notifier-watcher",
    "gtk-sni-tray-standalone",
    "dunst",
    "dunstctl",
)
WATCHER = "org.kde.StatusNotifierWatcher"

pytestmark = pytest.mark.desktop


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll an outside process's state (no signal reaches us from it) with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class DesktopStack:
    """Starts and tears down Xvfb, a session bus, a tray host and dunst."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env: dict[str, str] = {}
        self.display = ""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env["XDG_RUNTIME_DIR"] = str(self.workdir / "run")
        (self.workdir / "run").mkdir(mode=0o700, exist_ok=True)
        env["HOME"] = str(self.workdir / "home")
        (self.workdir / "home").mkdir(exist_ok=True)
        env.pop("QT_QPA_PLATFORM", None)
        # the X server, on the first free display it finds
        read_fd, write_fd = os.pipe()
        self._spawn(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten",
             "tcp"], env, pass_fds=(write_fd,),
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        env["DISPLAY"] = self.display
        # the session bus: dbus-run-session runs a tiny shell that reports the address
        address_file = self.workdir / "bus-address"
        self._spawn(
            ["dbus-run-session", "--", "sh", "-c",
             f'echo "$DBUS_SESSION_BUS_ADDRESS" > {address_file}.tmp && '
             f"mv {address_file}.tmp {address_file} && exec sleep 86400"],
            env,
        )
        address = wait_for(
            lambda: address_file.exists() and address_file.read_text().strip(), 10, "the bus"
        )
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        self.env = env
        self._spawn(["status-notifier-watcher"], env)
        wait_for(lambda: self.has_name(WATCHER), 10, "status-notifier-watcher")
        self._spawn(["gtk-sni-tray-standalone", "--bottom"], env)
        wait_for(self.host_registered, 15, "the tray host")
        dunstrc = self.workdir / "dunstrc"
        dunstrc.write_text(
            "[global]\n    font = DejaVu Sans 10\n    width = 380\n    offset = 16x48\n"
            "    frame_width = 1\n    frame_color = \"#1f6f5c\"\n    corner_radius = 6\n"
            "    padding = 10\n    horizontal_padding = 12\n    icon_position = left\n"
            "    max_icon_size = 48\n    show_indicators = no\n"
            "[urgency_normal]\n    background = \"#fcfcfd\"\n    foreground = \"#101828\"\n"
            "    timeout = 0\n"
        )
        self._spawn(["dunst", "-config", str(dunstrc)], env)
        wait_for(lambda: self.has_name("org.freedesktop.Notifications"), 10, "dunst")

    def _spawn(
        self, argv: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()
    ) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{Path(argv[0]).name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=pass_fds,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.procs.clear()

    # ------------------------------------------------------------ D-Bus
    def _bus_call(self, dest: str, path: str, iface: str, method: str, sig: str,
                  body: tuple[Any, ...]) -> tuple[Any, ...]:
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(self.env["DBUS_SESSION_BUS_ADDRESS"]) as conn:
            msg = new_method_call(DBusAddress(path, bus_name=dest, interface=iface), method,
                                  sig or None, body)
            reply = conn.send_and_get_reply(msg, timeout=5)
        return tuple(reply.body)

    def has_name(self, name: str) -> bool:
        (owned,) = self._bus_call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                  "org.freedesktop.DBus", "NameHasOwner", "s", (name,))
        return bool(owned)

    def watcher_property(self, name: str) -> Any:
        (value,) = self._bus_call(WATCHER, "/StatusNotifierWatcher",
                                  "org.freedesktop.DBus.Properties", "Get", "ss", (WATCHER, name))
        return value[1]

    def host_registered(self) -> bool:
        return bool(self.watcher_property("IsStatusNotifierHostRegistered"))

    def registered_items(self) -> list[str]:
        return [str(item) for item in self.watcher_property("RegisteredStatusNotifierItems")]

    # ------------------------------------------------------------ dunst
    def dunstctl(self, *args: str) -> str:
        return subprocess.run(
            ["dunstctl", *args], env=self.env, capture_output=True, text=True, timeout=10,
            check=True,
        ).stdout

    def displayed(self) -> int:
        for line in self.dunstctl("count").splitlines():
            if "displayed" in line.lower():
                return int(line.split(":")[1])
        return 0

    def history(self) -> list[dict[str, str]]:
        data = json.loads(self.dunstctl("history"))["data"]
        return [{k: v.get("data") for k, v in item.items()} for item in (data[0] if data else [])]

    def screenshot(self, out: Path, crop: str | None = None) -> None:
        argv = ["import", "-window", "root"]
        if crop:
            argv += ["-crop", crop, "+repage"]
        subprocess.run([*argv, str(out)], env=self.env, check=True, timeout=20)


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[DesktopStack]:
    missing = missing_binaries()
    if missing:
        pytest.skip(f"desktop stack incomplete: {', '.join(missing)} not installed")
    stack = DesktopStack(tmp_path / "desktop")
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def start_app(stack: DesktopStack, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    settings = tmp_path / "tray.ini"
    settings.write_text("[server]\nport=0\n[presence]\ndisplay_name=E2E\nworkspaces=ws_e2e\n")
    data_dir = tmp_path / "data"
    env = dict(stack.env, QT_QPA_PLATFORM="xcb", PYTHONPATH=os.pathsep.join(
        [str(ROOT / "app"), str(ROOT)]))
    log = open(tmp_path / "app.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "lattice_rt_tray", "--settings", str(settings),
         "--data-dir", str(data_dir), "-v"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    return proc, data_dir


def test_tray_registers_and_a_published_event_reaches_the_notification_daemon(
    desktop: DesktopStack, tmp_path: Path
) -> None:
    from lattice_rt_core.client import RealtimeClient
    from lattice_rt_core.discovery import discover

    proc, data_dir = start_app(desktop, tmp_path)
    try:
        items = wait_for(desktop.registered_items, 20, "the tray item to register")
        assert len(items) == 1
        url, token = wait_for(lambda: _discover(discover, data_dir), 20, "the app's endpoint")
        client = RealtimeClient(url, token)
        try:
            wait_for(lambda: any(p.get("display_name") == "E2E"
                                 for p in client.presence()["presence"]), 20, "presence")
            client.publish("workflow", "workflow_run", {"workflow_id": "wf_e2e", "status": "ok"},
                           workspace_id="ws_e2e")
            wait_for(lambda: desktop.displayed() >= 1, 20, "dunst to show the notification")
            desktop.dunstctl("close-all")
            shown = wait_for(desktop.history, 10, "dunst's history")
            assert shown[0]["summary"] == "Workflow run"
            assert "wf_e2e" in shown[0]["body"] and "ws_e2e" in shown[0]["body"]
            assert shown[0]["appname"] == "Lattice Realtime Tray"

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            # it left presence before its embedded server stopped (the server is
            # gone with the app, so its own log of the request is the witness)
        finally:
            client.close()
        log = (tmp_path / "app.log").read_text()
        assert re.search(r"POST \S+/realtime/presence/leave \"HTTP/1.1 200 OK\"", log), log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def _discover(discover: Callable[..., tuple[str, str | None]], data_dir: Path) -> Any:
    try:
        return discover(data_dir=data_dir)
    except Exception:  # noqa: BLE001 - not up yet
        return None


# ------------------------------------------------------------------ screenshots
def take_screenshots(out: Path) -> None:
    """Run the app in-process on the desktop stack and photograph it."""
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="lattice-shots-"))
    stack = DesktopStack(work / "desktop")
    stack.start()
    try:
        os.environ.update(stack.env)
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        _photograph(stack, work, out)
    finally:
        stack.stop()


def _photograph(stack: DesktopStack, work: Path, out: Path) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from lattice_rt_tray.icons import app_icon
    from lattice_rt_tray.main import build
    from lattice_rt_tray.settings import Settings

    qapp = QApplication([sys.argv[0]])
    qapp.setApplicationDisplayName("Lattice Realtime Tray")
    qapp.setWindowIcon(app_icon())
    qapp.setQuitOnLastWindowClosed(False)
    settings = Settings.open(work / "tray.ini")
    settings.update(port=0, display_name="Ada Lovelace", workspaces=("ws_marketing", "ws_research"))
    app = build(settings=settings, data_dir=work / "data", tray_available=True)
    out.mkdir(parents=True, exist_ok=True)

    def pump(condition: Callable[[], Any], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            QTest.qWait(50)

    app.controller.start()
    pump(lambda: app.controller.connected and not app.coalescer.holding, "connection")
    pump(lambda: len(app.roster) >= 2, "own presence")
    server = app.endpoint.server
    bus = server.bus  # type: ignore[union-attr]
    for cid, ws, name, user in (
        ("grace-laptop", "ws_marketing", "Grace Hopper", "grace"),
        ("margaret-desk", "ws_marketing", "Margaret Hamilton", "margaret"),
        ("linus-box", "ws_research", "Linus Torvalds", "linus"),
        ("barbara-vm", "ws_research", "Barbara Liskov", "barbara"),
    ):
        bus.join(user=user, client_id=cid, workspace_id=ws, display_name=name)
    samples = [
        ("workspace", "member_added", "ws_marketing", {"member": "grace@example.com"}),
        ("graph", "indexing_paused", "ws_research", {"graph_id": "papers", "status": "paused"}),
        ("agent", "agent_run", "ws_research", {"agent_id": "summariser", "status": "ok"}),
        ("skills", "skill_installed", "ws_marketing", {"skill": "pdf-export"}),
        ("memory", "memory_upserted", "ws_research", {"key": "q3-goals"}),
        ("plugins", "plugin_enabled", "ws_marketing", {"plugin": "calendar-sync"}),
        ("graph", "answer_trace", "ws_research", {"query": "who owns the Q3 launch?"}),
        ("workflow", "workflow_edited", "ws_marketing", {"workflow_id": "wf_launch"}),
    ]
    for area, kind, ws, payload in samples:
        bus.publish({"area": area, "event_type": kind, "workspace_id": ws, "payload": payload,
                     "actor": "grace"})
    pump(lambda: app.activity_model.rowCount() >= len(samples) + 4, "events")
    pump(lambda: stack.displayed() >= 1 and app.coalescer.next_due() is None, "the digest")
    QTest.qWait(300)
    stack.screenshot(out / "notification-digest.png", "420x140+860+30")
    QTest.qWait(4200)  # the burst is over once a window passes without events
    stack.dunstctl("close-all")
    bus.publish({"area": "workflow", "event_type": "workflow_run", "workspace_id": "ws_marketing",
                 "payload": {"workflow_id": "wf_launch", "run_id": "run-42", "status": "ok"},
                 "actor": "grace"})
    pump(lambda: stack.displayed() >= 1, "the notification")
    QTest.qWait(300)
    stack.screenshot(out / "notification.png", "420x140+860+30")
    stack.dunstctl("close-all")

    # the tray and its menu (the host draws the icon; the menu is the app's)
    menu = app.views.tray.menu  # type: ignore[union-attr]
    menu.popup(QPoint(8, 800 - 32 - menu.sizeHint().height()))
    QTest.qWait(600)
    height = menu.sizeHint().height() + 48
    stack.screenshot(out / "tray.png", f"320x{height}+0+{800 - height}")
    menu.hide()
    # the windows, with two servers' data: tests/e2e/window_shots.py

    app.controller.quit()
    pump(lambda: app.controller.finished, "quit")
    app.controller.wait_for_shutdown(3)
    print(f"screenshots written to {out}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--screenshots", type=Path, required=True)
    take_screenshots(parser.parse_args().screenshots.resolve())
