"""TrayController: connection state, status, intents, settings applied live, quitting.

Built by the harness as ``main()`` builds it, over a real embedded endpoint
(or a remote URL that never answers); the other app tests drive the same
controller through whole features (notifications, windows, presence, several
connections).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lattice_rt_core.net.api import ClientState
from lattice_rt_tray.logic.dnd import DndMode, DoNotDisturb
from lattice_rt_tray.logic.resume import ResumePoint, ServerIdentity
from lattice_rt_tray.logic.settings_values import LOCAL_KEY, ConnectionSettings, local_connection
from lattice_rt_tray.services.presence_keeper import presence_client_id
from lattice_rt_tray.services.token_vault import SERVICE
from tests.app.conftest import local, wait_until

WAIT_MS = 15_000


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A port that accepts TCP connections (kernel backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def status_line(app) -> str:
    return app.views.actions.status.text()


def only_remote(harness, settings, url: str, token: str = "t") -> str:
    """Settings that follow ``url`` only (the embedded endpoint off); returns its key."""
    settings.update(connections=(local_connection(enabled=False),
                                 ConnectionSettings("r1", "Team", url=url)))
    harness.keyring.set_password(SERVICE, "r1", token)
    return "r1"


def test_status_tells_connection_people_and_unread(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    wait_until(qtbot, lambda: app.controller.status().people_online == 1)  # this app itself
    status = app.controller.status()
    [link] = status.links
    assert status.connected and link.address == harness.box.current.url
    assert status_line(app) == "Connected · 1 person online"
    with qtbot.waitSignal(app.controller.status_changed, timeout=WAIT_MS,
                          check_params_cb=lambda s: s.unread == 1):
        harness.box.current.bus.publish({"area": "workflow", "event_type": "workflow_run"})
    assert status_line(app) == "Connected · 1 person online · 1 unread"
    local(app).on_state(ClientState.RECONNECTING, "reconnecting: connection refused")
    assert not app.controller.connected and status_line(app) == "Offline · 1 unread"
    label = app.views.activity.get().connection_label.full_text()
    assert label == "▲ This computer: reconnecting: connection refused"


def test_keeps_presence_alive_at_the_servers_ttl_while_connected(harness, settings, qtbot):
    settings.update(display_name="Ada", workspaces=("ws_marketing",))
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    keeper = local(app).keeper
    qtbot.waitUntil(lambda: keeper.keeping_alive, timeout=5000)
    assert keeper._alive_timer.interval() == int(bus.presence_ttl / 3 * 1000)  # noqa: SLF001
    local(app).on_state(ClientState.RECONNECTING, "lost it")
    assert not keeper.keeping_alive
    # connected again: joins again, then keeps alive again
    with qtbot.waitSignal(keeper.joined, timeout=WAIT_MS):
        local(app).on_state(ClientState.CONNECTED, "connected")
    qtbot.waitUntil(lambda: keeper.keeping_alive, timeout=5000)
    cid = presence_client_id(settings.instance_id, "ws_marketing")
    assert bus.presence_entry(cid) is not None


def test_an_endpoint_that_cannot_start_is_a_lasting_error(harness, settings, qtbot):
    def no_server(port: int, data_dir: Path):
        raise OSError(f"port {port} is in use")

    settings.update_connection(LOCAL_KEY, port=8765)
    app = harness.build(settings, server_factory=no_server)
    with qtbot.waitSignal(app.controller.status_changed, timeout=WAIT_MS,
                          check_params_cb=lambda s: bool(s.links and s.links[0].error)):
        app.controller.start()
    assert not app.controller.connected
    assert app.controller.status().links[0].error == "cannot start: port 8765 is in use"
    window = app.views.activity.get()
    label = window.connection_label.full_text()
    assert label == "✖ This computer: cannot start: port 8765 is in use"
    assert window.connection_level == "error"
    assert status_line(app) == "Offline"


def test_asking_for_the_browser_before_connecting_is_reported(harness, settings, blackhole,
                                                             qtbot):
    key = only_remote(harness, settings, blackhole)
    app = harness.build(settings)
    with qtbot.waitSignal(app.connections.changed, timeout=WAIT_MS,
                          check_params_cb=lambda k: app.connections[key].client is not None):
        app.controller.start()
    app.views.actions.browser.trigger()
    assert app.views.activity.get().statusBar().currentMessage() == "Team is not connected yet"
    assert harness.opened == []


def test_do_not_disturb_ends_by_itself(harness, settings, qtbot):
    now = [time.time()]  # the wall clock, moved by the test
    app = harness.build(settings, wallclock=lambda: now[0])
    harness.start(app)
    actions = app.views.actions
    with qtbot.waitSignal(app.controller.status_changed, timeout=WAIT_MS,
                          check_params_cb=lambda s: s.dnd.startswith("Do not disturb until")):
        settings.set_dnd(DoNotDisturb(until=now[0] + 0.2))
    assert actions.dnd[DndMode.HOUR].isChecked() and app.coalescer.quiet()
    assert actions.dnd[DndMode.HOUR].text().startswith("Until ")  # its real end
    now[0] += 1.0  # the period is over; the controller's own timer notices
    with qtbot.waitSignal(actions.dnd[DndMode.OFF].toggled, timeout=WAIT_MS,
                          check_params_cb=lambda checked: checked):
        pass
    assert app.controller.status().dnd == "" and not app.coalescer.quiet()
    assert actions.dnd[DndMode.HOUR].text().startswith("For 1 hour (until ")


def test_an_unknown_do_not_disturb_mode_changes_nothing(harness, settings, qtbot):
    app = harness.build(settings)
    with qtbot.assertNotEmitted(settings.changed):
        app.controller.on_dnd_requested("for a fortnight")
    assert settings.dnd == DoNotDisturb()


def test_start_at_login_follows_the_setting_and_a_failure_is_reported(
    harness, settings, tmp_path
):
    app = harness.build(settings)
    settings.update(autostart=True)
    assert app.controller.autostart.enabled()
    settings.update(autostart=False)
    assert not app.controller.autostart.enabled()
    (tmp_path / "config" / "autostart").rmdir()
    (tmp_path / "config" / "autostart").write_text("not a directory")
    settings.update(autostart=True)
    message = app.views.activity.get().statusBar().currentMessage()
    assert message.startswith("cannot change start at login: ")


def test_moving_to_another_port_leaves_the_old_server(harness, settings, qtbot):
    settings.update(workspaces=("ws_a",))
    app = harness.build(settings)
    harness.start(app)
    old = harness.box.current
    cid = presence_client_id(settings.instance_id, "ws_a")
    assert old.bus.presence_entry(cid) is not None
    with qtbot.waitSignals([app.controller.caught_up, app.connections.joined], timeout=WAIT_MS):
        settings.update_connection(LOCAL_KEY, port=9999)  # a new embedded server
    new = harness.box.current
    assert new is not old and local(app).url == new.url
    assert old.bus.presence_entry(cid) is None  # left before moving
    assert new.bus.presence_entry(cid) is not None
    assert app.controller.status().connected


def test_quit_remembers_where_the_stream_stopped_by_server_identity(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    with qtbot.waitSignal(app.controller.status_changed, timeout=WAIT_MS,
                          check_params_cb=lambda s: s.unread == 1):
        bus.publish({"area": "workflow", "event_type": "workflow_run"})
    seen = bus.last_seq
    harness.quit(app)  # (its presence leave is one more event, after the stream stopped)
    identity = ServerIdentity(bus.server_id, bus.epoch)
    assert settings.resume_points(LOCAL_KEY) == {bus.server_id: ResumePoint(identity, seen)}
    # nothing that arrives after Quit is acted on
    app.controller.on_events(LOCAL_KEY, [{"seq": seen + 10, "area": "workflow"}])
    assert app.coalescer.unread == 1


def test_quit_finishes_when_the_server_never_answers(harness, settings, qtbot, blackhole):
    key = only_remote(harness, settings, blackhole)
    app = harness.build(settings)
    with qtbot.waitSignal(app.connections.changed, timeout=WAIT_MS,
                          check_params_cb=lambda k: app.connections[key].client is not None):
        app.controller.start()
    assert not app.controller.connected
    with qtbot.waitSignal(app.controller.quit_finished, timeout=5_000):
        app.views.actions.quit.trigger()
    assert app.controller.quitting
    assert app.controller.wait_for_shutdown(5.0)


def test_asking_to_quit_again_stops_waiting(harness, settings, qtbot, blackhole):
    key = only_remote(harness, settings, blackhole)
    app = harness.build(settings)
    with qtbot.waitSignal(app.connections.changed, timeout=WAIT_MS,
                          check_params_cb=lambda k: app.connections[key].client is not None):
        app.controller.start()
    app.controller.quit()
    with qtbot.waitSignal(app.controller.quit_finished, timeout=1_000):
        app.controller.quit()  # a second Ctrl-C
    assert app.controller.finished
    assert app.controller.wait_for_shutdown(5.0)
