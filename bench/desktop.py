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
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from jeepney import DBusAddress, MatchRule, Message, MessageType, Properties, message_bus
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


def _answer(conn: DBusConnection, message: Message) -> bool:
    """The boolean a method returns (a property's value), False on an error reply."""
    reply = conn.send_and_get_reply(message, timeout=5.0)
    if reply.header.message_type is MessageType.error or not reply.body:
        return False
    value = reply.body[0]
    if isinstance(value, tuple):  # a property: (signature, value)
        value = value[1] if len(value) == 2 else False
    return value is True


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
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        base = {k: v for k, v in os.environ.items()
                if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS",
                             "QT_QPA_PLATFORM")}
        runtime = Path(self._tmp.name) / "runtime"
        runtime.mkdir(mode=0o700)
        base["XDG_RUNTIME_DIR"] = str(runtime)
        display = self._start_xvfb(base, timeout)
        deadline = time.monotonic() + timeout
        socket_path = runtime / "bus"
        address = f"unix:path={socket_path}"
        self._spawn("dbus", ["dbus-daemon", "--session", "--nofork", "--nopidfile",
                             f"--address={address}"], base)
        while not socket_path.exists():
            if time.monotonic() > deadline:
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

    def _start_xvfb(self, env: dict[str, str], timeout: float) -> int:
        """Xvfb picks a free display itself and tells its number (-displayfd)."""
        read_fd, write_fd = os.pipe()
        try:
            log = open(self.log_dir / "desktop-xvfb.log", "ab")  # noqa: SIM115
            try:
                proc = subprocess.Popen(
                    ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24",
                     "-nolisten", "tcp"],
                    env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,),
                )
            finally:
                log.close()
            self._procs.append(proc)
            os.close(write_fd)
            write_fd = -1
            # Xvfb writes the number, then a newline, possibly in two writes: closing
            # the pipe between them kills it (SIGPIPE), so read up to the newline.
            text = ""
            deadline = time.monotonic() + timeout
            while not text.endswith("\n"):
                left = deadline - time.monotonic()
                ready, _, _ = select.select([read_fd], [], [], max(0.0, left))
                chunk = os.read(read_fd, 64).decode() if ready else ""
                if not chunk:
                    break
                text += chunk
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        if not text.strip().isdigit():
            raise DesktopError("Xvfb did not start (see desktop-xvfb.log)")
        return int(text.strip())

    def _connect(self) -> DBusConnection:
        return open_dbus_connection(bus=self.env["DBUS_SESSION_BUS_ADDRESS"])

    def _wait_for_name(self, name: str, deadline: float) -> None:
        with self._connect() as conn:
            while not _answer(conn, message_bus.NameHasOwner(name)):
                if time.monotonic() > deadline:
                    raise DesktopError(f"{name} did not appear on the session bus")
                time.sleep(0.05)

    def _wait_for_host(self, deadline: float) -> None:
        prop = Properties(_WATCHER_ADDR).get("IsStatusNotifierHostRegistered")
        with self._connect() as conn:
            while not _answer(conn, prop):
                if time.monotonic() > deadline:
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
