"""The presence tree and its window: grouped by server (when several), workspace, person."""

from __future__ import annotations

from datetime import UTC, datetime

from lattice_rt_core.people import NO_WORKSPACE
from lattice_rt_tray.presence_model import CLIENT_IDS_ROLE, PresenceModel
from lattice_rt_tray.presence_window import NOBODY, PresenceWindow
from lattice_rt_tray.roster import Roster

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def entry(cid, ws="ws_a", user="u", name=None):
    out = {"client_id": cid, "user": user, "workspace_id": ws,
           "joined_at": "2026-06-01T11:00:00+00:00", "last_seen": "2026-06-01T11:55:00+00:00"}
    if name:
        out["display_name"] = name
    return out


def make(qtbot):
    roster = Roster("me:")
    model = PresenceModel(roster, now=lambda: NOW)
    window = PresenceWindow(model)
    qtbot.addWidget(window)
    return roster, model, window


def test_one_server_groups_by_workspace_and_counts_people(qtbot):
    roster, model, window = make(qtbot)
    model.rebuild()
    assert window.summary.text() == NOBODY and model.rowCount() == 0
    roster.replace("", [
        entry("me:ws_a", user="me", name="Ada"), entry("me:ws_b", ws="ws_b", user="me", name="Ada"),
        entry("g1", user="grace", name="Grace"), entry("g2", user="grace", name="Grace"),
        entry("l", ws=None, user="linus", name="Linus"),
    ])
    model.rebuild()
    assert [model.item(r).text() for r in range(model.rowCount())] == [
        "ws_a · 2 people", "ws_b · 1 person", f"{NO_WORKSPACE} · 1 person"]
    assert model.person_rows() == [
        ("", "ws_a · 2 people", "Ada (you)", ("me:ws_a",)),
        ("", "ws_a · 2 people", "Grace", ("g1", "g2")),  # two computers, one person
        ("", "ws_b · 1 person", "Ada (you)", ("me:ws_b",)),
        ("", f"{NO_WORKSPACE} · 1 person", "Linus", ("l",)),
    ]
    grace = model.item(0).child(1, 0)
    assert grace.data(CLIENT_IDS_ROLE) == ("g1", "g2") and "client g2" in grace.toolTip()
    assert [model.item(0).child(1, c).text() for c in range(4)] == [
        "Grace", "grace", "1 h ago", "5 min ago"]
    assert window.summary.text() == "3 people online in 2 workspaces"
    assert window.view.isExpanded(model.index(0, 0))


def test_several_servers_group_by_server_first(qtbot):
    roster, model, window = make(qtbot)
    roster.set_servers({"local": "This computer", "team": "Team", "spare": "Spare"})
    roster.replace("local", [entry("me:x", ws=None, user="ada", name="Ada")])
    roster.replace("team", [entry("me:ws_a", user="ada", name="Ada"),
                            entry("g", user="grace", name="Grace")])
    model.rebuild()
    assert model.by_server
    assert [model.item(r).text() for r in range(model.rowCount())] == [
        "This computer · 1 person", "Team · 2 people", "Spare · nobody"]
    assert ("Team · 2 people", "ws_a · 2 people", "Grace", ("g",)) in model.person_rows()
    assert window.summary.text() == "2 people online in 1 workspace on 3 servers"
    team = model.index(1, 0)
    assert window.view.isExpanded(team) and window.view.isExpanded(model.index(0, 0, team))
    roster.set_servers({"team": "Team"})  # one server left: no server level
    model.rebuild()
    assert not model.by_server and model.item(0).text() == "ws_a · 2 people"
    assert window.summary.text() == "2 people online in 1 workspace"


def test_refresh_runs_only_while_shown(qtbot):
    _, _, window = make(qtbot)
    with qtbot.waitSignal(window.refresh_requested, timeout=2000):
        window.show()
    assert window._timer.isActive()  # noqa: SLF001
    window.hide()
    assert not window._timer.isActive()  # noqa: SLF001
