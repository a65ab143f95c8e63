"""The tray app on a real desktop stack: X server, session bus, tray host, notification daemon.

The stack is what a Linux desktop offers the app, piece by piece:

* ``Xvfb`` (the X server) on a free display;
* ``dbus-run-session`` (the session bus; its address is read back from a file);
* ``status-notifier-watcher`` (``org.kde.StatusNotifierWatcher``) and
  ``gtk-sni-tray-standalone`` (a StatusNotifierItem host: the tray itself);
* ``dunst`` (``org.freedesktop.Notifications``);
* ``gnome-keyring-daemon`` (``org.freedesktop.secrets``, unlocked: the keyring).

The test starts the whole stack, a team server (a ``lattice-rt serve``
process) and the real app (``python -m lattice_rt_tray`` on the xcb
platform), which follows both its own embedded endpoint and the team server.
It asserts that the tray item registered with the watcher, that the team
token written in the settings file moved into GNOME Keyring and out of the
file, that an event published on each server reached dunst with the server's
name; then quits the app with SIGTERM and checks it left presence on both.
It skips, naming the binary, only when part of the stack is not installed.

Run as a script it takes the README screenshots of the tray, the
notifications and the Settings dialog instead, of the real app following two
servers (the windows': :mod:`tests.e2e.window_shots`)::

    .venv/bin/python -m tests.e2e.test_desktop --screenshots docs/screenshots
"""

from __future__ import annotations

import ast
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

from tests.app.team_server import TeamServer
from tests.secret_service import SecretService

ROOT = Path(__file__).resolve().parents[2]
BINARIES = (
    "Xvfb",
    "dbus-run-session",
    "status-notifier-watcher",
    "gtk-sni-tray-standalone",
    "dunst",
    "dunstctl",
    "gnome-keyring-daemon",
)
TEAM_KEY = "7ea3"
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

    def __init__(self, workdir: Path, *, mark_critical: bool = True) -> None:
        """``mark_critical``: dunst prefixes a critical notification's message with
        ``[critical]`` (its history keeps no urgency); off for screenshots."""
        self.workdir = workdir
        self.mark_critical = mark_critical
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env: dict[str, str] = {}
        self.display = ""
        self.secrets = SecretService(workdir / "secrets")

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
            "[urgency_critical]\n    background = \"#fff4f2\"\n    foreground = \"#101828\"\n"
            "    frame_color = \"#b42318\"\n    timeout = 0\n"
            # dunst 1.9 keeps no urgency in its history: the formatted message says it
            + ("[mark_critical]\n    msg_urgency = critical\n    format = \"[critical] %s\\n%b\"\n"
               if self.mark_critical else "")
        )
        self._spawn(["dunst", "-config", str(dunstrc)], env)
        wait_for(lambda: self.has_name("org.freedesktop.Notifications"), 10, "dunst")
        self.secrets.start(bus_address=address)

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
        self.secrets.stop()
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
        """The property, or None while the watcher cannot answer yet (an error reply)."""
        reply = self._bus_call(WATCHER, "/StatusNotifierWatcher",
                               "org.freedesktop.DBus.Properties", "Get", "ss", (WATCHER, name))
        if len(reply) != 1 or not isinstance(reply[0], tuple):
            return None
        return reply[0][1]

    def host_registered(self) -> bool:
        return bool(self.watcher_property("IsStatusNotifierHostRegistered"))

    def registered_items(self) -> list[str]:
        items = self.watcher_property("RegisteredStatusNotifierItems")
        return [str(item) for item in items or ()]

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


def start_app(
    stack: DesktopStack, tmp_path: Path, team: TeamServer, extra: str = ""
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """The app following its embedded endpoint and ``team``; the team token in the file
    (``extra``: more of the settings file)."""
    settings = tmp_path / "tray.ini"
    if settings.exists():  # a restart: the file as the app left it
        return _launch(stack, tmp_path, settings)
    settings.write_text(
        "[app]\nsettings_version=2\n"
        f"[connections]\norder=local,{TEAM_KEY}\n"
        f"[connection]\nlocal\\port=0\n{TEAM_KEY}\\name=Team\n{TEAM_KEY}\\url={team.url}\n"
        f"{TEAM_KEY}\\token={team.owner_token}\n"
        "[presence]\ndisplay_name=E2E\nworkspaces=ws_e2e\n" + extra
    )
    return _launch(stack, tmp_path, settings)


def _launch(
    stack: DesktopStack, tmp_path: Path, settings: Path
) -> tuple[subprocess.Popen[bytes], Path, Path]:
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
    return proc, data_dir, settings


def in_keyring(stack: DesktopStack, key: str) -> str:
    """What the app's default keyring holds for ``key``, asked by another process."""
    code = ("import sys; sys.path[:0] = sys.argv[1:]\n"
            "from lattice_rt_tray.services.token_vault import SERVICE, default_keyring\n"
            f"print(default_keyring().get_password(SERVICE, {key!r}))")
    return subprocess.run([sys.executable, "-c", code, str(ROOT / "app"), str(ROOT)],
                          env=stack.env, capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()


def test_tray_registers_and_events_of_two_servers_reach_the_notification_daemon(
    desktop: DesktopStack, tmp_path: Path
) -> None:
    from lattice_rt_core.client import RealtimeClient
    from lattice_rt_core.net.discovery import discover

    team = TeamServer(tmp_path / "team")
    team.start()
    proc, data_dir, settings = start_app(desktop, tmp_path, team)
    try:
        items = wait_for(desktop.registered_items, 20, "the tray item to register")
        assert len(items) == 1
        url, token = wait_for(lambda: _discover(discover, data_dir), 20, "the app's endpoint")
        client = RealtimeClient(url, token)
        try:
            wait_for(lambda: any(p.get("display_name") == "E2E"
                                 for p in client.presence()["presence"]), 20, "presence")
            mine = {p["client_id"] for p in client.presence()["presence"]}
            wait_for(lambda: mine <= team.presence_ids(), 20, "presence on the team server")
            # the team token moved from the settings file into GNOME Keyring
            assert in_keyring(desktop, TEAM_KEY) == team.owner_token
            assert team.owner_token not in settings.read_text()

            client.publish("workflow", "workflow_run", {"workflow_id": "wf_e2e", "status": "ok"},
                           workspace_id="ws_e2e")
            wait_for(lambda: desktop.displayed() >= 1, 20, "dunst to show the notification")
            desktop.dunstctl("close-all")
            team.publish({"area": "workflow", "event_type": "deploy_failed",
                          "workspace_id": "ws_e2e",
                          "payload": {"run_id": "run-9", "error": "disk full"}})
            wait_for(lambda: desktop.displayed() >= 1, 20, "the team server's notification")
            desktop.dunstctl("close-all")
            shown = wait_for(lambda: len(desktop.history()) >= 2 and desktop.history(), 10,
                             "dunst's history")
            by_title = {item["summary"]: item for item in shown}
            assert set(by_title) == {"Workflow run · This computer",
                                     "Workflow: deploy failed · Team"}
            here = by_title["Workflow run · This computer"]
            assert "wf_e2e" in here["body"] and "ws_e2e" in here["body"]
            assert here["appname"] == "Lattice Realtime Tray"

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            # it left presence before its embedded server stopped (the server is
            # gone with the app, so its own log of the request is the witness)
            assert not mine & team.presence_ids()
        finally:
            client.close()
        log = (tmp_path / "app.log").read_text()
        # every entry it joined on the embedded server, its leave confirmed by that server
        joined = re.findall(r"local: presence joined: (\[.*\])", log)
        left = re.findall(r"local: presence left: (\[.*\])", log)
        assert joined and left == [str(sorted(ast.literal_eval(joined[-1])))], log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        team.stop()


def _discover(discover: Callable[..., tuple[str, str | None]], data_dir: Path) -> Any:
    try:
        return discover(data_dir=data_dir)
    except Exception:  # noqa: BLE001 - not up yet
        return None


# ------------------------------------------------------------------ screenshots
def take_screenshots(out: Path) -> None:
    """Run the app in-process on the desktop stack, following two servers, and photograph it."""
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="lattice-shots-"))
    stack = DesktopStack(work / "desktop", mark_critical=False)
    stack.start()
    team = TeamServer(work / "team")
    team.start()
    try:
        os.environ.update(stack.env)
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        _photograph(stack, team, work, out)
    finally:
        team.stop()
        stack.stop()


#: (area, event type, workspace, payload, actor) published on this computer's endpoint
LOCAL_EVENTS = [
    ("graph", "indexing_paused", "ws_research", {"graph_id": "papers", "status": "paused"}),
    ("memory", "memory_upserted", "ws_research", {"key": "q3-goals"}),
    ("skills", "skill_installed", "ws_marketing", {"skill": "pdf-export"}),
]
#: and on the team server
TEAM_EVENTS = [
    ("workspace", "member_added", "ws_marketing", {"member": "grace@example.com"}),
    ("agent", "agent_run", "ws_research", {"agent_id": "summariser", "status": "ok"}),
    ("plugins", "plugin_enabled", "ws_marketing", {"plugin": "calendar-sync"}),
    ("graph", "answer_trace", "ws_research", {"query": "who owns the Q3 launch?"}),
    ("workflow", "workflow_edited", "ws_marketing", {"workflow_id": "wf_launch"}),
]


def _photograph(stack: DesktopStack, team: TeamServer, work: Path, out: Path) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from lattice_rt_core.server import RealtimeServer, ServerConfig
    from lattice_rt_tray.logic.settings_values import (
        LOCAL_KEY,
        ConnectionSettings,
        local_connection,
    )
    from lattice_rt_tray.main import build
    from lattice_rt_tray.services.settings import Settings
    from lattice_rt_tray.views.icons import app_icon

    qapp = QApplication([sys.argv[0]])
    qapp.setApplicationDisplayName("Lattice Realtime Tray")
    qapp.setWindowIcon(app_icon())
    qapp.setQuitOnLastWindowClosed(False)
    ada = team.add_user("ada", "ws_marketing", "ws_research")
    grace = team.add_user("grace", "ws_marketing", "ws_research")
    settings = Settings.open(work / "tray.ini")
    settings.update(connections=(local_connection(port=0),
                                 ConnectionSettings(TEAM_KEY, "Team", url=team.url)),
                    display_name="Ada Lovelace", workspaces=("ws_marketing", "ws_research"))
    settings.set_file_token(TEAM_KEY, ada)  # moved into GNOME Keyring when the app starts
    # the endpoint on a thread here, not in a child: the script reaches its bus directly to
    # stage other people's presence (each under a user of their own)
    app = build(settings=settings, data_dir=work / "data", tray_available=True,
                server_factory=lambda port, data_dir: RealtimeServer(
                    ServerConfig(port=port, data_dir=data_dir)))
    out.mkdir(parents=True, exist_ok=True)

    def pump(condition: Callable[[], Any], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            QTest.qWait(50)

    app.controller.start()
    pump(lambda: all(c.online for c in app.connections) and not app.coalescer.holding,
         "both connections")
    pump(lambda: app.roster.online_count() >= 1, "own presence")
    bus = app.connections[LOCAL_KEY].server.bus  # type: ignore[union-attr]
    for cid, ws, name, user, status in (
        ("grace-laptop", "ws_marketing", "Grace Hopper", "grace", "active"),
        ("linus-box", "ws_research", "Linus Torvalds", "linus", "away"),
    ):
        bus.join(user=user, client_id=cid, workspace_id=ws, display_name=name, status=status)
    for cid, ws, name, user in (("margaret-desk", "ws_marketing", "Margaret Hamilton",
                                 "margaret"),
                                ("barbara-vm", "ws_research", "Barbara Liskov", "barbara")):
        with team.client(team.add_user(user, ws)) as someone:  # as themselves
            someone.join(workspace_id=ws, client_id=cid, display_name=name)
    for area, kind, ws, payload in LOCAL_EVENTS:
        bus.publish({"area": area, "event_type": kind, "workspace_id": ws, "payload": payload,
                     "actor": "ada"})
    team.publish(*({"area": area, "event_type": kind, "workspace_id": ws, "payload": payload}
                   for area, kind, ws, payload in TEAM_EVENTS), token=grace)
    pump(lambda: app.activity_model.rowCount() >= len(LOCAL_EVENTS) + len(TEAM_EVENTS),
         "events")
    pump(lambda: stack.displayed() >= 1 and app.coalescer.next_due() is None, "the digests")
    QTest.qWait(300)
    stack.screenshot(out / "notification-digest.png", "420x230+860+30")
    QTest.qWait(4200)  # the burst is over once a window passes without events
    stack.dunstctl("close-all")
    team.publish({"area": "workflow", "event_type": "workflow_failed",
                  "workspace_id": "ws_marketing",
                  "payload": {"workflow_id": "wf_launch", "run_id": "run-42", "status": "failed",
                              "error": "step 3 (render) timed out after 60 s"}}, token=grace)
    pump(lambda: stack.displayed() >= 1, "the notification")
    QTest.qWait(300)
    stack.screenshot(out / "notification.png", "420x150+860+30")  # critical: a failure
    QTest.qWait(4200)
    stack.dunstctl("close-all")
    # a burst with a failure in it: the digest is headed by the failure
    team.publish(
        {"area": "graph", "event_type": "indexed", "workspace_id": "ws_research",
         "payload": {"graph_id": "papers"}},
        {"area": "workspace", "event_type": "member_added", "workspace_id": "ws_marketing",
         "payload": {"member": "linus@example.com", "role": "editor"}},
        {"area": "workflow", "event_type": "workflow_failed", "workspace_id": "ws_research",
         "payload": {"name": "Nightly import", "status": "failed", "error": "disk full"}},
        {"area": "plugins", "event_type": "plugin_enabled", "workspace_id": "ws_marketing",
         "payload": {"plugin": "calendar-sync", "version": "2.1.0"}},
        token=grace)
    pump(lambda: stack.displayed() >= 1 and app.coalescer.next_due() is None, "the digest")
    QTest.qWait(300)
    stack.screenshot(out / "notification-digest-failure.png", "420x230+860+30")
    stack.dunstctl("close-all")

    # the tray and its menu, the Status entries open, with a status line (the host draws
    # the icon; the menu is the app's)
    app.status.on_text_chosen("Release day")
    menu = app.views.tray.menu  # type: ignore[union-attr]
    menu.popup(QPoint(8, 800 - 32 - menu.sizeHint().height()))
    QTest.qWait(400)
    mine = next(a for a in menu.actions() if a.text().startswith("Status"))
    submenu = mine.menu()
    assert submenu is not None
    submenu.popup(menu.mapToGlobal(menu.actionGeometry(mine).topRight()))
    QTest.qWait(600)
    height = menu.sizeHint().height() + 48
    width = menu.sizeHint().width() + submenu.sizeHint().width() + 24
    stack.screenshot(out / "tray.png", f"{width}x{height}+0+{800 - height}")
    submenu.hide()
    menu.hide()

    # Settings with both connections, the team one selected and tested
    app.views.actions.settings.trigger()
    dialog = app.flow.dialog
    assert dialog is not None
    dialog.list.setCurrentRow(1)
    dialog.form.test.click()
    pump(lambda: dialog.form.result.text() not in ("", "Testing…"), "the test's answer")
    dialog.move(40, 40)
    QTest.qWait(800)
    geo = dialog.frameGeometry()
    stack.screenshot(out / "settings.png", f"{geo.width()}x{geo.height()}+{geo.x()}+{geo.y()}")
    dialog.hide()

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


def test_failures_cut_through_people_are_counted_once_and_a_kill_shows_nothing_again(
    desktop: DesktopStack, tmp_path: Path
) -> None:
    """Issue 21 on the real stack: one person on two connections joins once and never
    "leaves" while one stays; a burst with a failure is a digest headed by it, at critical
    urgency; after a ``kill -9`` and a restart nothing already shown is shown again."""
    def seen(pred: Callable[[dict[str, str]], bool], what: str) -> list[dict[str, str]]:
        """The notifications dunst showed that match ``pred`` (closed, so in its history)."""
        def check() -> list[dict[str, str]] | None:
            if desktop.displayed():
                desktop.dunstctl("close-all")
            return [h for h in desktop.history() if pred(h)] or None
        try:
            found: list[dict[str, str]] = wait_for(check, 30, what)
        except AssertionError:
            raise AssertionError(f"{what}: dunst has {desktop.history()}") from None
        return found

    def about(needle: str) -> Callable[[dict[str, str]], bool]:
        return lambda h: needle in f"{h['summary']}\n{h['body']}"

    team = TeamServer(tmp_path / "team")
    team.start()
    proc, _, _ = start_app(desktop, tmp_path, team, "[notify]\npresence=true\n")
    try:
        wait_for(desktop.registered_items, 20, "the tray item to register")
        mine = wait_for(lambda: set(team.presence_ids()) or None, 20,
                        "the app on the team server")
        # the app is live (past its catch-up) once a first event pops up
        team.publish({"area": "graph", "event_type": "indexed", "workspace_id": "ws_e2e",
                      "payload": {"name": "first"}})
        seen(about("first"), "a first notification")
        with team.client() as grace:
            # one person on two computers: one join, and no leave while one stays
            for cid in ("grace-laptop", "grace-desktop"):
                grace.join("ws_e2e", client_id=cid, display_name="Grace Hopper")
            joined = seen(about("Grace Hopper joined"), "Grace's join")
            assert len(joined) == 1
            grace.leave("grace-laptop")
            # a burst with one failure: one digest, headed by the failure, critical
            team.publish(
                {"area": "graph", "event_type": "indexed", "workspace_id": "ws_e2e"},
                {"area": "workspace", "event_type": "member_added", "workspace_id": "ws_e2e",
                 "payload": {"member": "linus", "role": "admin"}},
                {"area": "plugin", "event_type": "enabled", "workspace_id": "ws_e2e",
                 "payload": {"plugin": "slack", "version": "1.2"}},
                {"area": "workflow", "event_type": "workflow_failed", "workspace_id": "ws_e2e",
                 "payload": {"name": "Nightly import", "error": "disk full"}},
            )
            digest = seen(about("1 failed: Nightly import — disk full"), "the digest")[0]
            assert digest["message"].startswith("[critical] "), digest
            assert digest["body"].startswith("1 failed: Nightly import — disk full"), digest
            assert not [h for h in desktop.history() if about("Grace Hopper left")(h)]

            shown_before = {h["id"] for h in desktop.history()}
            def streams() -> int:
                return int(team.health()["stats"]["subscribers"])

            proc.kill()
            proc.wait(timeout=10)
            wait_for(lambda: streams() == 0, 30, "the killed app's stream to end")
            proc, _, _ = start_app(desktop, tmp_path, team)
            wait_for(lambda: streams() == 1, 30, "the restarted app's stream")
            assert mine <= team.presence_ids()
            team.publish({"area": "graph", "event_type": "indexed", "workspace_id": "ws_e2e",
                          "payload": {"name": "after-restart"}})
            seen(about("after-restart"), "the marker after the restart")
            again = [h for h in desktop.history() if h["id"] not in shown_before]
            # only the marker is new: no catch-up of what was shown, no join of Grace,
            # who was there all along
            assert [h for h in again if "after-restart" not in h["body"]] == [], again
            assert not [h for h in desktop.history() if about("Grace Hopper left")(h)]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
        team.stop()
