"""Idle time, screen lock and sleep on Linux, over D-Bus with jeepney.

- Idle time: GNOME's ``org.gnome.Mutter.IdleMonitor`` (``GetIdletime``, ms),
  else ``org.freedesktop.ScreenSaver.GetSessionIdleTime`` (KDE and others;
  milliseconds too, as KDE, the desktop that answers it, counts), else the
  fallback backend (the X11 screensaver extension), else unknown.
- Lock: the ScreenSaver's ``ActiveChanged`` signal (and ``GetActive`` at
  start), and logind's ``LockedHint`` on this session
  (``org.freedesktop.login1.Session``, followed through ``PropertiesChanged``).
  Either one locked is locked.
- Sleep: logind's ``PrepareForSleep`` signal (True before, False after). A
  "delay" inhibitor lock (``Inhibit("sleep", ..., "delay")``) is held while
  awake, so the app has time to tell servers it is away: logind waits until
  :meth:`DBusBackend.sleep_ready` closes the lock (or its
  ``InhibitDelayMaxSec``, 5 s by default, is over); a new one is taken on
  wake-up.

Session and system bus addresses are injectable ("SESSION", "SYSTEM" or a
``unix:...`` address), so the tests run both on one private bus. Signals are
taken only from the connection that owned the service's name at start. Every
call here blocks: :class:`~.idle_watcher.IdleWatcher` makes them on its worker
thread; one listener thread of ours turns signals into reports.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from jeepney import (
    DBusAddress,
    FileDescriptor,
    MatchRule,
    MessageType,
    Properties,
    new_method_call,
)
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusConnection, DBusRouter, open_dbus_connection
from jeepney.low_level import HeaderFields, Message

from lattice_rt_tray.system.idle.base import IdleBackend, Report, Sample

__all__ = ["LOGIN1", "MUTTER", "SCREENSAVER", "SESSION_INTERFACE", "DBusBackend"]

log = logging.getLogger(__name__)

SCREENSAVER = DBusAddress("/org/freedesktop/ScreenSaver", bus_name="org.freedesktop.ScreenSaver",
                          interface="org.freedesktop.ScreenSaver")
MUTTER = DBusAddress("/org/gnome/Mutter/IdleMonitor/Core", bus_name="org.gnome.Mutter.IdleMonitor",
                     interface="org.gnome.Mutter.IdleMonitor")
LOGIN1 = DBusAddress("/org/freedesktop/login1", bus_name="org.freedesktop.login1",
                     interface="org.freedesktop.login1.Manager")
SESSION_INTERFACE = "org.freedesktop.login1.Session"
PROPERTIES_INTERFACE = "org.freedesktop.DBus.Properties"
CALL_TIMEOUT = 2.0
#: the inhibitor lock, as ``systemd-inhibit --list`` shows it
INHIBIT = ("sleep", "Lattice Realtime Tray", "Tell others you are away before sleeping", "delay")


class _Bus:
    """One connection with its router, and who owned the names we use at start."""

    def __init__(self, address: str, *, fds: bool = False) -> None:
        self.conn: DBusConnection = open_dbus_connection(address, enable_fds=fds)
        self.router = DBusRouter(self.conn)
        self.owners: dict[str, str] = {}

    def call(self, message: Message) -> tuple[Any, ...]:
        reply = self.router.send_and_get_reply(message, timeout=CALL_TIMEOUT)
        if reply.header.message_type is MessageType.error:
            raise RuntimeError(reply.body[0] if reply.body else "D-Bus error")
        return tuple(reply.body)

    def owner(self, name: str) -> str | None:
        """The unique name owning ``name`` now (remembered), or None."""
        try:
            (unique,) = self.call(message_bus.GetNameOwner(name))
        except RuntimeError:  # org.freedesktop.DBus.Error.NameHasNoOwner
            return None
        self.owners[name] = str(unique)
        return self.owners[name]

    def listen(self, rule: MatchRule, into: queue.Queue[Message | None]) -> None:
        self.router.filter(rule, queue=into)
        self.call(message_bus.AddMatch(rule))

    def close(self) -> None:
        try:
            self.router.close()
        except Exception as exc:  # noqa: BLE001 - closing a dead connection
            log.debug("closing a D-Bus router: %s", exc)
        try:
            self.conn.close()
        except OSError:
            pass


class DBusBackend:
    """See the module docstring."""

    name = "dbus"
    poll_every: float | None = None

    def __init__(
        self,
        *,
        session_bus: str = "SESSION",
        system_bus: str = "SYSTEM",
        fallback: IdleBackend | None = None,
    ) -> None:
        self._addresses = (session_bus, system_bus)
        self._fallback = fallback
        self._session: _Bus | None = None
        self._system: _Bus | None = None
        self._idle_from: str | None = None  # MUTTER, SCREENSAVER or "fallback"
        self._session_path: str | None = None  # this logind session's object path
        self._saver_on = False
        self._hint_locked = False
        self._report: Report | None = None
        self._signals: queue.Queue[Message | None] = queue.Queue()
        self._listener: threading.Thread | None = None
        self._delay_lock = threading.Lock()
        self._delay: FileDescriptor | None = None  # logind's sleep delay inhibitor

    # ------------------------------------------------------------------ API
    def start(self, report: Report) -> str:
        self._report = report
        found: list[str] = []
        for part in (self._start_session, self._start_system):
            try:
                found += part()
            except (RuntimeError, OSError, ValueError) as exc:  # a bus that misbehaves
                log.warning("D-Bus idle source: %s failed: %s", part.__name__, exc)
        if self._idle_from is None and self._fallback is not None:
            try:
                found.append(self._fallback.start(report))
                self._idle_from = "fallback"
            except Exception as exc:  # noqa: BLE001 - no X display, no extension
                log.info("no idle time from %s: %s", self._fallback.name, exc)
        self._listener = threading.Thread(target=self._listen, name="idle-dbus", daemon=True)
        self._listener.start()
        if self._locked():
            report.locked(True)
        return ", ".join(found) or "nothing (no session or system bus)"

    def sample(self) -> Sample:
        if self._idle_from == "fallback" and self._fallback is not None:
            return self._fallback.sample()
        if self._session is None or self._idle_from is None:
            return Sample(None)
        if self._idle_from == MUTTER.bus_name:
            (ms,) = self._session.call(new_method_call(MUTTER, "GetIdletime"))
        else:
            (ms,) = self._session.call(new_method_call(SCREENSAVER, "GetSessionIdleTime"))
        return Sample(int(ms) / 1000.0)

    def sleep_ready(self) -> None:
        """The app has told servers it is away: let the machine sleep now."""
        with self._delay_lock:
            delay, self._delay = self._delay, None
        if delay is not None:
            delay.close()

    def close(self) -> None:
        self.sleep_ready()
        self._signals.put(None)
        if self._listener is not None:
            self._listener.join(CALL_TIMEOUT)
        for bus in (self._session, self._system):
            if bus is not None:
                bus.close()
        if self._fallback is not None and self._idle_from == "fallback":
            self._fallback.close()

    # ------------------------------------------------------------ session
    def _start_session(self) -> list[str]:
        try:
            bus = self._session = _Bus(self._addresses[0])
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            log.info("no D-Bus session bus: %s", exc)
            return []
        found = []
        if bus.owner(str(MUTTER.bus_name)) is not None:
            self._idle_from = str(MUTTER.bus_name)
            found.append("Mutter idle monitor")
        if bus.owner(str(SCREENSAVER.bus_name)) is not None:
            self._idle_from = self._idle_from or str(SCREENSAVER.bus_name)
            rule = MatchRule(type="signal", interface=SCREENSAVER.interface,
                             member="ActiveChanged")
            bus.listen(rule, self._signals)
            try:
                (active,) = bus.call(new_method_call(SCREENSAVER, "GetActive"))
                self._saver_on = bool(active)
            except RuntimeError as exc:
                log.info("ScreenSaver.GetActive: %s", exc)
            found.append("ScreenSaver")
        return found

    # ------------------------------------------------------------- system
    def _start_system(self) -> list[str]:
        try:
            bus = self._system = _Bus(self._addresses[1], fds=True)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            log.info("no D-Bus system bus: %s", exc)
            return []
        if bus.owner(str(LOGIN1.bus_name)) is None:
            return []
        bus.listen(MatchRule(type="signal", interface=LOGIN1.interface, member="PrepareForSleep",
                             path=LOGIN1.object_path), self._signals)
        self._take_sleep_delay()
        try:
            (path,) = bus.call(new_method_call(LOGIN1, "GetSession", "s", ("auto",)))
        except RuntimeError as exc:  # not started in a logind session
            log.info("logind has no session for this process: %s", exc)
            return ["logind (sleep)"]
        self._session_path = str(path)
        changes = MatchRule(type="signal", interface=PROPERTIES_INTERFACE,
                            member="PropertiesChanged", path=self._session_path)
        changes.add_arg_condition(0, SESSION_INTERFACE)
        bus.listen(changes, self._signals)
        session = DBusAddress(self._session_path, bus_name=LOGIN1.bus_name,
                              interface=SESSION_INTERFACE)
        try:
            ((_, hint),) = bus.call(Properties(session).get("LockedHint"))
            self._hint_locked = bool(hint)
        except (RuntimeError, ValueError) as exc:  # an old logind without LockedHint
            log.info("logind LockedHint: %s", exc)
        return ["logind (lock, sleep)"]

    def _take_sleep_delay(self) -> None:
        assert self._system is not None
        try:
            (delay,) = self._system.call(new_method_call(LOGIN1, "Inhibit", "ssss", INHIBIT))
        except (RuntimeError, OSError) as exc:  # not allowed, or an old logind
            log.info("no sleep delay lock from logind: %s", exc)
            return
        with self._delay_lock:
            old, self._delay = self._delay, delay
        if old is not None:
            old.close()

    # ----------------------------------------------------------- listener
    def _locked(self) -> bool:
        return self._saver_on or self._hint_locked

    def _listen(self) -> None:
        while True:
            msg = self._signals.get()
            if msg is None:
                return
            try:
                self._signal(msg)
            except (IndexError, TypeError, ValueError) as exc:
                log.debug("ignoring a malformed D-Bus signal: %s", exc)

    def _signal(self, msg: Message) -> None:
        fields = msg.header.fields
        member, sender = fields.get(HeaderFields.member), fields.get(HeaderFields.sender)
        interface = fields.get(HeaderFields.interface)
        report = self._report
        assert report is not None
        if interface == SCREENSAVER.interface and member == "ActiveChanged":
            if self._from(self._session, SCREENSAVER, sender):
                was = self._locked()
                self._saver_on = bool(msg.body[0])
                if self._locked() != was:
                    report.locked(self._locked())
        elif interface == LOGIN1.interface and member == "PrepareForSleep":
            if self._from(self._system, LOGIN1, sender):
                asleep = bool(msg.body[0])
                if not asleep:
                    self._take_sleep_delay()  # for the next time
                report.sleeping(asleep)
        elif member == "PropertiesChanged" and self._from(self._system, LOGIN1, sender):
            _, changed, _ = msg.body
            if "LockedHint" in changed:
                was = self._locked()
                self._hint_locked = bool(changed["LockedHint"][1])
                if self._locked() != was:
                    report.locked(self._locked())

    @staticmethod
    def _from(bus: _Bus | None, address: DBusAddress, sender: object) -> bool:
        return bus is not None and bus.owners.get(str(address.bus_name)) == sender
