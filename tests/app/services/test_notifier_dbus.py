"""DBusNotifier against a real D-Bus daemon and a notification service made for the test.

Each test starts a private ``dbus-daemon`` (installed by ``scripts/sysdeps.sh
test``) and, on it, a small ``org.freedesktop.Notifications`` service written
with jeepney: it answers ``GetServerInformation``, ``GetCapabilities`` and
``Notify`` as a daemon would, records every call with its D-Bus signature, and
emits ``ActionInvoked`` / ``NotificationClosed`` when the test says so. What is
checked is the wire: the ``uint32`` replaces id, markup escaping, the default
action, clicks mapped back to events on the GUI thread.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from jeepney import DBusAddress, MatchRule, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusRouter, open_dbus_connection
from jeepney.low_level import HeaderFields, Message
from PySide6.QtCore import QObject

from lattice_rt_tray.logic.notices import Notice, NoticeKind
from lattice_rt_tray.main import choose_notifier
from lattice_rt_tray.services.notifier_dbus import (
    NOTIFICATIONS,
    PATH,
    SERVICE,
    DBusNotifier,
    NotificationsUnavailable,
)
from lattice_rt_tray.services.notifiers import RecordingNotifier
from tests.app.dbus_fakes import private_bus

WAIT = 10.0
BOTH = ("actions", "body-markup")


@pytest.fixture
def bus() -> Iterator[str]:
    """A private session bus; its address."""
    with private_bus() as address:
        yield address


class FakeNotifications:
    """``org.freedesktop.Notifications`` on ``address``, serving from a thread of its own."""

    def __init__(self, address: str, capabilities: tuple[str, ...] = BOTH) -> None:
        self.capabilities = list(capabilities)
        self.calls: queue.Queue[dict[str, Any]] = queue.Queue()
        self.arrived = threading.Event()  # a Notify call came in ...
        self.answer = threading.Event()  # ... and is answered once this is set
        self.answer.set()
        self._ids = itertools.count(1)
        self._conn = open_dbus_connection(address)
        self._router = DBusRouter(self._conn)
        reply = self._router.send_and_get_reply(message_bus.RequestName(SERVICE), timeout=WAIT)
        assert reply.body == (1,), "could not own org.freedesktop.Notifications"
        rule = MatchRule(type="method_call", interface=SERVICE, path=PATH)
        self._incoming = self._router.filter(rule, queue=queue.Queue())
        self._thread = threading.Thread(target=self._serve, name="fake-notifyd", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            msg: Message | None = self._incoming.queue.get()
            if msg is None:
                return
            member = msg.header.fields.get(HeaderFields.member)
            if member == "GetServerInformation":
                self._router.send(new_method_return(msg, "ssss", ("fake", "tests", "1", "1.2")))
            elif member == "GetCapabilities":
                self._router.send(new_method_return(msg, "as", (self.capabilities,)))
            elif member == "Notify":
                app, replaces, icon, title, body, actions, hints, timeout = msg.body
                nid = replaces or next(self._ids)
                self.arrived.set()
                self.answer.wait(WAIT)
                self._router.send(new_method_return(msg, "u", (nid,)))
                self.calls.put({
                    "signature": msg.header.fields.get(HeaderFields.signature),
                    "app": app, "replaces": replaces, "icon": icon, "title": title,
                    "body": body, "actions": actions, "hints": hints, "timeout": timeout,
                    "id": nid,
                })

    def next_call(self) -> dict[str, Any]:
        return self.calls.get(timeout=WAIT)

    def emit(self, member: str, signature: str, body: tuple[Any, ...]) -> None:
        emitter = DBusAddress(PATH, interface=SERVICE)
        self._router.send(new_signal(emitter, member, signature, body))

    def close(self) -> None:
        self._incoming.queue.put(None)
        self._thread.join(WAIT)
        self._router.close()
        self._conn.close()


@pytest.fixture
def service(bus: str) -> Iterator[FakeNotifications]:
    fake = FakeNotifications(bus)
    yield fake
    fake.close()


def closed(notifier: DBusNotifier) -> None:
    """Close and wait until its sender thread closed the connection (before the bus goes)."""
    notifier.close()
    notifier._sender.join(WAIT)  # noqa: SLF001
    assert not notifier._sender.is_alive()  # noqa: SLF001


@pytest.fixture
def notifier(qapp, bus: str, service: FakeNotifications) -> Iterator[DBusNotifier]:
    made = DBusNotifier(app_name="Lattice Realtime Tray", app_icon="/icons/app-64.png",
                        desktop_entry="lattice-rt-tray", bus=bus)
    yield made
    closed(made)


def shown(notifier: DBusNotifier, service: FakeNotifications) -> None:
    """Wait until the notifier took in every answer so far.

    Notify calls go out one after the other from one thread, so once the
    service has this extra call, the notifier has stored the ids of the earlier ones.
    """
    notifier.show(notice(key="fence", seq=None))
    assert service.next_call()["title"] == "Workflow run"


def notice(key: str = "burst:1", seq: int | None = 5, body: str = "ran wf_1",
           kind: NoticeKind = NoticeKind.EVENT, server: str = "local") -> Notice:
    return Notice(kind=kind, key=key, title="Workflow run", body=body, seq=seq, count=1,
                  server=server)


def test_it_asks_the_daemon_who_it_is_and_what_it_can(notifier):
    assert notifier.server_name == "fake" and notifier.name == "dbus"
    assert notifier.capabilities == frozenset(BOTH)


def test_a_notice_is_one_notify_call_with_a_uint32_replaces_id(notifier, service):
    notifier.show(notice(body="a <b> & c"))
    call = service.next_call()
    assert call["signature"] == "susssasa{sv}i"  # what PySide6's QtDBus could not send
    assert (call["app"], call["replaces"], call["icon"]) == (
        "Lattice Realtime Tray", 0, "/icons/app-64.png")
    assert (call["title"], call["body"]) == ("Workflow run", "a &lt;b&gt; &amp; c")
    # a click on the body opens the event; no workspace here, so nothing to mute
    assert call["actions"] == ["default", "Open", "read", "Mark all read"]
    assert call["hints"] == {"urgency": ("y", 1), "desktop-entry": ("s", "lattice-rt-tray")}
    assert call["timeout"] == -1


def test_a_quiet_notice_has_low_urgency(notifier, service):
    notifier.show(replace(notice(), quiet=True))  # a person's status changed
    assert service.next_call()["hints"]["urgency"] == ("y", 0)
    notifier.show(notice(key="burst:2"))
    assert service.next_call()["hints"]["urgency"] == ("y", 1)


def test_a_failure_has_critical_urgency(notifier, service):
    notifier.show(replace(notice(), critical=True))  # a failure, or a digest headed by one
    assert service.next_call()["hints"]["urgency"] == ("y", 2)


def test_a_digest_replaces_the_notice_of_its_burst(notifier, service):
    notifier.show(notice(key="burst:1"))
    first = service.next_call()
    notifier.show(notice(key="burst:1", kind=NoticeKind.DIGEST, body="3 new events"))
    assert service.next_call()["replaces"] == first["id"]
    notifier.show(notice(key="burst:2"))
    assert service.next_call()["replaces"] == 0  # another burst: a popup of its own


def test_without_those_capabilities_no_actions_and_the_body_as_is(qapp, bus):
    fake = FakeNotifications(bus, capabilities=())
    plain = DBusNotifier(app_name="Lattice Realtime Tray", bus=bus)
    try:
        plain.show(notice(body="a <b> & c"))
        call = fake.next_call()
        assert call["actions"] == [] and call["body"] == "a <b> & c"
        assert call["hints"] == {"urgency": ("y", 1)}  # no desktop entry given
    finally:
        closed(plain)
        fake.close()


def test_a_click_opens_its_event_on_the_gui_thread(qtbot, notifier, service):
    notifier.show(notice(seq=42, server="team"))
    nid = service.next_call()["id"]
    shown(notifier, service)
    clicks: list[tuple[str, int, bool]] = []
    notifier.activated.connect(
        lambda server, seq: clicks.append(
            (server, seq, threading.current_thread() is threading.main_thread()))
    )
    with qtbot.waitSignal(notifier.activated, timeout=int(WAIT * 1000)):
        service.emit("ActionInvoked", "us", (nid, "some-other-action"))  # not ours: ignored
        service.emit("ActionInvoked", "us", (999, "default"))  # not ours: ignored
        service.emit("ActionInvoked", "us", (nid, "default"))
    assert clicks == [("team", 42, True)]  # a seq means something to its server only


def test_its_actions_mute_the_workspace_or_mark_all_read(qtbot, notifier, service):
    notifier.show(replace(notice(seq=42, server="team"), workspace="ws_ops"))
    call = service.next_call()
    assert call["actions"] == ["default", "Open", "mute", "Mute ws_ops for an hour",
                               "read", "Mark all read"]
    notifier.show(notice(key="burst:2", kind=NoticeKind.DIGEST, seq=50, server="team"))
    assert service.next_call()["actions"] == ["default", "Open activity", "read",
                                              "Mark all read"]
    acted: list[tuple[str, str, str]] = []
    notifier.acted.connect(lambda *args: acted.append(args))
    with qtbot.waitSignal(notifier.acted, timeout=int(WAIT * 1000)):
        service.emit("ActionInvoked", "us", (call["id"], "mute"))
    with qtbot.waitSignal(notifier.acted, timeout=int(WAIT * 1000)):
        service.emit("ActionInvoked", "us", (call["id"], "read"))
    assert acted == [("mute", "team", "ws_ops"), ("read", "team", "ws_ops")]


def test_a_closed_notification_is_forgotten(qtbot, notifier, service):
    notifier.show(notice(key="burst:1", seq=1))
    closed = service.next_call()["id"]
    notifier.show(notice(key="burst:2", seq=2))
    live = service.next_call()["id"]
    shown(notifier, service)
    clicks: list[int] = []
    notifier.activated.connect(lambda server, seq: clicks.append(seq))
    with qtbot.waitSignal(notifier.activated, timeout=int(WAIT * 1000)):
        service.emit("NotificationClosed", "uu", (closed, 2))
        service.emit("ActionInvoked", "us", (closed, "default"))  # after its close: ignored
        service.emit("ActionInvoked", "us", (live, "default"))
    assert clicks == [2]
    notifier.show(notice(key="burst:1", seq=3))
    assert service.next_call()["replaces"] == 0  # a new popup, not the closed one


def test_close_ends_its_threads_and_it_shows_nothing_more(notifier, service):
    listener = notifier._listener  # noqa: SLF001
    closed(notifier)
    listener.join(WAIT)
    assert not listener.is_alive()
    notifier.show(notice())
    notifier.close()  # twice is fine
    with pytest.raises(queue.Empty):
        service.calls.get_nowait()


def test_closing_during_a_call_lets_the_call_finish(notifier, service, caplog):
    # regression: close() shut the router under the Notify call in flight; the call
    # failed ("notification not shown") and jeepney's receiver thread could fail on
    # the reply it had just delivered
    service.answer.clear()
    notifier.show(notice(key="last"))
    assert service.arrived.wait(WAIT)
    sender = notifier._sender  # noqa: SLF001
    notifier.close()  # returns at once: the GUI thread does not wait on D-Bus
    assert sender.is_alive()
    service.answer.set()
    assert service.next_call()["title"] == "Workflow run"
    sender.join(WAIT)
    assert not sender.is_alive()  # and it closed the connection on its way out
    assert "not shown" not in caplog.text


def test_no_service_on_the_bus_is_unavailable(qapp, bus):
    with pytest.raises(NotificationsUnavailable, match="no notification service on D-Bus"):
        DBusNotifier(app_name="x", bus=bus)


def test_no_bus_is_unavailable(qapp, tmp_path):
    with pytest.raises(NotificationsUnavailable, match="no D-Bus session bus"):
        DBusNotifier(app_name="x", bus=f"unix:path={tmp_path / 'no-bus'}")


def test_the_app_uses_it_where_a_daemon_answers_and_falls_back_where_none(
    qapp, bus, monkeypatch
):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus)
    parent = QObject()
    fallback = choose_notifier("dbus", None, parent)  # nobody serves notifications yet
    assert isinstance(fallback, RecordingNotifier)
    fake = FakeNotifications(bus)
    try:
        chosen = choose_notifier("auto", None, parent)
        assert isinstance(chosen, DBusNotifier)
        closed(chosen)
    finally:
        fake.close()
    assert NOTIFICATIONS.bus_name == SERVICE
