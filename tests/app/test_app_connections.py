"""Two real endpoints at once: the embedded one and a ``lattice-rt serve`` process.

The app as main() builds it follows both; events, presence and notices are
attributed to their server, a change to one connection never disturbs the
other, and the resume point of each is the one its own server gave. The
regression that started issue 10 is pinned here: after switching to a team
server, its next event is notified and no reset row appears, also after a
restart.
"""

from __future__ import annotations

from typing import Any

from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_tray.logic.notices import NoticeKind
from lattice_rt_tray.logic.settings_values import (
    LOCAL_KEY,
    ConnectionSettings,
    SettingsValues,
    local_connection,
)
from lattice_rt_tray.services.presence_keeper import presence_client_id
from lattice_rt_tray.services.token_vault import SERVICE
from lattice_rt_tray.views.activity_model import KIND_ROLE
from lattice_rt_tray.views.icons import TrayState
from tests.app.conftest import Ready, local, wait_until

WAIT_MS = 15_000
TEAM_KEY = "7ea3"


def event(n: int, ws: str = "ws_team", kind: str = "workflow_run", **payload: Any):
    return {"area": "workflow", "event_type": kind, "workspace_id": ws,
            "payload": {"run_id": f"run-{n}", **payload}}


def follow_both(harness, settings, team, *, token: str | None = None, **changes: Any):
    """The embedded endpoint and the team server, both on; the token in the keyring."""
    settings.update(connections=(
        local_connection(),
        ConnectionSettings(TEAM_KEY, "Team", url=team.url, **changes),
    ), workspaces=("ws_team",))
    harness.keyring.set_password(SERVICE, TEAM_KEY, token or team.owner_token)


def runs(app) -> dict[str, str]:
    """run_id -> the name of the server its event came from, for every event in the list."""
    model = app.activity_model
    found: dict[str, str] = {}
    for row in range(model.rowCount()):
        event, server = model.event_at(row), model.server_at(row)
        run = (event or {}).get("payload", {}).get("run_id")
        if run is not None and server is not None:
            found[run] = model.server_name(server)
    return found


def rows(app) -> list[str]:
    """The kind of every row of the Activity list, newest first ("event" or "gap")."""
    model = app.activity_model
    return [model.index(row, 0).data(KIND_ROLE) for row in range(model.rowCount())]


def test_events_from_both_servers_land_and_are_attributed(harness, settings, team, qtbot):
    follow_both(harness, settings, team)
    app = harness.build(settings)
    harness.start(app, LOCAL_KEY, TEAM_KEY)
    notifier = app.notifier
    with qtbot.waitSignal(notifier.shown, timeout=WAIT_MS) as shown:
        harness.box.current.bus.publish(event(1, ws="ws_local"))
    here = shown.args[0]
    assert (here.server, here.title) == (LOCAL_KEY, "Workflow run · This computer")
    with qtbot.waitSignal(notifier.shown, timeout=WAIT_MS) as shown:
        [published] = team.publish(event(2, kind="deploy_failed", error="disk full"))
    there = shown.args[0]
    assert (there.server, there.seq) == (TEAM_KEY, published["seq"])
    assert there.title == "Workflow: deploy failed · Team"
    assert app.coalescer.unread == 2
    # both streams' events are in the one list, each with its server's name
    model = app.activity_model
    wait_until(qtbot, lambda: {"run-1", "run-2"} <= set(runs(app)))
    assert runs(app)["run-1"] == "This computer" and runs(app)["run-2"] == "Team"
    assert model.servers() == {LOCAL_KEY: "This computer", TEAM_KEY: "Team"}
    # presence comes from both servers, grouped by server
    wait_until(qtbot, lambda: {g.server for g in app.roster.groups() if g.people}
               == {LOCAL_KEY, TEAM_KEY})
    me = presence_client_id(settings.instance_id, "ws_team")
    assert me in team.presence_ids()
    assert harness.box.current.bus.presence_entry(me) is not None
    status = app.controller.status()
    assert [link.line() for link in status.links] == ["This computer: connected",
                                                      "Team: connected"]
    assert app.views.activity.get().connection_label.full_text() == "● 2 servers connected"
    assert app.views.tray.state is TrayState.UNREAD
    # a click on the team's notice opens its event
    with qtbot.waitSignal(app.views.activity.get().shown, timeout=5000):
        notifier.click(there)
    assert app.views.activity.get().selected_event() == (TEAM_KEY, published["seq"])


def test_editing_or_removing_one_connection_leaves_the_other_untouched(
    harness, settings, team, qtbot
):
    follow_both(harness, settings, team)
    app = harness.build(settings)
    harness.start(app, LOCAL_KEY, TEAM_KEY)
    here = local(app)
    client, server = here.client, here.server
    me = presence_client_id(settings.instance_id, "ws_team")
    joined_at = server.bus.presence_entry(me).joined_at  # type: ignore[union-attr]
    def local_rows() -> int:
        model = app.activity_model
        return sum(1 for row in range(model.rowCount()) if model.server_at(row) == LOCAL_KEY)

    # a row of this computer's (someone's join: listed, not notified by default)
    with qtbot.waitSignal(app.activity_model.rowsInserted, timeout=WAIT_MS):
        server.bus.join(client_id="grace-1", workspace_id="ws_team",  # type: ignore[union-attr]
                        display_name="Grace")
    first_rows = local_rows()
    with qtbot.waitSignal(app.notifier.shown, timeout=WAIT_MS):
        team.publish(event(1))  # a row of the team's that goes with it
    disturbed: list[str] = []
    app.connections.connected.connect(lambda key, resumed: disturbed.append(key))
    app.connections.history_changed.connect(disturbed.append)

    def untouched() -> None:
        assert here.client is client and here.server is server and here.online
        assert client.running  # type: ignore[union-attr]
        entry = server.bus.presence_entry(me)  # type: ignore[union-attr]
        assert entry is not None and entry.joined_at == joined_at
        assert local_rows() >= first_rows
        assert LOCAL_KEY not in disturbed

    # renamed: a new label only
    settings.update_connection(TEAM_KEY, name="Team A")
    assert app.connections[TEAM_KEY].status().name == "Team A"
    assert app.connections[TEAM_KEY].online
    untouched()
    # other workspaces on the team server: a new stream there, nothing here
    with qtbot.waitSignal(app.connections.joined, timeout=WAIT_MS,
                          check_params_cb=lambda key, entries: key == TEAM_KEY):
        settings.update_connection(TEAM_KEY, workspaces=("ws_team", "ws_more"))
    assert presence_client_id(settings.instance_id, "ws_more") in team.presence_ids()
    untouched()
    # another token (the same server): a new client there
    token = team.add_user("ada", "ws_team", "ws_more")
    with qtbot.waitSignal(app.connections.connected, timeout=WAIT_MS,
                          check_params_cb=lambda key, resumed: key == TEAM_KEY):
        app.flow.on_apply(settings.values().with_tokens({TEAM_KEY: token}))
    assert app.connections[TEAM_KEY].token == token
    untouched()
    # removed: it leaves presence on its server and goes, its rows too; this one stays
    kept = local_rows()
    with qtbot.waitSignal(app.connections.removed, timeout=WAIT_MS):
        settings.update(connections=(local_connection(),))
    wait_until(qtbot, lambda: me not in team.presence_ids())
    assert [link.key for link in app.controller.status().links] == [LOCAL_KEY]
    servers = {app.activity_model.server_at(r) for r in range(app.activity_model.rowCount())}
    assert servers == {LOCAL_KEY} and app.activity_model.rowCount() == kept
    assert [g.server for g in app.roster.groups()] == [LOCAL_KEY]
    untouched()
    with qtbot.waitSignal(app.notifier.shown, timeout=WAIT_MS) as shown:
        server.bus.publish(event(3, ws="ws_local"))  # type: ignore[union-attr]
    assert shown.args[0].title == "Workflow run"  # one server again: no name in the title


def test_switching_to_a_team_server_notifies_its_next_event_also_after_a_restart(
    harness, settings, team, qtbot
):
    """Regression (issue 10): the app kept the local server's highest seq (77), took the
    team server's events (seq 5…) as already seen, and saved 77 as the team's resume
    point: no notification, then after a restart a reset row and no catch-up."""
    team.publish(*(event(n) for n in range(4)))  # the team server is at seq 4
    settings.update(workspaces=("ws_team",))
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    bus.publish_many([event(n, ws="ws_local") for n in range(76)])
    wait_until(qtbot, lambda: local(app).client.last_event_id == bus.last_seq)
    assert bus.last_seq >= 77
    # Settings: this computer off, the team server on (as a user switches)
    harness.keyring.set_password(SERVICE, TEAM_KEY, team.owner_token)
    switched = SettingsValues(
        connections=(local_connection(enabled=False),
                     ConnectionSettings(TEAM_KEY, "Team", url=team.url,
                                        token=team.owner_token)),
        display_name=settings.values().display_name, workspaces=("ws_team",),
    )
    with qtbot.waitSignal(app.controller.caught_up, timeout=WAIT_MS,
                          check_params_cb=lambda key: key == TEAM_KEY):
        app.flow.on_apply(switched)
    unread = app.coalescer.unread
    with qtbot.waitSignal(app.notifier.shown, timeout=WAIT_MS) as shown:
        [failed] = team.publish(event(5, kind="deploy_failed"))
    notice = shown.args[0]
    assert (notice.server, notice.seq, notice.kind) == (TEAM_KEY, failed["seq"],
                                                        NoticeKind.EVENT)
    assert failed["seq"] < 77 and app.coalescer.unread == unread + 1
    assert "gap" not in rows(app)
    harness.quit(app)
    [point] = settings.resume_points(TEAM_KEY).values()
    assert point.identity.server_id == team.health()["stats"]["server_id"]
    assert point.seq >= failed["seq"] and point.seq < 77  # the team's own seq, not 77

    # while the app is away, three more on the team server
    team.publish(*(event(n, ws=("ws_team", "ws_ops", "ws_ops")[n]) for n in range(3)))
    again = harness.build(settings)
    with qtbot.waitSignal(again.notifier.shown, timeout=WAIT_MS,
                          check_params_cb=lambda n: n.kind is NoticeKind.CATCH_UP) as shown:
        again.controller.start()
    caught = shown.args[0]
    assert (caught.title, caught.body, caught.server) == ("While you were away",
                                                          "3 events in 2 workspaces", TEAM_KEY)
    assert "gap" not in rows(again)
    with qtbot.waitSignal(again.notifier.shown, timeout=WAIT_MS) as shown:
        team.publish(event(9))
    assert shown.args[0].kind is NoticeKind.EVENT


def test_a_team_server_replaced_at_the_same_url_starts_clean(harness, settings, team, qtbot):
    """Another history behind the same URL: no reset row, its tail is not news, its next
    event is (the resume point is keyed by the server's identity, not the URL)."""
    team.publish(*(event(n) for n in range(20)))
    settings.update(connections=(local_connection(enabled=False),
                                 ConnectionSettings(TEAM_KEY, "Team", url=team.url)),
                    workspaces=("ws_team",))
    harness.keyring.set_password(SERVICE, TEAM_KEY, team.owner_token)
    app = harness.build(settings)
    harness.start(app, TEAM_KEY)
    old_id = team.health()["stats"]["server_id"]
    changed: list[str] = []
    app.connections.history_changed.connect(changed.append)
    # the team's admin wipes the server while the app follows it: same URL, same id,
    # a new epoch, a history of 3 events (the app's point, 20 and more, is far ahead)
    team.stop()
    team.wipe()
    team.start()
    team.publish(*(event(n) for n in range(3)))
    with qtbot.waitSignal(app.controller.caught_up, timeout=WAIT_MS,
                          check_params_cb=lambda key: key == TEAM_KEY):
        pass  # it reconnects by itself
    stats = team.health()["stats"]
    assert changed == [TEAM_KEY] and stats["server_id"] == old_id
    assert "gap" not in rows(app)  # no "reset" row
    assert [n.kind for n in app.notifier.notices] == []  # the new tail is history
    with qtbot.waitSignal(app.notifier.shown, timeout=WAIT_MS) as shown:
        [fresh] = team.publish(event(4))
    assert shown.args[0].seq == fresh["seq"] < 20
    # now another server altogether behind that URL: another id, another history
    team.stop()
    team.replace()
    team.start()
    with qtbot.waitSignal(app.controller.caught_up, timeout=WAIT_MS,
                          check_params_cb=lambda key: key == TEAM_KEY):
        pass
    assert changed == [TEAM_KEY, TEAM_KEY]
    assert team.health()["stats"]["server_id"] != old_id
    assert "gap" not in rows(app)
    with qtbot.waitSignal(app.notifier.shown, timeout=WAIT_MS) as shown:
        [other] = team.publish(event(5))
    assert (shown.args[0].server, shown.args[0].seq) == (TEAM_KEY, other["seq"])


def test_a_wrong_token_is_a_lasting_error_and_its_retries_slow_down(
    harness, settings, team, qtbot
):
    follow_both(harness, settings, team, token="not-the-token")
    app = harness.build(settings)
    here = Ready(app, (LOCAL_KEY,))  # the embedded one connects, catches up, joins
    with qtbot.waitSignals([here.done, app.controller.status_changed], timeout=WAIT_MS,
                           check_params_cbs=[None, lambda s: any(link.error
                                                                 for link in s.links)]):
        app.controller.start()
    team_link = app.connections[TEAM_KEY]
    error = f"the token was refused by {team.url} (HTTP 401)"
    assert team_link.status().error == error
    # the client waits on the slow schedule: 15 s ±20 % at first, up to minutes
    retry = team_link.status().detail.rsplit("retrying in ", 1)[1]
    assert retry.endswith(" s") and float(retry[:-2]) >= 12.0
    assert local(app).online and app.views.tray.state is TrayState.WARNING
    window = app.views.activity.get()
    label = window.connection_label.full_text()
    assert label.startswith(f"✖ Team: {error}") and window.connection_level == "error"
    # a status refresh (an event) does not overwrite it with "connected"
    with qtbot.waitSignal(app.notifier.shown, timeout=WAIT_MS):
        harness.box.current.bus.publish(event(1, ws="ws_local"))
    assert window.connection_label.full_text() == label
    assert f"Team: {error}" in app.views.tray.icon.toolTip()
    # the right token, from Settings: connected at once, the error is gone
    with qtbot.waitSignal(app.controller.caught_up, timeout=WAIT_MS,
                          check_params_cb=lambda key: key == TEAM_KEY):
        app.flow.on_apply(settings.values().with_tokens({TEAM_KEY: team.owner_token}))
    assert team_link.status().error == "" and team_link.online
    assert harness.keyring.get_password(SERVICE, TEAM_KEY) == team.owner_token


def test_a_forbidden_workspace_is_a_lasting_error_while_connected(harness, settings, team,
                                                                 qtbot):
    token = team.add_user("ada", "ws_team")
    follow_both(harness, settings, team, token=token, workspaces=("ws_team", "ws_sales"))
    app = harness.build(settings)
    with qtbot.waitSignal(app.controller.status_changed, timeout=WAIT_MS,
                          check_params_cb=lambda s: any(link.error for link in s.links)):
        app.controller.start()
    team_link = app.connections[TEAM_KEY]
    wait_until(qtbot, lambda: team_link.online and local(app).online)
    assert team_link.status().error.startswith("could not join presence: ws_sales: ")
    assert "(HTTP 403)" in team_link.status().error
    assert app.views.tray.state is TrayState.WARNING
    assert app.views.activity.get().connection_label.full_text().startswith(
        "✖ Team: could not join presence: ws_sales: ")
    # joined where it may: the other workspace has its entry
    assert presence_client_id(settings.instance_id, "ws_team") in team.presence_ids()


def test_an_old_tray_ini_keeps_working_and_its_token_moves_to_the_keyring(
    harness, team, qtbot, tmp_path
):
    path = tmp_path / "old.ini"
    path.write_text(f"[server]\nmode=remote\nport=0\nurl={team.url}\ntoken={team.owner_token}\n"
                    "[presence]\ndisplay_name=Ada\nworkspaces=ws_team\n")
    from lattice_rt_tray.services.settings import Settings

    settings = Settings.open(path)
    app = harness.build(settings)
    key = next(c.key for c in settings.values().connections if not c.embedded)
    harness.start(app, key)
    assert harness.keyring.get_password(SERVICE, key) == team.owner_token
    assert team.owner_token not in path.read_text()
    assert not app.connections[LOCAL_KEY].settings.enabled  # it followed the server
    assert presence_client_id(settings.instance_id, "ws_team") in team.presence_ids()
    assert [link.line() for link in app.controller.status().links] == [
        "This computer: off", "127.0.0.1: connected"]  # named after its host


def test_test_connection_in_settings_answers_from_the_server(harness, settings, team, qtbot):
    token = team.add_user("ada", "ws_team")
    follow_both(harness, settings, team, token=token)
    app = harness.build(settings)
    harness.start(app, LOCAL_KEY, TEAM_KEY)
    app.views.actions.settings.trigger()
    dialog = app.flow.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.list.setCurrentRow(1)
    assert dialog.form.token.text() == token  # read from the keyring
    assert dialog.form.keyring.text() == "Kept in the system keyring."
    assert dialog.form.status.text() == "connected"
    result = dialog.form.result
    dialog.form.test.click()  # on the task runner: the dialog never calls the network
    assert result.text() == "Testing…"
    wait_until(qtbot, lambda: result.text() != "Testing…")
    assert result.text() == "Connected to Team as ada; member of ws_team."
    # the embedded endpoint is tested where it runs, with its owner token
    dialog.list.setCurrentRow(0)
    dialog.form.test.click()
    wait_until(qtbot, lambda: result.text() != "Testing…")
    assert result.text().startswith("Connected to This computer as ")
    assert result.text().endswith("; you see every workspace.")


def test_when_the_local_server_it_follows_is_killed_this_computer_starts_its_own(
        harness, settings, qtbot, tmp_path):
    """A ``lattice-rt serve`` on the app's own data dir, followed, then killed (-9): the
    app's embedded endpoint takes over the same data dir and its history."""
    from lattice_rt_tray.main import find_local_server
    from tests.app.team_server import TeamServer

    serve = TeamServer(harness.data_dir)
    serve.start()
    try:
        serve.publish(event(1, ws="ws_a"))
        settings.update(connections=(local_connection(),), workspaces=("ws_a",))
        app = harness.build(settings, server_factory=lambda port, data_dir: RealtimeServer(
            ServerConfig(port=0, data_dir=data_dir, heartbeat=1.0)),
            discover_local=find_local_server)
        harness.start(app)
        connection = app.connections[LOCAL_KEY]
        assert connection.server is None and connection.url == serve.url  # followed, not ours
        assert serve.proc is not None
        serve.proc.kill()  # no clean stop: its server.json stays, naming a dead process
        serve.proc.wait(timeout=10)
        wait_until(qtbot, lambda: connection.server is not None and connection.online,
                   timeout=20)
        assert connection.url != serve.url
        connection.server.bus.publish(event(2, ws="ws_a"))  # the same journal goes on
        wait_until(qtbot, lambda: "run-2" in runs(app), timeout=10)
        assert "run-1" in runs(app)
    finally:
        serve.stop()
