"""Automatic presence, observed from the server's side."""

from __future__ import annotations

from lattice_rt_tray.services.presence_keeper import presence_client_id


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

