"""Automatic presence, observed from the server's side."""

from __future__ import annotations

from lattice_rt_tray.logic.settings_values import LOCAL_KEY, ConnectionSettings, local_connection
from lattice_rt_tray.services.presence_keeper import presence_client_id
from lattice_rt_tray.services.token_vault import SERVICE
from lattice_rt_tray.views.presence_model import OFFLINE, OFFLINE_ROLE, STATUS_ROLE


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



def test_people_on_a_server_that_died_are_last_seen_and_not_online(harness, settings, team,
                                                                  qtbot):
    settings.update(connections=(local_connection(),
                                 ConnectionSettings("7ea3", "Team", url=team.url)),
                    display_name="Ada", workspaces=("ws_team",))
    harness.keyring.set_password(SERVICE, "7ea3", team.owner_token)
    with team.client() as barbara:
        barbara.join(workspace_id="ws_team", display_name="Barbara")
    app = harness.build(settings)
    with qtbot.waitSignal(app.controller.status_changed, timeout=15_000,
                          check_params_cb=lambda s: s.people_online == 2):
        harness.start(app, LOCAL_KEY, "7ea3")  # Ada (this app) and Barbara
    assert "2 people online" in app.views.tray.icon.toolTip()

    with qtbot.waitSignal(app.controller.status_changed, timeout=15_000,
                          check_params_cb=lambda s: s.people_online == 1):
        team.stop()  # the team server dies
    assert "1 person online" in app.views.tray.icon.toolTip()
    model = app.presence_model
    [team_group] = [model.item(r) for r in range(model.rowCount())
                    if model.item(r).data(OFFLINE_ROLE)]
    assert team_group.text().startswith("Team · offline since ")
    people = {team_group.child(0).child(r, 0).text(): team_group.child(0).child(r, 1)
              for r in range(team_group.child(0).rowCount())}
    assert set(people) == {"Ada (you)", "Barbara"}
    assert people["Barbara"].data(STATUS_ROLE) == OFFLINE
    assert people["Barbara"].text().startswith("last seen ")
    assert app.views.presence.get().summary_text().endswith("· Team offline")
    # the server is back: a fresh snapshot of it, and no group is offline any more
    with qtbot.waitSignal(app.connections.presence, timeout=20_000,
                          check_params_cb=lambda key, entries: key == "7ea3"):
        team.start()  # the same port; its presence (in memory) died with it
    assert not any(model.item(r).data(OFFLINE_ROLE) for r in range(model.rowCount()))
    assert "· Team offline" not in app.views.presence.get().summary_text()


def test_last_seen_keeps_moving_while_every_server_is_offline(harness, settings, team, qtbot):
    settings.update(connections=(local_connection(enabled=False),
                                 ConnectionSettings("7ea3", "Team", url=team.url)),
                    display_name="Ada", workspaces=("ws_team",))
    harness.keyring.set_password(SERVICE, "7ea3", team.owner_token)
    app = harness.build(settings)
    harness.start(app, "7ea3")
    with qtbot.waitSignal(app.presence_model.rebuilt, timeout=15_000,
                          check_params_cb=lambda: app.roster.offline_servers() == ["7ea3"]):
        team.stop()
    # no server answers now, so no snapshot rebuilds the tree: the window's 30 s
    # refresh does, so "last seen 2 min ago" does not stay "just now"
    with qtbot.waitSignal(app.presence_model.rebuilt, timeout=5_000):
        app.controller.refresh_presence()
