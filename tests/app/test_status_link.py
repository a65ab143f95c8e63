"""The user's status through the whole app, against real servers on loopback.

One app's status change arrives in another app's Presence window; the menu's
choice wins over the automatic status until "Automatic"; do-not-disturb is
``dnd``; every connection is told, and one that joins later says the current
status; a status change is notified only with the Settings switch on; and
after sleep (a fake logind on a private bus drives it) "away" reaches the
server before the machine may sleep, and the first presence event after the
wake-up carries the true status.
"""

from __future__ import annotations

import os
import select
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex

from lattice_rt_tray.logic.dnd import DndMode
from lattice_rt_tray.logic.notices import NoticeKind
from lattice_rt_tray.logic.settings_values import (
    ConnectionSettings,
    NotifyPrefs,
    local_connection,
)
from lattice_rt_tray.logic.status_machine import ACTIVE, AWAY, DND, IDLE, StatusState
from lattice_rt_tray.main import TrayApp
from lattice_rt_tray.services.presence_keeper import presence_client_id
from lattice_rt_tray.services.settings import Settings
from lattice_rt_tray.services.token_vault import SERVICE
from lattice_rt_tray.system.idle.dbus import DBusBackend
from lattice_rt_tray.views.presence_model import STATUS_ROLE
from tests.app.conftest import local, wait_until
from tests.app.dbus_fakes import FakeLogind, FakeScreenSaver, private_bus
from tests.app.idle_fakes import Desk

WAIT_MS = 15_000
PEER_KEY = "a1b2c3"
TEAM_KEY = "7ea3"


def own(app: TrayApp, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This app's entries among ``entries``."""
    prefix = f"{app.settings.instance_id}:"
    return [e for e in entries if str(e.get("client_id", "")).startswith(prefix)]


def statuses(app: TrayApp, entries: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    """(status, status_text) of this app's entries."""
    return {(e.get("status", ACTIVE), e.get("status_text")) for e in own(app, entries)}


def local_entries(harness) -> list[dict[str, Any]]:
    return harness.box.current.bus.presence()


def row_status(app: TrayApp, name: str) -> tuple[str, str] | None:
    """(status, the Status cell's text) of ``name``'s row in the Presence window."""
    model = app.presence_model
    pending = [QModelIndex()]
    while pending:
        parent = pending.pop()
        for row in range(model.rowCount(parent)):
            first = model.index(row, 0, parent)
            if first.data() == name:
                cell = model.index(row, 1, parent)
                return cell.data(STATUS_ROLE), cell.data()
            pending.append(first)
    return None


def peer(harness, tmp_path: Path, ada: TrayApp, name: str = "Grace") -> TrayApp:
    """A second app (its own settings and instance id) following ``ada``'s endpoint."""
    server = harness.box.current
    settings = Settings.open(tmp_path / f"{name}.ini")
    settings.update(display_name=name, connections=(
        local_connection(enabled=False), ConnectionSettings(PEER_KEY, "Ada's", url=server.url),
    ))
    harness.keyring.set_password(SERVICE, PEER_KEY, server.owner_token)
    app = harness.build(settings)
    harness.start(app, PEER_KEY)
    return app


def test_a_status_set_in_one_app_arrives_in_another_apps_presence_window(
    harness, settings, tmp_path, qtbot
):
    settings.update(display_name="Ada")
    ada = harness.build(settings)
    harness.start(ada)
    grace = peer(harness, tmp_path, ada)
    wait_until(qtbot, lambda: row_status(grace, "Ada") == (ACTIVE, "Active"))

    mine = ada.views.actions.my_status
    mine.choices[AWAY].trigger()  # the menu: Away
    mine.edit_text.trigger()  # "Set status line…"
    dialog = ada.status.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.edit.setText("Lunch")
    dialog.buttons.accepted.emit()

    # the status, then the line (the server publishes the last state of a burst)
    wait_until(qtbot, lambda: row_status(grace, "Ada") == (
        AWAY, "Away for less than a minute · Lunch"))
    assert mine.current.text() == "Away · Lunch"
    # Grace's tray counts Ada as away, herself online
    assert grace.views.tray is not None
    wait_until(qtbot, lambda: "1 person online · 1 away" in grace.views.tray.icon.toolTip())
    # not notified: the Settings switch is off by default
    assert not [n for n in grace.notifier.notices if "Ada" in n.title]


def test_status_changes_are_notified_only_with_the_switch_on(harness, settings, tmp_path, qtbot):
    settings.update(display_name="Ada")
    ada = harness.build(settings)
    harness.start(ada)
    grace = peer(harness, tmp_path, ada)
    assert grace.settings.values().notify.status is False
    ada.views.actions.my_status.choices[AWAY].trigger()
    wait_until(qtbot, lambda: (row_status(grace, "Ada") or ("", ""))[0] == AWAY)
    assert not [n for n in grace.notifier.notices if n.title.startswith("Ada")]

    grace.settings.update(notify=NotifyPrefs(status=True))
    with qtbot.waitSignal(grace.controller.notice_shown, timeout=WAIT_MS) as shown:
        ada.views.actions.my_status.choices[DND].trigger()
    [notice] = shown.args
    assert notice.title == "Ada: Do not disturb" and notice.quiet
    assert notice.kind is NoticeKind.EVENT


def test_the_menu_wins_over_the_automatic_status_until_automatic(harness, settings, qtbot):
    desk = Desk(idle=0.0)
    app = harness.build(settings, idle_backend=lambda: desk)
    harness.start(app)
    assert statuses(app, local_entries(harness)) == {(ACTIVE, None)}
    mine = app.views.actions.my_status

    mine.choices[DND].trigger()
    wait_until(qtbot, lambda: statuses(app, local_entries(harness)) == {(DND, None)})
    assert settings.status_choice() == (DND, None)  # kept for the next start
    desk.idle = 1000.0  # away by idle time, but the choice wins
    with qtbot.waitSignal(app.status.tracker.watcher.sampled, timeout=WAIT_MS):
        app.status.tracker.check()
    assert app.status.state.status == DND and mine.choices[DND].isChecked()

    with qtbot.waitSignal(app.status.sent, timeout=WAIT_MS) as sent:
        mine.choices[""].trigger()  # Automatic: what the desk says
    assert sent.args == [StatusState(AWAY, None)]
    wait_until(qtbot, lambda: statuses(app, local_entries(harness)) == {(AWAY, None)})
    assert settings.status_choice() == (None, None) and mine.choices[""].isChecked()

    desk.idle = 0.0  # back at the keyboard
    with qtbot.waitSignal(app.status.sent, timeout=WAIT_MS):
        app.status.tracker.check()
    wait_until(qtbot, lambda: statuses(app, local_entries(harness)) == {(ACTIVE, None)})


def test_do_not_disturb_is_dnd_and_its_end_is_active_again(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    app.views.actions.dnd[DndMode.ON].trigger()
    wait_until(qtbot, lambda: statuses(app, local_entries(harness)) == {(DND, None)})
    app.views.actions.dnd[DndMode.OFF].trigger()
    wait_until(qtbot, lambda: statuses(app, local_entries(harness)) == {(ACTIVE, None)})


def test_the_idle_and_away_times_come_from_settings(harness, settings, qtbot):
    desk = Desk(idle=120.0)
    app = harness.build(settings, idle_backend=lambda: desk)
    harness.start(app)
    assert app.status.tracker.machine.idle_after == 300.0  # the default: 5 min
    with qtbot.waitSignal(app.status.sent, timeout=WAIT_MS) as sent:
        settings.update(idle_after=60.0, away_after=600.0)
    assert sent.args == [StatusState(IDLE, None)]
    wait_until(qtbot, lambda: statuses(app, local_entries(harness)) == {(IDLE, None)})


def test_every_connection_is_told_and_one_joining_later_says_the_status(
    harness, settings, team, qtbot
):
    settings.update(workspaces=("ws_team",))
    settings.set_status_choice(AWAY, "Back at 3")  # chosen in an earlier run
    app = harness.build(settings)
    harness.start(app)
    assert statuses(app, local_entries(harness)) == {(AWAY, "Back at 3")}  # the first join

    def on_team() -> set[tuple[str, str | None]]:
        with team.client() as client:
            return statuses(app, client.presence()["presence"])

    with qtbot.waitSignal(app.connections.joined, timeout=WAIT_MS):  # added in Settings
        app.flow.on_apply(replace(settings.values(), connections=(
            local_connection(),
            ConnectionSettings(TEAM_KEY, "Team", url=team.url, token=team.owner_token),
        )))
    assert on_team() == {(AWAY, "Back at 3")}
    app.views.actions.my_status.choices[DND].trigger()
    wait_until(qtbot, lambda: statuses(app, local_entries(harness)) == {(DND, "Back at 3")})
    wait_until(qtbot, lambda: on_team() == {(DND, "Back at 3")})

    me = presence_client_id(settings.instance_id, "ws_team")
    settings.update_connection(TEAM_KEY, enabled=False)
    wait_until(qtbot, lambda: me not in team.presence_ids())
    app.views.actions.my_status.clear_text.trigger()  # changed while that one is off
    wait_until(qtbot, lambda: statuses(app, local_entries(harness)) == {(DND, None)})
    with qtbot.waitSignal(app.connections.joined, timeout=WAIT_MS):
        settings.update_connection(TEAM_KEY, enabled=True)
    assert on_team() == {(DND, None)}  # joined with the current status


def _released(read_end: int) -> bool:
    """logind's end of a delay inhibitor: readable at EOF once the app let it go."""
    ready, _, _ = select.select([read_end], [], [], 0)
    return bool(ready) and os.read(read_end, 1) == b""


def test_after_sleep_the_first_presence_event_carries_the_true_status(harness, settings, qtbot):
    with private_bus() as bus:
        saver, logind = FakeScreenSaver(bus), FakeLogind(bus)
        try:
            app = harness.build(
                settings, idle_backend=lambda: DBusBackend(session_bus=bus, system_bus=bus)
            )
            harness.start(app)
            wait_until(qtbot, lambda: "logind" in app.status.tracker.found)
            _what, read_end = logind.next_inhibitor()
            mine = {cid for cid in local(app).keeper.client_ids()}
            seen: list[dict[str, Any]] = []
            app.bridge.events_received.connect(
                lambda key, events: seen.extend(
                    e for e in events if e.get("area") == "presence"
                    and e.get("payload", {}).get("client_id") in mine
                )
            )
            assert statuses(app, local_entries(harness)) == {(ACTIVE, None)}

            logind.sleep(True)  # away goes out, then the machine may sleep
            wait_until(qtbot, lambda: _released(read_end))
            assert statuses(app, local_entries(harness)) == {(AWAY, None)}
            os.close(read_end)
            wait_until(qtbot, lambda: any(e["payload"].get("status") == AWAY for e in seen))

            # asleep long enough for the server to expire the entries; then a reconnect's
            # join (or a keep-alive) would make them again with a stale status
            for cid in mine:
                harness.box.current.bus.leave(cid, reason="expired")
            before = len(seen)
            local(app).keeper.join(local(app).client)  # fails without the keeper's hold
            saver.idle_ms = 400_000  # on waking: no input for 6 min 40 s: idle
            with qtbot.waitSignal(app.status.rejoined, timeout=WAIT_MS) as rejoined:
                logind.sleep(False)
            assert rejoined.args == [StatusState(IDLE, None)]
            wait_until(qtbot, lambda: len(seen) > before + len(mine))  # the leaves, a join
            assert [e["event_type"] for e in seen[before:]] == ["leave", "join"]
            assert seen[before + 1]["payload"]["status"] == IDLE
            assert statuses(app, local_entries(harness)) == {(IDLE, None)}
            harness.quit(app)
        finally:
            saver.service.close()
            logind.service.close()


def test_the_status_submenu_is_in_the_tray_and_window_menus(harness, settings):
    app = harness.build(settings)
    assert app.views.tray is not None
    assert "Status: Active" in [a.text() for a in app.views.tray.menu.actions()]
    made = len(app.views.actions.my_status.menus)
    window = app.views.activity.get()  # its menu is made with it
    assert len(app.views.actions.my_status.menus) == made + 1
    lattice = window.menuBar().actions()[0].menu()
    assert "Status: Active" in [a.text() for a in lattice.actions()]
