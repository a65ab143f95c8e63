"""Automatic presence, observed from the server's side."""

from __future__ import annotations

from lattice_rt_core.client import ClientState
from lattice_rt_tray.presence_keeper import presence_client_id


def test_joins_on_start_and_leaves_on_quit(harness, settings):
    settings.update(display_name="Ada", workspaces=("ws_marketing", "ws_sales"))
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    present = {e["client_id"]: e for e in bus.presence()}
    iid = settings.instance_id
    expected = {presence_client_id(iid, "ws_marketing"), presence_client_id(iid, "ws_sales")}
    assert expected <= set(present)
    assert {present[c]["display_name"] for c in expected} == {"Ada"}
    assert {present[c]["workspace_id"] for c in expected} == {"ws_marketing", "ws_sales"}

    harness.quit(app)
    assert not expected & {e["client_id"] for e in bus.presence()}


def test_refreshes_presence_while_connected_and_stops_when_not(harness, settings, qtbot):
    """The server trusts an open stream only for a while; the app proves it is alive."""
    settings.update(display_name="Ada", workspaces=("ws_marketing",))
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    cid = presence_client_id(settings.instance_id, "ws_marketing")
    qtbot.waitUntil(lambda: app.keeper.keeping_alive, timeout=5000)
    assert app.keeper._alive_timer.interval() == int(bus.presence_ttl / 3 * 1000)
    # one keep-alive round re-joins (refreshes) the entry on the server
    first = bus.presence_entry(cid)
    assert first is not None
    before = first.proven_at
    app.keeper._on_keep_alive()
    qtbot.waitUntil(lambda: bus.presence_entry(cid).proven_at > before, timeout=5000)

    app.controller.on_state(ClientState.RECONNECTING, "lost it")
    assert not app.keeper.keeping_alive
    harness.quit(app)
