"""The Activity window: filters, servers, selection, the detail view, empty states, status."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from lattice_rt_tray.views.actions import AppActions
from lattice_rt_tray.views.activity_model import (
    FAILURE_MARK,
    KIND_ROLE,
    SERVER_COLUMN,
    ActivityModel,
)
from lattice_rt_tray.views.activity_window import (
    ALL,
    DEFAULT_INTRO,
    EMPTY_PAGE,
    LIST_PAGE,
    ActivityWindow,
)
from lattice_rt_tray.views.event_detail import EventDetail

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def ev(seq, ws="ws_a", area="workflow", kind="workflow_run", at="11:59:58.000", **payload):
    return {"seq": seq, "received_at": f"2026-06-01T{at}+00:00", "area": area,
            "event_type": kind, "workspace_id": ws, "payload": payload or {"workflow_id": "wf"}}


def double_click(qtbot, view, index):
    """What a person's double-click sends: a click, then the double-click.

    (QTest's mouseDClick alone lacks the first press, which the view checks.)
    """
    centre = view.visualRect(index).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)


def make(qtbot, **kwargs):
    model = ActivityModel(now=lambda: NOW)
    window = ActivityWindow(model, AppActions(), **kwargs)
    qtbot.addWidget(window)
    return model, window


def test_window_filters_copy_and_select(qtbot):
    model, window = make(qtbot)
    model.add_events([ev(i, ws=("ws_a", "ws_b")[i % 2]) for i in range(1, 11)])
    assert window.count_label.text() == "10 events"
    assert [window.workspace_box.itemText(i) for i in range(window.workspace_box.count())] == [
        ALL, "ws_a", "ws_b"]
    assert window.view.model() is model
    window.workspace_box.setCurrentText("ws_a")
    assert model.rowCount() == 5 and window.count_label.text() == "5 of 10 events"
    assert {model.event_at(r)["workspace_id"] for r in range(5)} == {"ws_a"}
    # selecting an event hidden by the filter clears the filter
    assert window.select_event("", 3)
    assert window.workspace_box.currentText() == ALL and window.selected_event() == ("", 3)
    window.copy_action.trigger()
    assert json.loads(QGuiApplication.clipboard().text())["seq"] == 3
    model.add_events([ev(11)])  # live update keeps the selection on its event
    assert window.selected_event() == ("", 3) and model.rowCount() == 11
    assert not window.select_event("", 99) and not window.select_event("other", 3)


def test_window_filters_keep_the_selected_event_and_follow_live_updates(qtbot):
    model, window = make(qtbot)
    model.add_events([ev(i, ws=("ws_a", "ws_b")[i % 2], run=f"run{i}") for i in range(1, 11)])
    assert window.select_event("", 4)
    window.workspace_box.setCurrentText("ws_a")  # 4 is in ws_a: still selected
    assert window.selected_event() == ("", 4) and window.count_label.text() == "5 of 10 events"
    model.add_events([ev(11, ws="ws_b"), ev(12, ws="ws_a", run="run12")])
    assert window.count_label.text() == "6 of 12 events" and window.selected_event() == ("", 4)
    assert model.event_at(0)["seq"] == 12
    window.search.setText("RUN1")  # run1 (ws_b), run10 and run12 (ws_a)
    assert [model.event_at(r)["seq"] for r in range(model.rowCount())] == [12, 10]
    assert window.selected_event() is None  # 4 is filtered out
    window.copy_action.trigger()  # nothing selected: nothing copied, no error
    window.area_box.setCurrentText("workflow")
    window.workspace_box.setCurrentText(ALL)
    assert [model.event_at(r)["seq"] for r in range(model.rowCount())] == [12, 10, 1]
    window.search.clear()
    window.area_box.setCurrentText(ALL)
    assert not model.filter.active and window.count_label.text() == "12 events"


def test_one_event_is_one_event(qtbot):
    model, window = make(qtbot)
    model.add_events([ev(1)])
    assert window.count_label.text() == "1 event"


def test_the_server_column_and_filter_appear_with_a_second_server(qtbot):
    model, window = make(qtbot)
    window.show()
    model.set_servers({"local": "This computer"})
    assert window.view.isColumnHidden(SERVER_COLUMN) and window.server_box.isHidden()
    model.set_servers({"local": "This computer", "team": "Team"})
    assert not window.view.isColumnHidden(SERVER_COLUMN) and window.server_box.isVisible()
    assert [window.server_box.itemText(i) for i in range(window.server_box.count())] == [
        ALL, "This computer", "Team"]
    model.add_events([ev(5, at="10:00:00.000")], server="local")
    model.add_events([ev(5, at="10:01:00.000"), ev(6, at="10:02:00.000")], server="team")
    window.server_box.setCurrentText("This computer")
    assert model.filter.server == "local" and model.rowCount() == 1
    assert window.count_label.text() == "1 of 3 events"
    # a notification of the other server selects its event (seq 5 exists on both)
    assert window.select_event("team", 5)
    assert window.server_box.currentText() == ALL and window.selected_event() == ("team", 5)
    window.server_box.setCurrentText("Team")
    model.set_servers({"local": "This computer", "team": "Team (renamed)"})
    assert window.server_box.currentText() == "Team (renamed)" and model.filter.server == "team"
    model.set_servers({"local": "This computer"})  # the team connection was removed
    assert window.server_box.isHidden() and model.filter.server is None


def test_double_click_and_enter_open_the_whole_event_without_blocking_the_list(qtbot):
    model, window = make(qtbot)
    model.set_servers({"local": "This computer", "team": "Team"})
    failed = {**ev(7, kind="workflow_failed", run_id="r9", status="failed", error="disk full"),
              "actor": "grace", "origin": "ci"}
    model.add_events([ev(1, at="11:00:00.000")], server="local")
    model.add_events([failed], server="team")
    model.add_gap({"missed": 2, "reason": "overflow"}, server="local")
    window.show()
    qtbot.waitExposed(window)
    # the gap follows local's last event, older than the team's failure
    assert [model.index(r, 0).data(KIND_ROLE) for r in range(3)] == ["event", "gap", "event"]
    double_click(qtbot, window.view, model.index(0, 4))
    detail = window.detail
    assert isinstance(detail, EventDetail) and detail.isVisible() and not detail.isModal()
    assert QApplication.activeModalWidget() is None
    assert detail.title.text() == f"{FAILURE_MARK} Workflow failed"
    assert detail.summary.text() == "r9 · failed · disk full"
    fields = {name: label.text() for name, label in detail.fields.items()}
    assert fields == {"Server": "Team", "Time": "2026-06-01 11:59:58.000 UTC",
                      "Workspace": "ws_a", "Area": "workflow", "Type": "workflow_failed",
                      "Actor": "grace", "Seq": "7"}
    assert json.loads(detail.json.toPlainText()) == failed  # every field, "origin" too
    assert '\n  "seq": 7,' in detail.json.toPlainText()  # pretty-printed
    detail.copy_button.click()
    assert json.loads(QGuiApplication.clipboard().text()) == failed
    assert detail.copy_button.text() == "Copied"
    model.add_events([ev(2, at="11:59:59.000")], server="local")  # the list goes on
    assert model.rowCount() == 4
    # Escape closes it; Enter on another row opens that one in the same window
    qtbot.keyClick(detail, Qt.Key.Key_Escape)
    assert not detail.isVisible()
    window.view.setFocus()
    window.select_event("local", 1)
    qtbot.keyClick(window.view, Qt.Key.Key_Return)
    assert window.detail is detail and detail.isVisible()
    assert detail.title.text() == "Workflow run" and detail.fields["Actor"].isHidden()
    assert detail.copy_button.text() == "Copy JSON"
    detail.close()
    assert model.index(2, 0).data(KIND_ROLE) == "gap"  # a gap row has no event to show
    double_click(qtbot, window.view, model.index(2, 4))
    assert not detail.isVisible()


def test_empty_states_say_what_is_going_on(qtbot):
    model, window = make(qtbot)
    assert window.stack.currentIndex() == EMPTY_PAGE
    assert window.empty_text.text() == DEFAULT_INTRO and window.clear_button.isHidden()
    window.set_intro("Connecting to https://team.example.lan…")
    assert window.empty_text.text() == "Connecting to https://team.example.lan…"
    model.add_events([ev(1, ws="ws_a"), ev(2, ws="ws_b")])
    assert window.stack.currentIndex() == LIST_PAGE
    window.search.setText("  zebra ")
    assert window.stack.currentIndex() == EMPTY_PAGE
    assert window.empty_text.text() == "No events match “zebra”.\n\n2 events in all."
    window.search.clear()
    window.workspace_box.setCurrentText("ws_a")
    model.drop_server("")  # nothing stored any more: the intro again
    assert window.empty_text.text().startswith("Connecting")
    assert not model.filter.active  # the workspace it named is gone, and the box says All
    model.add_events([ev(3, ws="ws_b"), ev(4, ws="ws_a", area="graph")])
    window.workspace_box.setCurrentText("ws_a")
    window.area_box.setCurrentText("workflow")
    assert window.empty_text.text() == "No events match these filters.\n\n2 events in all."
    window.show()
    assert window.clear_button.isVisible()
    window.clear_button.click()
    assert not model.filter.active and window.stack.currentIndex() == LIST_PAGE
    window.set_intro(None)
    model.clear()
    assert window.empty_text.text() == DEFAULT_INTRO


def test_the_connection_line_keeps_its_level_and_fits(qtbot):
    model, window = make(qtbot, main_window=True)
    window.set_connection_summary("connecting to Team", "warning")
    assert window.connection_label.text() == "▲ connecting to Team"  # not on screen: all of it
    window.show()
    with qtbot.waitSignal(window.close_requested, timeout=2000):
        window.close()
    assert window.isVisible()  # the controller decides; the window is not just hidden
    assert Qt.WindowState.WindowMinimized not in window.windowState()
    window.set_connection_summary("2 servers connected", "ok")
    assert window.connection_label.full_text() == "● 2 servers connected"
    refused = "Team: the token was refused by https://team.example.lan:8765 (HTTP 401)"
    window.set_connection_summary(refused, "error")
    # room enough: once laid out, all of it
    qtbot.waitUntil(lambda: window.connection_label.text() == f"✖ {refused}")
    window.set_connection_summary("2 servers connected", "ok")
    ok_style = window.connection_label.styleSheet()
    long = "Team: token refused by https://team.example.lan:8765 (HTTP 401) " * 4
    width = window.width()
    window.set_connection_summary(long, "error")
    label = window.connection_label
    assert label.full_text() == f"✖ {long}" and label.toolTip() == f"✖ {long}"
    assert label.styleSheet() != ok_style and window.connection_level == "error"
    assert window.width() == width  # a long error does not widen the window
    qtbot.waitUntil(lambda: label.text().endswith("…"))
    window.statusBar().showMessage("Event copied as JSON", 3000)
    assert label.isVisible()  # an error stays in sight behind a passing message
    window.set_connection_summary("reconnecting", "nonsense")
    assert label.full_text() == "▲ reconnecting" and window.connection_level == "warning"


def at_day(seq, when):  # type: ignore[no-untyped-def]
    return {"seq": seq, "received_at": when, "area": "workflow", "event_type": "workflow_run",
            "workspace_id": "ws_a", "payload": {"workflow_id": "wf"}}


def test_times_read_as_people_say_them_and_days_are_separated(qtbot):
    clock = {"now": NOW}
    model = ActivityModel(now=lambda: clock["now"])
    window = ActivityWindow(model, AppActions())
    qtbot.addWidget(window)
    model.add_events([at_day(1, "2026-05-20T09:00:00.000+00:00"),
                      at_day(2, "2026-05-31T14:03:00.000+00:00"),
                      at_day(3, "2026-05-31T16:00:00.000+00:00"),
                      at_day(4, "2026-06-01T11:58:00.000+00:00"),
                      at_day(5, "2026-06-01T11:59:50.000+00:00")])
    window.show()
    qtbot.waitUntil(lambda: len(window.days.starts) == 2)  # after the batch, once
    assert [model.index(r, 0).data() for r in range(5)] == [
        "just now", "2 min ago", "yesterday 16:00", "yesterday 14:03", "2026-05-20 09:00"]
    assert model.index(3, 0).data(Qt.ItemDataRole.ToolTipRole) == (
        "2026-05-31 14:03:00.000 UTC")  # the absolute time in the tooltip
    # a separator below the last row of a day, naming the day that follows
    assert {r: window.days.label(r) for r in window.days.starts} == {
        1: "Yesterday", 3: "Wed 20 May"}
    height = window.view.verticalHeader().defaultSectionSize()
    assert [window.view.rowHeight(r) for r in range(5)] == [
        height, 2 * height, height, 2 * height, height]
    # a live event goes on top: the separators move down with their rows, none is resized
    resized: list[int] = []
    window.view.verticalHeader().sectionResized.connect(lambda i, old, new: resized.append(i))
    model.add_events([at_day(6, "2026-06-01T11:59:58.000+00:00")])
    qtbot.waitUntil(lambda: sorted(window.days.starts) == [2, 4])
    assert [window.view.rowHeight(r) for r in range(6)] == [
        height, height, 2 * height, height, 2 * height, height]
    assert resized == []
    # a day later, the same rows say it again
    clock["now"] = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    window.on_clock()
    assert model.index(0, 0).data() == "yesterday 11:59"
    assert [window.days.label(r) for r in (2, 4)] == ["Sun 31 May", "Wed 20 May"]
    assert window.days.label(0) is None
    window.grab()  # the separators paint (the delegate's own code path)


def test_separators_follow_a_filter(qtbot):
    model, window = make(qtbot)
    model.add_events([at_day(1, "2026-05-31T14:03:00.000+00:00"),
                      {**at_day(2, "2026-06-01T10:00:00.000+00:00"), "workspace_id": "ws_b"},
                      at_day(3, "2026-06-01T11:00:00.000+00:00")])
    window.show()
    qtbot.waitUntil(lambda: sorted(window.days.starts) == [1])
    height = window.view.verticalHeader().defaultSectionSize()
    window.workspace_box.setCurrentText("ws_a")  # a model reset: 3 (today), 1 (yesterday)
    qtbot.waitUntil(lambda: sorted(window.days.starts) == [0])
    assert [window.view.rowHeight(r) for r in range(2)] == [2 * height, height]
    window.workspace_box.setCurrentText(ALL)
    qtbot.waitUntil(lambda: sorted(window.days.starts) == [1])
    assert [window.view.rowHeight(r) for r in range(3)] == [height, 2 * height, height]


def test_a_long_intro_is_shown_whole_at_any_width(qtbot) -> None:
    # fails without: the stretches around the word-wrapped label (with an alignment flag
    # instead, the layout gave it its one-line height and cut its lines off)
    _, window = make(qtbot)
    window.set_intro("Lattice Realtime Tray shows live activity and who is online in your "
                     "Lattice workspaces.\n\nIt runs an endpoint on this computer: what tools "
                     "here publish to it appears in this list, and as a notification, as it "
                     "happens. To follow your team's server as well, add it in Settings.")
    window.show()
    label = window.empty_text
    for width in (1000, 640, 420):
        window.resize(width, 520)
        qtbot.waitUntil(lambda width=width: window.width() == width)
        QApplication.processEvents()
        assert label.height() >= label.heightForWidth(label.width()) > 0, width
