"""A private D-Bus daemon and desktop services made for the tests, with jeepney.

``private_bus()`` starts ``dbus-daemon --session`` (installed by
``scripts/sysdeps.sh test``) and yields its address. :class:`FakeService`
owns a well-known name on it and answers method calls from a table the test
fills; the test makes it emit signals. The idle tests run a fake
``org.freedesktop.ScreenSaver``, ``org.gnome.Mutter.IdleMonitor`` and logind
(which lives on the system bus in reality; the backend's bus addresses are
injectable, so here it shares the private bus).
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from jeepney import (
    DBusAddress,
    FileDescriptor,
    MatchRule,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusRouter, open_dbus_connection
from jeepney.low_level import HeaderFields, Message

from lattice_rt_tray.system.idle.dbus import LOGIN1, MUTTER, SCREENSAVER, SESSION_INTERFACE

WAIT = 10.0

#: (path, interface, member) -> handler(message body) -> (signature, reply body)
Handler = Callable[[tuple[Any, ...]], tuple[str, tuple[Any, ...]]]


@contextmanager
def private_bus() -> Iterator[str]:
    """A private bus daemon; its address."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("needs dbus-daemon (scripts/sysdeps.sh test installs it)")
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert daemon.stdout is not None
        address = daemon.stdout.readline().strip()  # printed once it listens
        assert address, "dbus-daemon did not start"
        yield address
    finally:
        daemon.terminate()
        daemon.wait(WAIT)
        if daemon.stdout is not None:
            daemon.stdout.close()


class FakeService:
    """A connection owning ``name`` on ``address``, answering from ``handlers``."""

    def __init__(self, address: str, name: str | None = None, *, fds: bool = False) -> None:
        self.handlers: dict[tuple[str, str, str], Handler] = {}
        self.calls: queue.Queue[tuple[str, str, str]] = queue.Queue()
        self._conn = open_dbus_connection(address, enable_fds=fds)
        self._router = DBusRouter(self._conn)
        self.unique_name = self._router.unique_name
        if name is not None:
            reply = self._router.send_and_get_reply(message_bus.RequestName(name), timeout=WAIT)
            assert reply.body == (1,), f"could not own {name}"
        self._incoming = self._router.filter(MatchRule(type="method_call"), queue=queue.Queue())
        self._thread = threading.Thread(target=self._serve, name=f"fake-{name}", daemon=True)
        self._thread.start()

    def on(self, path: str, interface: str, member: str, handler: Handler) -> None:
        self.handlers[(path, interface, member)] = handler

    def _serve(self) -> None:
        while True:
            msg: Message | None = self._incoming.queue.get()
            if msg is None:
                return
            fields = msg.header.fields
            key = (str(fields.get(HeaderFields.path)), str(fields.get(HeaderFields.interface)),
                   str(fields.get(HeaderFields.member)))
            self.calls.put(key)
            handler = self.handlers.get(key)
            if handler is None:
                self._router.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod",
                                            "s", (f"no {key}",)))
                continue
            try:
                signature, body = handler(tuple(msg.body))
            except LookupError as exc:
                self._router.send(new_error(msg, "org.freedesktop.DBus.Error.Failed",
                                            "s", (str(exc),)))
                continue
            self._router.send(new_method_return(msg, signature or None, body))
            for value in body:  # a descriptor handed over is the taker's now
                if isinstance(value, FileDescriptor):
                    value.close()

    def emit(self, path: str, interface: str, member: str, signature: str,
             body: tuple[Any, ...]) -> None:
        self._router.send(new_signal(DBusAddress(path, interface=interface), member,
                                     signature, body))

    def close(self) -> None:
        self._incoming.queue.put(None)
        self._thread.join(WAIT)
        self._router.close()
        self._conn.close()


SAVER_PATH, SAVER_IFACE = str(SCREENSAVER.object_path), str(SCREENSAVER.interface)
MANAGER_PATH, MANAGER_IFACE = str(LOGIN1.object_path), str(LOGIN1.interface)
SESSION_PATH = "/org/freedesktop/login1/session/_31"
PROPERTIES = "org.freedesktop.DBus.Properties"


class FakeScreenSaver:
    def __init__(self, address: str) -> None:
        self.idle_ms = 0
        self.active = False
        self.service = FakeService(address, str(SCREENSAVER.bus_name))
        self.service.on(SAVER_PATH, SAVER_IFACE, "GetSessionIdleTime",
                        lambda body: ("u", (self.idle_ms,)))
        self.service.on(SAVER_PATH, SAVER_IFACE, "GetActive", lambda body: ("b", (self.active,)))

    def set_active(self, on: bool) -> None:
        self.active = on
        self.service.emit(SAVER_PATH, SAVER_IFACE, "ActiveChanged", "b", (on,))


class FakeMutter:
    def __init__(self, address: str) -> None:
        self.idle_ms = 0
        self.service = FakeService(address, str(MUTTER.bus_name))
        self.service.on(str(MUTTER.object_path), str(MUTTER.interface), "GetIdletime",
                        lambda body: ("t", (self.idle_ms,)))


class FakeLogind:
    """A manager with this process's session, its LockedHint, PrepareForSleep and
    delay inhibitor locks (each a pipe: logind keeps the read end, the taker the
    write end; the lock is released when every write end is closed)."""

    def __init__(self, address: str, *, has_session: bool = True, locked: bool = False) -> None:
        self.locked_hint = locked
        self.has_session = has_session
        self.inhibitors: queue.Queue[tuple[tuple[object, ...], int]] = queue.Queue()
        self.service = FakeService(address, str(LOGIN1.bus_name), fds=True)
        self.service.on(MANAGER_PATH, MANAGER_IFACE, "GetSession", self._get_session)
        self.service.on(MANAGER_PATH, MANAGER_IFACE, "Inhibit", self._inhibit)
        self.service.on(SESSION_PATH, PROPERTIES, "Get", self._get)

    def _inhibit(self, body: tuple[object, ...]) -> tuple[str, tuple[object, ...]]:
        read_end, write_end = os.pipe()
        self.inhibitors.put((body, read_end))
        return "h", (FileDescriptor(write_end),)  # sent, then closed: the taker holds it

    def next_inhibitor(self) -> tuple[tuple[object, ...], int]:
        return self.inhibitors.get(timeout=WAIT)

    def _get_session(self, body: tuple[object, ...]) -> tuple[str, tuple[object, ...]]:
        if not self.has_session or body != ("auto",):
            raise LookupError("caller does not belong to any known session")
        return "o", (SESSION_PATH,)

    def _get(self, body: tuple[object, ...]) -> tuple[str, tuple[object, ...]]:
        if body != (SESSION_INTERFACE, "LockedHint"):
            raise LookupError(f"no property {body}")
        return "v", (("b", self.locked_hint),)

    def set_locked(self, on: bool) -> None:
        self.locked_hint = on
        self.service.emit(SESSION_PATH, PROPERTIES, "PropertiesChanged", "sa{sv}as",
                          (SESSION_INTERFACE, {"LockedHint": ("b", on), "IdleHint": ("b", on)},
                           []))

    def sleep(self, on: bool) -> None:
        self.service.emit(MANAGER_PATH, MANAGER_IFACE, "PrepareForSleep", "b", (on,))
