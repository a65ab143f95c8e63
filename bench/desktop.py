"""A private desktop for the tray app figures: Xvfb, a D-Bus session, a tray host.

Started in this order, each as its own process, all stopped on exit:
Xvfb on a free display, ``dbus-daemon --session``, ``status-notifier-watcher``
(the StatusNotifierWatcher service Qt registers its tray icon with) and
``gtk-sni-tray-standalone`` (a tray host, so Qt sees a system tray), and
``dunst`` (a notification daemon) when installed.

:class:`TrayWatch` listens on that bus for ``StatusNotifierItemRegistered``:
the moment an app's tray icon is shown, observed from outside the app.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from jeepney import DBusAddress, MatchRule, Properties, message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

__all__ = ["DesktopError", "PrivateDesktop", "TrayWatch", "desktop_available"]

WATCHER = "org.kde.StatusNotifierWatcher"
_WATCHER_ADDR = DBusAddress("/StatusNotifierWatcher", bus_name=WATCHER, interface=WATCHER)
_TOOLS = ("Xvfb", "dbus-daemon", "status-notifier-watcher", "gtk-sni-tray-standalone")


class DesktopError(RuntimeError):
    pass


def desktop_available() -> str | None:
    """None when every tool is installed, else what is missing."""
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    return f"missing {', '.join(missing)} (scripts/sysdeps.sh test)" if missing else None


def _free_display() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(
            f"/tmp/.X{number}-lock"
        ).exists():
            return number
    raise DesktopError("no free X display number")


class PrivateDesktop:
    """Xvfb + D-Bus + tray host; ``env`` is what an app needs to use them."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._procs: list[subprocess.Popen[bytes]] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-desktop-")
        self.env: dict[str, str] = {}

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"desktop-{name}.log", "ab")  # noqa: SIM115
        try:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)
        finally:
            log.close()
        self._procs.append(proc)
        return proc

    def start(self, timeout: float = 15.0) -> PrivateDesktop:
        missing = desktop_available()
        if missing:
            raise DesktopError(missing)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        display = _free_display()
        base = {k: v for k, v in os.environ.items()
                if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS",
                             "QT_QPA_PLATFORM")}
        runtime = Path(self._tmp.name) / "runtime"
        runtime.mkdir(mode=0o700)
        base["XDG_RUNTIME_DIR"] = str(runtime)
        self._spawn("xvfb", ["Xvfb", f":{display}", "-screen", "0", "1280x800x24", "-nolisten",
                             "tcp"], base)
        deadline = time.monotonic() + timeout
        while not Path(f"/tmp/.X11-unix/X{display}").exists():
            if time.monotonic() > deadline:
                self.stop()
                raise DesktopError("Xvfb did not start")
            time.sleep(0.05)
        socket_path = runtime / "bus"
        address = f"unix:path={socket_path}"
        self._spawn("dbus", ["dbus-daemon", "--session", "--nofork", "--nopidfile",
                             f"--address={address}"], base)
        while not socket_path.exists():
            if time.monotonic() > deadline:
                self.stop()
                raise DesktopError("dbus-daemon did not start")
            time.sleep(0.05)
        self.env = dict(base, DISPLAY=f":{display}", DBUS_SESSION_BUS_ADDRESS=address,
                        QT_QPA_PLATFORM="xcb")
        self._spawn("watcher", ["status-notifier-watcher"], self.env)
        self._wait_for_name(WATCHER, deadline)
        self._spawn("host", ["gtk-sni-tray-standalone"], self.env)
        self._wait_for_host(deadline)
        if shutil.which("dunst"):
            self._spawn("dunst", ["dunst"], self.env)
            self._wait_for_name("org.freedesktop.Notifications", deadline)
        return self

    def _connect(self) -> DBusConnection:
        return open_dbus_connection(bus=self.env["DBUS_SESSION_BUS_ADDRESS"])

    def _wait_for_name(self, name: str, deadline: float) -> None:
        with self._connect() as conn:
            while True:
                reply = conn.send_and_get_reply(message_bus.NameHasOwner(name))
                if reply.body[0]:
                    return
                if time.monotonic() > deadline:
                    self.stop()
                    raise DesktopError(f"{name} did not appear on the session bus")
                time.sleep(0.05)

    def _wait_for_host(self, deadline: float) -> None:
        prop = Properties(_WATCHER_ADDR).get("IsStatusNotifierHostRegistered")
        with self._connect() as conn:
            while True:
                if conn.send_and_get_reply(prop).body[0][1]:
                    return
                if time.monotonic() > deadline:
                    self.stop()
                    raise DesktopError("the tray host did not register")
                time.sleep(0.05)

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._procs):
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        self._tmp.cleanup()

    def __enter__(self) -> PrivateDesktop:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class TrayWatch:
    """Waits for the next tray icon registration on a desktop's session bus."""

    def __init__(self, desktop: PrivateDesktop) -> None:
        self._conn = open_dbus_connection(bus=desktop.env["DBUS_SESSION_BUS_ADDRESS"])
        rule = MatchRule(type="signal", interface=WATCHER,
                         member="StatusNotifierItemRegistered")
        self._conn.send_and_get_reply(message_bus.AddMatch(rule))
        self._filter = self._conn.filter(rule, bufsize=16)

    def registered_items(self) -> list[str]:
        reply = self._conn.send_and_get_reply(
            Properties(_WATCHER_ADDR).get("RegisteredStatusNotifierItems")
        )
        items: list[str] = reply.body[0][1]
        return items

    def wait(self, timeout: float) -> int | None:
        """``time.monotonic_ns()`` when an icon registered, or None after ``timeout``."""
        try:
            self._conn.recv_until_filtered(self._filter.queue, timeout=timeout)
        except TimeoutError:
            return None
        return time.monotonic_ns()

    def close(self) -> None:
        self._filter.close()
        self._conn.close()
