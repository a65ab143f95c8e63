"""The windows and the menu, driven through the whole app over a real endpoint."""

from __future__ import annotations

from PySide6.QtCore import QUrl

from lattice_rt_tray.logic.link_status import FIRST_RUN
from lattice_rt_tray.services.presence_keeper import presence_client_id
from lattice_rt_tray.views.about import AboutDialog
from lattice_rt_tray.views.activity_model import EVENT_COLUMN
from lattice_rt_tray.views.settings_dialog import SettingsDialog
from tests.app.conftest import local, wait_until


def test_activity_window_updates_live_and_shows_connection(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    assert app.views.activity.window is None  # built when it is first opened
    app.views.actions.activity.trigger()
    window = app.views.activity.window
    assert window is not None and window.isVisible()
    assert window.connection_label.full_text() == (
        f"● Connected to This computer ({harness.box.current.url})")
    bus = harness.box.current.bus
    before = app.activity_model.rowCount()
    assert before == 0  # our own join is not listed
    with qtbot.waitSignal(app.activity_model.rowsInserted, timeout=10_000):
        bus.publish({"area": "graph", "event_type": "indexing_paused", "workspace_id": "ws_r",
                     "payload": {"graph_id": "papers"}})
    assert app.activity_model.rowCount() == before + 1
    assert app.activity_model.index(0, EVENT_COLUMN).data() == "Graph: indexing paused"
    assert window.workspace_box.findText("ws_r") >= 0
    assert app.coalescer.unread == 0  # seen while the window is open


def test_presence_window_updates_live_from_joins_leaves_and_expiry(harness, settings, qtbot):
    settings.update(display_name="Ada", workspaces=("ws_a",))
    app = harness.build(settings)
    harness.start(app)
    app.views.actions.presence.trigger()
    window = app.views.presence.window
    assert window is not None and window.isVisible()
    me = presence_client_id(settings.instance_id, "ws_a")
    wait_until(qtbot, lambda: ("", "ws_a · 1 person", "Ada (you)", (me,))
               in app.presence_model.person_rows())
    bus = harness.box.current.bus
    bus.join(user="grace", client_id="grace-1", workspace_id="ws_a", display_name="Grace")
    wait_until(qtbot, lambda: ("", "ws_a · 2 people", "Grace", ("grace-1",))
               in app.presence_model.person_rows())
    assert window.summary.text() == "2 people online in 1 workspace"
    assert "2 people online" in app.views.tray.icon.toolTip()
    # expiry on the server is a leave event like any other
    bus.leave("grace-1", reason="timeout")
    wait_until(qtbot, lambda: [r[2] for r in app.presence_model.person_rows()] == ["Ada (you)"])


def test_open_in_browser_uses_a_fresh_launch_url(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    app.views.actions.browser.trigger()
    wait_until(qtbot, lambda: bool(harness.opened))
    url = QUrl(harness.opened[0])
    assert url.path() == "/activity" and url.hasQuery() and "code=" in url.query()


def test_open_in_browser_reports_a_browser_that_did_not_start(harness, settings, qtbot):
    harness.browser_failure = "xdg-open exited with status 3"
    app = harness.build(settings)
    harness.start(app)
    app.views.actions.browser.trigger()
    status = app.views.activity.get().statusBar()
    expected = "no browser started: xdg-open exited with status 3"
    wait_until(qtbot, lambda: status.currentMessage() == expected)
    assert len(harness.opened) == 1


def test_settings_dialog_applies_without_restart(harness, settings, qtbot):
    settings.update(workspaces=("ws_a",))
    app = harness.build(settings)
    harness.start(app)
    app.views.actions.settings.trigger()
    dialog = app.flow.dialog
    assert isinstance(dialog, SettingsDialog) and dialog.isVisible()
    assert dialog.workspaces.text() == "ws_a"
    # a bad URL is refused in the dialog itself
    dialog.add.click()
    qtbot.keyClicks(dialog.form.url, "nonsense")
    dialog.buttons.accepted.emit()
    assert dialog.isVisible() and "http://" in dialog.error.text()
    dialog.remove.click()
    dialog.workspaces.setText("ws_a, ws_b")
    dialog.autostart.setChecked(True)
    bus = harness.box.current.bus
    iid = settings.instance_id
    keeper = local(app).keeper
    with qtbot.waitSignal(keeper.joined, timeout=15_000) as joined:
        dialog.buttons.accepted.emit()
    assert {e["workspace_id"] for e in joined.args[0]} == {"ws_a", "ws_b"}
    assert not dialog.isVisible()
    ids = {e["client_id"] for e in bus.presence()}
    assert {presence_client_id(iid, "ws_a"), presence_client_id(iid, "ws_b")} <= ids
    assert app.controller.autostart.enabled()
    # dropping a workspace leaves it
    with qtbot.waitSignal(keeper.joined, timeout=15_000):
        settings.update(workspaces=("ws_b",))
    wait_until(qtbot, lambda: presence_client_id(iid, "ws_a") not in
               {e["client_id"] for e in bus.presence()})


def test_a_first_start_says_what_the_app_does_and_about_opens(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    window = app.views.activity.get()
    assert window.intro == FIRST_RUN  # nothing configured but this computer's endpoint
    app.views.actions.about.trigger()
    about = app.controller._about  # noqa: SLF001
    assert isinstance(about, AboutDialog) and about.isVisible()
    app.views.actions.about.trigger()  # again: the same dialog, brought forward
    assert app.controller._about is about  # noqa: SLF001


def test_without_a_tray_the_activity_window_is_the_main_window(harness, settings, qtbot):
    app = harness.build(settings, tray=False)
    assert app.views.tray is None
    harness.start(app)
    window = app.views.activity.window  # shown at start: it is the first frame
    assert window is not None and window.isVisible() and window.main_window
    assert window.menuBar().actions()[0].menu().actions()  # every command is in its menu
    bus = harness.box.current.bus
    mine = {e["client_id"] for e in bus.presence()}
    assert mine
    with qtbot.waitSignal(app.controller.quit_finished, timeout=10_000):
        window.close()
    app.controller.wait_for_shutdown(5)
    assert not mine & {e["client_id"] for e in bus.presence()}
