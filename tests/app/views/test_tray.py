"""Tray look, tooltip and menu intents; what the connections sum up to."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lattice_rt_core.net.api import ClientState
from lattice_rt_tray.logic.dnd import DndMode, DoNotDisturb, menu_labels
from lattice_rt_tray.logic.link_status import (
    ERROR,
    FIRST_RUN,
    OK,
    WARNING,
    LinkStatus,
    intro,
    overview,
)
from lattice_rt_tray.views.actions import AppActions
from lattice_rt_tray.views.icons import TrayState, tray_icon
from lattice_rt_tray.views.tray import TrayIcon, TrayStatus, tooltip, tray_state

ON = ClientState.CONNECTED


def link(key="local", name="This computer", state=ON, error="", enabled=True,
         detail="") -> LinkStatus:
    return LinkStatus(key, name, f"http://{key}:8765", enabled, state, detail, error)


LOCAL = link()
TEAM = link("team", "Team")
TEAM_DOWN = link("team", "Team", ClientState.RECONNECTING,
                 detail="cannot connect to http://team:8765; retrying in 4.0 s")
TEAM_REFUSED = link("team", "Team", ClientState.RECONNECTING,
                    error="the token was refused by http://team:8765 (HTTP 401)")


def status(*links: LinkStatus, **kw) -> TrayStatus:
    base = dict(links=links or (LOCAL,), people_online=3, unread=0, dnd="")
    base.update(kw)
    return TrayStatus(**base)


@pytest.mark.parametrize(
    ("links", "kw", "state"),
    [
        ((LOCAL,), {}, TrayState.ONLINE),
        ((LOCAL, TEAM), {"unread": 4}, TrayState.UNREAD),
        ((LOCAL,), {"unread": 4, "dnd": "Do not disturb is on"}, TrayState.DND),
        ((LOCAL, TEAM_DOWN), {"unread": 4, "dnd": "x"}, TrayState.WARNING),
        ((LOCAL, TEAM_REFUSED), {}, TrayState.WARNING),
        ((LOCAL, link("team", "Team", error="could not join presence")), {}, TrayState.WARNING),
        ((LOCAL, link("team", "Team", enabled=False, state=None)), {}, TrayState.ONLINE),
        ((link(state=ClientState.RECONNECTING), TEAM_REFUSED), {"unread": 4, "dnd": "x"},
         TrayState.OFFLINE),
        ((link(enabled=False, state=None),), {}, TrayState.OFFLINE),
    ],
)
def test_state_sums_up_every_connection(links, kw, state):
    assert tray_state(status(*links, **kw)) is state


def test_the_overview_says_what_is_wrong_and_where():
    assert overview([LOCAL]) == overview([LOCAL])  # a value
    one = overview([LOCAL])
    assert (one.icon, one.menu, one.text, one.level) == (
        "online", "Connected", "Connected to This computer (http://local:8765)", OK)
    assert overview([LOCAL, TEAM]).text == "2 servers connected"
    down = overview([LOCAL, TEAM_DOWN])
    assert (down.icon, down.menu, down.level) == ("warning", "1 of 2 servers connected", WARNING)
    assert down.text == ("Team: cannot connect to http://team:8765; retrying in 4.0 s; "
                         "This computer: connected")
    refused = overview([LOCAL, TEAM_REFUSED])
    assert refused.level == ERROR and refused.text.startswith(
        "Team: the token was refused by http://team:8765 (HTTP 401)")
    nothing = overview([link(enabled=False, state=None)])
    assert (nothing.icon, nothing.text) == ("offline",
                                            "No server is followed: turn one on in Settings")
    three = overview([LOCAL, TEAM_DOWN, link("x", "X")])
    assert three.text.endswith("; 2 other servers connected")


def test_tooltip_lists_each_connection_then_people_and_unread():
    text = tooltip(status(LOCAL, TEAM_REFUSED, link("o", "Old", enabled=False, state=None),
                          unread=2, dnd="Do not disturb until 15:42"))
    assert text.splitlines() == [
        "Lattice Realtime Tray",
        "This computer: connected",
        "Team: the token was refused by http://team:8765 (HTTP 401)",
        "Old: off",
        "3 people online",
        "2 unread",
        "Do not disturb until 15:42",
    ]
    assert "1 person online" in tooltip(status(people_online=1))
    # away people are counted apart (people as lattice_rt_core.protocol.people counts them)
    assert "5 people online · 2 away" in tooltip(status(people_online=7, people_away=2))
    assert "0 people online · 1 away" in tooltip(status(people_online=1, people_away=1))


def test_tray_icon_follows_status(qtbot):
    actions = AppActions()
    tray = TrayIcon(actions)
    assert tray.state is TrayState.OFFLINE
    before = tray.icon.icon().cacheKey()
    tray.update(status(unread=1))
    assert tray.state is TrayState.UNREAD and tray.icon.icon().cacheKey() != before
    assert "1 unread" in tray.icon.toolTip()
    tray.update(status(LOCAL, TEAM_REFUSED))
    assert tray.state is TrayState.WARNING and "HTTP 401" in tray.icon.toolTip()
    assert not tray_icon(TrayState.WARNING).isNull()


def test_menu_has_every_command_and_each_emits_its_intent(qtbot):
    actions = AppActions()
    tray = TrayIcon(actions)
    actions.set_browser_targets({"local": "This computer"})
    labels = [a.text() for a in tray.menu.actions() if not a.isSeparator() and a.isVisible()]
    assert labels[1:] == ["Activity…", "Presence…", "Status: Active", "Do not disturb",
                          "Open in browser",
                          "Settings…", "About Lattice Realtime Tray", "Quit"]
    for action, signal in (
        (actions.activity, actions.activity_requested),
        (actions.presence, actions.presence_requested),
        (actions.settings, actions.settings_requested),
        (actions.about, actions.about_requested),
        (actions.quit, actions.quit_requested),
    ):
        with qtbot.waitSignal(signal, timeout=1000):
            action.trigger()
    with qtbot.waitSignal(actions.browser_requested, timeout=1000) as browser:
        actions.browser.trigger()
    assert browser.args == ["local"]
    dnd_menu = next(a.menu() for a in tray.menu.actions() if a.text() == "Do not disturb")
    with qtbot.waitSignal(actions.dnd_menu_opening, timeout=1000):
        dnd_menu.aboutToShow.emit()
    with qtbot.waitSignal(actions.dnd_requested, timeout=1000) as picked:
        actions.dnd[DndMode.TOMORROW].trigger()
    assert picked.args == ["tomorrow"]
    actions.show_dnd(DndMode.ON)
    assert actions.dnd[DndMode.ON].isChecked() and not actions.dnd[DndMode.OFF].isChecked()
    with qtbot.waitSignal(tray.activated, timeout=1000):
        tray.on_activated(tray.icon.ActivationReason.Trigger)


def test_with_several_connections_the_browser_entry_asks_which(qtbot):
    actions = AppActions()
    tray = TrayIcon(actions)
    actions.set_browser_targets({"local": "This computer", "team": "Team"})
    assert not actions.browser.isVisible() and actions.browser_menu.menuAction().isVisible()
    entries = actions.browser_menu.actions()
    assert [a.text() for a in entries] == ["This computer", "Team"]
    with qtbot.waitSignal(actions.browser_requested, timeout=1000) as browser:
        entries[1].trigger()
    assert browser.args == ["team"]
    assert "Open in browser" in [a.text() for a in tray.menu.actions() if a.isVisible()]


TZ = timezone(timedelta(hours=2))


def test_the_do_not_disturb_menu_says_the_real_times(qtbot):
    actions = AppActions()
    now = datetime(2026, 6, 1, 14, 42, tzinfo=TZ)
    actions.set_dnd_labels(menu_labels(DoNotDisturb(), now))
    assert [a.text() for a in actions.dnd.values()] == [
        "Off", "For 1 hour (until 15:42)", "Until 08:00 tomorrow", "Until turned off"]
    # on: its entry says when it really ends
    started = DoNotDisturb.start(DndMode.HOUR, now)
    later = now + timedelta(minutes=20)
    actions.set_dnd_labels(menu_labels(started, later))
    assert actions.dnd[DndMode.HOUR].text() == "Until 15:42"
    assert actions.dnd[DndMode.TOMORROW].text() == "Until 08:00 tomorrow"


def test_the_empty_list_says_what_is_going_on():
    assert intro([LOCAL], first_run=True) == FIRST_RUN
    assert intro([LOCAL, TEAM], first_run=False) is None  # the window's "No events yet"
    assert intro([link(enabled=False, state=None)], first_run=True) == (
        "No server is followed.\n\nTurn on the endpoint on this computer, or add a team "
        "server, in Settings.")
    connecting = [link(state=None), link("team", "Team", state=ClientState.CONNECTING)]
    assert intro(connecting, first_run=False) == "Connecting to This computer and Team…"
    refused = [link(enabled=False, state=None), TEAM_REFUSED]
    assert intro(refused, first_run=False) == (
        "Not connected.\n\nTeam: the token was refused by http://team:8765 (HTTP 401)"
        "\n\nIn Settings, Test connection says more.")
