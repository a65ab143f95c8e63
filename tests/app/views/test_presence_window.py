"""The presence tree and its window: grouped by server (when several), workspace, person."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtGui import QColor

from lattice_rt_core.protocol.people import NO_WORKSPACE
from lattice_rt_tray.logic.roster import Roster
from lattice_rt_tray.views.presence_model import (
    CLIENT_IDS_ROLE,
    OFFLINE,
    OFFLINE_ROLE,
    PRESENCE_COLUMNS,
    STATUS_ROLE,
    PresenceModel,
)
from lattice_rt_tray.views.presence_window import NOBODY, PresenceWindow
from lattice_rt_tray.views.tones import tone

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def entry(cid, ws="ws_a", user="u", name=None, **status):
    out = {"client_id": cid, "user": user, "workspace_id": ws,
           "joined_at": "2026-06-01T11:00:00+00:00", "last_seen": "2026-06-01T11:55:00+00:00"}
    if name:
        out["display_name"] = name
    return {**out, **status}


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
    assert [model.item(0).child(1, c).text() for c in range(5)] == [
        "Grace", "Active", "grace", "1 h ago", "5 min ago"]
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


def test_each_person_shows_a_status_dot_the_line_and_for_how_long(qtbot):
    roster, model, window = make(qtbot)
    roster.replace("", [
        entry("a", user="ada", name="Ada", status="idle",
              status_since="2026-06-01T11:48:00+00:00"),
        entry("g", user="grace", name="Grace", status="away", status_text="Lunch",
              status_since="2026-06-01T10:00:00+00:00"),
        entry("l", user="linus", name="Linus"),  # an older server: no status at all
        entry("m1", user="mo", name="Mo", status="away", status_since="2026-06-01T09:00:00+00:00"),
        entry("m2", user="mo", name="Mo", status="dnd", status_text="Focus",
              status_since="2026-06-01T11:30:00+00:00"),  # Mo's other computer
    ])
    model.rebuild()
    group = model.item(0)
    cells = {group.child(r, 0).text(): group.child(r, 1) for r in range(group.rowCount())}
    assert {name: cell.text() for name, cell in cells.items()} == {
        "Ada": "Idle for 12 min",
        "Grace": "Away for 2 h · Lunch",
        "Linus": "Active",
        "Mo": "Do not disturb for 30 min · Focus",  # the most present of the two
    }
    assert {name: cell.data(STATUS_ROLE) for name, cell in cells.items()} == {
        "Ada": "idle", "Grace": "away", "Linus": "active", "Mo": "dnd"}
    assert cells["Grace"].toolTip() == "Away · Lunch\naway for 2 h"
    dots = {name: cell.icon().pixmap(12, 12).toImage().pixelColor(6, 6).name()
            for name, cell in cells.items()}
    assert dots == {"Ada": "#eab308", "Grace": "#9ca3af", "Linus": "#16a34a", "Mo": "#dc2626"}
    assert window.summary.text() == "3 people online in 1 workspace · 1 away"  # Grace away
    status_width = window.view.columnWidth(1)
    assert status_width >= window.view.sizeHintForColumn(1)  # the longest cell shows in full


def test_a_status_event_updates_the_row(qtbot):
    roster, model, window = make(qtbot)
    roster.replace("", [entry("g", user="grace", name="Grace")])
    model.rebuild()
    assert model.item(0).child(0, 1).text() == "Active"
    changed = entry("g", user="grace", name="Grace", status="away", status_text="Back at 3",
                    status_since="2026-06-01T11:59:00+00:00")
    assert roster.apply("", {"area": "presence", "event_type": "status", "payload": changed})
    model.rebuild()
    assert model.item(0).child(0, 1).text() == "Away for 1 min · Back at 3"


def test_a_server_that_cannot_be_reached_is_a_grey_group_marked_offline(qtbot):
    roster, model, window = make(qtbot)
    roster.set_servers({"local": "This computer", "team": "Team"})
    roster.replace("local", [entry("me:x", user="ada", name="Ada")])
    roster.replace("team", [entry("b", user="barbara", name="Barbara"),
                            entry("c", user="carl", name="Carl", status="idle")])
    assert roster.set_offline("team", "2026-06-01T11:58:00+00:00")
    assert not roster.set_offline("team", "2026-06-01T11:59:00+00:00")  # marked already
    model.rebuild()
    assert [model.item(r).text() for r in range(model.rowCount())] == [
        "This computer · 1 person", "Team · offline since 11:58:00"]
    team = model.item(1)
    assert team.data(OFFLINE_ROLE) is True
    assert team.foreground().color() == QColor(tone("offline"))
    barbara = [team.child(0).child(0, c) for c in range(5)]
    assert [cell.text() for cell in barbara] == [
        "Barbara", "last seen 5 min ago", "barbara", "1 h ago", "5 min ago"]
    assert barbara[1].data(STATUS_ROLE) == OFFLINE
    assert all(cell.foreground().color() == QColor(tone("offline")) for cell in barbara)
    # not counted online: only Ada, and the window says which server is offline
    assert roster.online_count() == 1
    assert window.summary.text() == "1 person online in 1 workspace on 1 server · Team offline"
    # a fresh snapshot: reachable again, counted again
    roster.replace("team", [entry("b", user="barbara", name="Barbara")])
    model.rebuild()
    assert roster.online_count() == 2 and model.item(1).text() == "Team · 1 person"


def test_one_server_offline_is_still_a_marked_group(qtbot):
    roster, model, window = make(qtbot)
    roster.set_servers({"team": "Team"})
    roster.replace("team", [entry("g", user="grace", name="Grace")])
    model.rebuild()
    assert model.item(0).text() == "ws_a · 1 person"  # one server: by workspace
    roster.set_offline("team", "2026-06-01T11:00:00+00:00")
    model.rebuild()
    assert [model.item(r).text() for r in range(model.rowCount())] == [
        "Team · offline since 11:00:00"]  # grouped by server, to say so
    assert window.summary.text() == "Nobody is online · Team offline"
    assert not Roster("me:").set_offline("x", "2026-06-01T11:00:00+00:00")  # nobody to keep


def test_the_window_opens_wide_enough_for_every_column(qtbot):
    # seen in a screenshot: the default 760 px cut "Joined" and hid "Last seen"
    roster, model, window = make(qtbot)
    roster.replace("", [entry("m", user="margaret.hamilton", name="Margaret Hamilton",
                              status="idle", status_text="Reviewing the Apollo guidance code")])
    model.rebuild()
    window.show()
    header = window.view.header()
    last = len(PRESENCE_COLUMNS) - 1
    assert header.sectionPosition(last) + header.sectionSize(last) <= window.view.viewport().width()
    width = window.width()
    window.resize(600, window.height())  # the user's size stays the user's
    model.rebuild()
    assert window.width() == 600 < width
