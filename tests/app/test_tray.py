"""Tray look, tooltip and menu intents."""

from __future__ import annotations

import pytest

from lattice_rt_tray.actions import AppActions
from lattice_rt_tray.dnd import DndMode
from lattice_rt_tray.icons import TrayState
from lattice_rt_tray.tray import TrayIcon, TrayStatus, tooltip, tray_state


def status(**kw):
    base = dict(connected=True, detail="", server="http://127.0.0.1:8765", people_online=3,
                unread=0, dnd="")
    base.update(kw)
    return TrayStatus(**base)


@pytest.mark.parametrize(
    ("kw", "state"),
    [
        ({}, TrayState.ONLINE),
        ({"unread": 4}, TrayState.UNREAD),
        ({"unread": 4, "dnd": "Do not disturb is on"}, TrayState.DND),
        ({"connected": False, "unread": 4, "dnd": "x"}, TrayState.OFFLINE),
    ],
)
def test_state_priority(kw, state):
    assert tray_state(status(**kw)) is state


def test_tooltip_names_server_people_and_unread():
    text = tooltip(status(unread=2, connected=False, detail="reconnecting in 2.0 s"))
    assert text.splitlines() == ["Lattice Realtime Tray", "http://127.0.0.1:8765",
                                 "reconnecting in 2.0 s", "3 people online", "2 unread"]
    assert "1 person online" in tooltip(status(people_online=1))


def test_tray_icon_follows_status(qtbot):
    actions = AppActions()
    tray = TrayIcon(actions)
    assert tray.state is TrayState.OFFLINE
    before = tray.icon.icon().cacheKey()
    tray.update(status(unread=1))
    assert tray.state is TrayState.UNREAD and tray.icon.icon().cacheKey() != before
    assert "1 unread" in tray.icon.toolTip()


def test_menu_has_every_command_and_each_emits_its_intent(qtbot):
    actions = AppActions()
    tray = TrayIcon(actions)
    labels = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert labels[1:] == ["Activity…", "Presence…", "Do not disturb", "Open in browser",
                          "Settings…", "Quit"]
    for action, signal in (
        (actions.activity, actions.activity_requested),
        (actions.presence, actions.presence_requested),
        (actions.browser, actions.browser_requested),
        (actions.settings, actions.settings_requested),
        (actions.quit, actions.quit_requested),
    ):
        with qtbot.waitSignal(signal, timeout=1000):
            action.trigger()
    dnd_menu = next(a.menu() for a in tray.menu.actions() if a.text() == "Do not disturb")
    assert [a.text() for a in dnd_menu.actions()] == ["Off", "For 1 hour", "Until tomorrow",
                                                       "On"]
    with qtbot.waitSignal(actions.dnd_requested, timeout=1000) as picked:
        actions.dnd[DndMode.TOMORROW].trigger()
    assert picked.args == ["tomorrow"]
    actions.show_dnd(DndMode.ON)
    assert actions.dnd[DndMode.ON].isChecked() and not actions.dnd[DndMode.OFF].isChecked()
    with qtbot.waitSignal(tray.activated, timeout=1000):
        tray.on_activated(tray.icon.ActivationReason.Trigger)
