"""Native freedesktop notifications over D-Bus (Linux), through jeepney.

``org.freedesktop.Notifications.Notify`` with a ``default`` action (a click on
the notification body), ``replaces_id`` so a digest updates the notification
it coalesces instead of stacking a new one, and the ``ActionInvoked`` /
``NotificationClosed`` signals to map clicks back to events.

Why jeepney and not PySide6's QtDBus: ``Notify`` takes ``replaces_id`` as a
D-Bus ``uint32``, and PySide6 cannot produce one: a Python int is sent as
``int32`` (``QDBusMessage.setArguments``) or ``uint16`` (``QDBusArgument <<``),
and the daemon rejects the call ("Type of message '(sisssasa{sv}i)' does not
match expected type '(susssasa{sv}i)'"). jeepney is pure Python, has no
dependencies, takes an explicit signature for every call, and is what
keyring and SecretStorage use.

Threads: jeepney's router has its own receiver thread; Notify calls wait for
their reply on one sender thread of ours (the GUI thread never waits on
D-Bus), which also closes the connection at the end; a listener thread turns
the daemon's signals into ``activated`` emissions, which Qt queues to the GUI
thread.
"""

from __future__ import annotations

import html
import logging
import queue
import threading
from typing import Any

from jeepney import DBusAddress, MatchRule, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusRouter, open_dbus_connection
from jeepney.low_level import HeaderFields
from PySide6.QtCore import QObject, Qt, Signal, Slot

from lattice_rt_tray.logic.notices import Notice, NoticeKind
from lattice_rt_tray.services.notifiers import MUTE_ACTION, READ_ACTION, Notifier, target

__all__ = ["DBusNotifier", "NotificationsUnavailable"]

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
NOTIFICATIONS = DBusAddress(PATH, bus_name=SERVICE, interface=SERVICE)
CALL_TIMEOUT = 2.0


class NotificationsUnavailable(RuntimeError):
    """No session bus, or nobody serves org.freedesktop.Notifications."""


class DBusNotifier(Notifier):
    """Signals:
    activated(str, int): see Notifier; always emitted on the GUI thread.
    """

    name = "dbus"
    _clicked = Signal(str, int)  # listener thread -> GUI thread
    _acted = Signal(str, str, str)

    def __init__(
        self,
        *,
        app_name: str,
        app_icon: str = "",
        desktop_entry: str = "",
        bus: str = "SESSION",
        parent: QObject | None = None,
    ) -> None:
        """Connect to the session bus; raises NotificationsUnavailable when it cannot."""
        super().__init__(parent)
        self._app_name = app_name
        self._app_icon = app_icon
        self._hints: dict[str, tuple[str, Any]] = {"urgency": ("y", 1)}
        if desktop_entry:
            self._hints["desktop-entry"] = ("s", desktop_entry)
        try:
            self._conn = open_dbus_connection(bus)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise NotificationsUnavailable(f"no D-Bus session bus: {exc}") from exc
        self._router = DBusRouter(self._conn)
        self._lock = threading.Lock()
        self._ids_by_key: dict[str, int] = {}
        self._target_by_id: dict[int, tuple[str, int]] = {}  # id -> (server, seq)
        self._workspace_by_id: dict[int, str] = {}  # id -> the workspace "Mute" mutes
        self._closed = False
        self._clicked.connect(self.on_clicked, Qt.ConnectionType.QueuedConnection)
        self._acted.connect(self.acted, Qt.ConnectionType.QueuedConnection)
        try:
            info = self._call("GetServerInformation", "", ())
            caps = self._call("GetCapabilities", "", ())
        except Exception as exc:
            self._shutdown()
            raise NotificationsUnavailable(f"no notification service on D-Bus: {exc}") from exc
        self.server_name = str(info[0]) if info else "unknown"
        self.capabilities = frozenset(str(c) for c in caps[0]) if caps else frozenset()
        self._signals: queue.Queue[Any] = queue.Queue()
        rule = MatchRule(type="signal", interface=SERVICE, path=PATH)
        self._filter = self._router.filter(rule, queue=self._signals)
        try:
            self._router.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - unicast signals still arrive
            log.info("AddMatch failed (%s); relying on unicast signals", exc)
        self._outbox: queue.Queue[Notice | None] = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, name="dbus-notify", daemon=True)
        self._listener = threading.Thread(target=self._listen, name="dbus-signals", daemon=True)
        self._sender.start()
        self._listener.start()

    # ----------------------------------------------------------------- API
    def show(self, notice: Notice) -> None:
        if not self._closed:
            self._outbox.put(notice)

    @Slot(str, int)
    def on_clicked(self, server: str, seq: int) -> None:
        self.activated.emit(server, seq)

    def close(self) -> None:
        """Stop; the sender closes the connection once its last call is answered.

        Closing the router under a call in flight made jeepney's receiver thread
        fail on the reply it had just delivered (and lost that popup), so the
        GUI thread only asks, and never waits on D-Bus here either.
        """
        if self._closed:
            return
        self._closed = True
        self._signals.put(None)
        self._outbox.put(None)

    # ----------------------------------------------------------- internals
    def _call(self, method: str, signature: str, body: tuple[Any, ...]) -> tuple[Any, ...]:
        msg = new_method_call(NOTIFICATIONS, method, signature or None, body)
        reply = self._router.send_and_get_reply(msg, timeout=CALL_TIMEOUT)
        if reply.header.message_type is MessageType.error:
            raise RuntimeError(f"{method}: {reply.body[0] if reply.body else 'D-Bus error'}")
        return tuple(reply.body)

    def _send_loop(self) -> None:
        while True:
            notice = self._outbox.get()
            if notice is None or self._closed:
                break
            try:
                self._notify(notice)
            except Exception as exc:  # noqa: BLE001 - a lost popup must not kill the loop
                log.warning("notification not shown: %s", exc)
        self._shutdown()

    def _notify(self, notice: Notice) -> None:
        with self._lock:
            replaces = self._ids_by_key.get(notice.key, 0)
        body = notice.body
        if "body-markup" in self.capabilities:
            body = html.escape(body, quote=False)
        actions = _actions(notice) if "actions" in self.capabilities else []
        if notice.critical:  # a failure: it stays until dismissed, and servers may sound it
            hints = {**self._hints, "urgency": ("y", 2)}
        elif notice.quiet:
            hints = {**self._hints, "urgency": ("y", 0)}
        else:
            hints = self._hints
        (nid,) = self._call(
            "Notify",
            "susssasa{sv}i",
            (self._app_name, replaces, self._app_icon, notice.title, body, actions,
             hints, -1),
        )
        with self._lock:
            if replaces and replaces != nid:
                self._target_by_id.pop(replaces, None)
            self._ids_by_key[notice.key] = int(nid)
            self._target_by_id[int(nid)] = target(notice)
            self._workspace_by_id[int(nid)] = notice.workspace or ""

    def _listen(self) -> None:
        while True:
            msg = self._signals.get()
            if msg is None or self._closed:
                return
            member = msg.header.fields.get(HeaderFields.member)
            try:
                if member == "ActionInvoked":
                    nid, key = int(msg.body[0]), str(msg.body[1])
                    with self._lock:
                        clicked = self._target_by_id.get(nid)
                        workspace = self._workspace_by_id.get(nid, "")
                    if clicked is not None and key == "default":
                        self._clicked.emit(*clicked)
                    elif clicked is not None and key in (MUTE_ACTION, READ_ACTION):
                        self._acted.emit(key, clicked[0], workspace)
                elif member == "NotificationClosed":
                    nid = int(msg.body[0])
                    with self._lock:
                        self._target_by_id.pop(nid, None)
                        self._workspace_by_id.pop(nid, None)
                        for key in [k for k, v in self._ids_by_key.items() if v == nid]:
                            del self._ids_by_key[key]
            except (IndexError, TypeError, ValueError, RuntimeError) as exc:
                log.debug("ignoring a notification signal: %s", exc)

    def _shutdown(self) -> None:
        try:
            self._router.close()
        except Exception as exc:  # noqa: BLE001 - closing a dead connection
            log.debug("closing the D-Bus router: %s", exc)
        try:
            self._conn.close()
        except OSError:
            pass


def _actions(notice: Notice) -> list[str]:
    """The buttons a notification carries (key, label pairs); "default" is a click on it."""
    if notice.kind is not NoticeKind.EVENT or notice.seq is None:
        return ["default", "Open activity", READ_ACTION, "Mark all read"]
    actions = ["default", "Open"]
    if notice.workspace:
        actions += [MUTE_ACTION, f"Mute {notice.workspace} for an hour"]
    return [*actions, READ_ACTION, "Mark all read"]
