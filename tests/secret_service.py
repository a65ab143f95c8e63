"""A real Secret Service for tests: GNOME Keyring on a private session bus, unlocked.

``gnome-keyring-daemon --unlock`` reads the login password on stdin, creates
the ``login`` keyring (in a home directory of the test's own) and unlocks it,
so the keyring library stores and reads without any prompt. Everything runs
in the test's directory and on its own bus: the machine's keyring is never
touched. ``scripts/sysdeps.sh test`` installs ``gnome-keyring`` and ``dbus``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

__all__ = ["MISSING", "SecretService"]

SECRETS = "org.freedesktop.secrets"
WAIT = 20.0
#: the binaries it needs, when one is not installed (the tests then skip, naming it)
MISSING = [name for name in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(name) is None]


class SecretService:
    """A private ``dbus-daemon`` and a ``gnome-keyring-daemon`` serving the Secret Service."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env: dict[str, str] = {}

    @property
    def address(self) -> str:
        return self.env["DBUS_SESSION_BUS_ADDRESS"]

    def start(self, bus_address: str | None = None) -> None:
        """Start it (on ``bus_address`` when given, else on a private bus of its own)."""
        home = self.workdir / "home"
        run = self.workdir / "run"
        home.mkdir(parents=True, exist_ok=True)
        run.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "XDG_RUNTIME_DIR": str(run), "XDG_DATA_HOME": str(home / ".local" / "share"),
               "XDG_CONFIG_HOME": str(home / ".config")}
        if bus_address is None:
            bus = subprocess.Popen(
                ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
                stdout=subprocess.PIPE, env=env,
            )
            self.procs.append(bus)
            assert bus.stdout is not None
            bus_address = bus.stdout.readline().decode().strip()  # printed once it listens
            bus.stdout.close()
            assert bus_address, "dbus-daemon did not start"
        env["DBUS_SESSION_BUS_ADDRESS"] = bus_address
        self.env = env
        keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        self.procs.append(keyring)
        assert keyring.stdin is not None
        keyring.stdin.write(b"test login password")  # creates and unlocks "login"
        keyring.stdin.close()
        self._wait_for_name()

    def _wait_for_name(self) -> None:
        """Poll the bus (another process: no signal reaches us) until the service is up."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        deadline = time.monotonic() + WAIT
        bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                          interface="org.freedesktop.DBus")
        with open_dbus_connection(self.address) as conn:
            while True:
                reply = conn.send_and_get_reply(
                    new_method_call(bus, "NameHasOwner", "s", (SECRETS,)), timeout=5)
                if reply.body[0]:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"gnome-keyring-daemon did not serve {SECRETS}")
                time.sleep(0.05)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=WAIT)
        self.procs.clear()
