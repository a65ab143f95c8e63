"""The activity model, its filter, and the window around them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from lattice_rt_tray.actions import AppActions
from lattice_rt_tray.activity_model import EVENT_ROLE, KIND_ROLE, ActivityFilter, ActivityModel
from lattice_rt_tray.activity_window import ALL, ActivityWindow

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def ev(seq, ws="ws_a", area="workflow", kind="workflow_run", **payload):
    return {"seq": seq, "received_at": "2026-06-01T11:59:58.000+00:00", "area": area,
            "event_type": kind, "workspace_id": ws, "payload": payload or {"workflow_id": "wf"}}


def texts(model, row):
    return [model.index(row, c).data() for c in range(model.columnCount())]


def test_newest_first_and_bounded(qapp):
    model = ActivityModel(capacity=5, now=lambda: NOW)
    model.add_events([ev(1), ev(2)])
    assert texts(model, 0) == ["11:59:58", "ws_a", "workflow", "Workflow run", "wf"]
    assert model.index(0, 0).data(EVENT_ROLE)["seq"] == 2
    model.add_events([ev(i) for i in range(3, 9)])
    assert model.rowCount() == 5
    assert [model.event_at(r)["seq"] for r in range(5)] == [8, 7, 6, 5, 4]
    model.add_events([ev(i) for i in range(9, 30)])  # one batch larger than the bound
    assert [model.event_at(r)["seq"] for r in range(5)] == [29, 28, 27, 26, 25]


def test_gap_rows_and_json(qapp):
    model = ActivityModel(now=lambda: NOW)
    model.add_events([ev(1)])
    model.add_gap({"from_seq": 2, "to_seq": 38, "missed": 37, "reason": "overflow"})
    model.add_events([ev(39)])
    assert model.index(1, 0).data(KIND_ROLE) == "gap"
    assert model.index(1, 4).data() == (
        "⚠ 37 events missed (#2–#38): this app fell behind the stream"
    )
    assert model.event_at(1) is None and model.event_json(1) is None
    assert json.loads(model.event_json(0))["seq"] == 39
    assert model.row_for_seq(1) == 2 and model.row_for_seq(99) is None


def test_filters_and_search(qapp):
    model = ActivityModel(now=lambda: NOW)
    proxy = ActivityFilter()
    proxy.setSourceModel(model)
    model.add_events([ev(1, ws="ws_a"), ev(2, ws="ws_b", area="graph", kind="answer_trace",
                                            query="who owns launch"), ev(3, ws="ws_b")])
    model.add_gap({"missed": 2, "reason": "retention"})
    assert model.workspaces() == ["ws_a", "ws_b"] and model.areas() == ["graph", "workflow"]
    proxy.set_workspace("ws_b")
    assert proxy.rowCount() == 3  # two events and the gap row
    proxy.set_area("graph")
    assert proxy.rowCount() == 2
    proxy.set_workspace(None)
    proxy.set_area(None)
    proxy.set_search("LAUNCH")
    seqs = [proxy.index(r, 0).data(EVENT_ROLE) for r in range(proxy.rowCount())]
    assert [s["seq"] for s in seqs if s] == [2]


def test_window_filters_copy_and_select(qtbot):
    model = ActivityModel(now=lambda: NOW)
    window = ActivityWindow(model, AppActions())
    qtbot.addWidget(window)
    model.add_events([ev(i, ws=("ws_a", "ws_b")[i % 2]) for i in range(1, 11)])
    assert window.count_label.text() == "10 events"
    assert [window.workspace_box.itemText(i) for i in range(window.workspace_box.count())] == [
        ALL, "ws_a", "ws_b"]
    window.workspace_box.setCurrentText("ws_a")
    assert window.proxy.rowCount() == 5 and window.count_label.text() == "5 of 10 events"
    # selecting an event hidden by the filter clears the filter
    assert window.select_seq(3)
    assert window.workspace_box.currentText() == ALL and window.selected_seq() == 3
    window.copy_action.trigger()
    assert json.loads(QGuiApplication.clipboard().text())["seq"] == 3
    model.add_events([ev(11)])  # live update keeps the selection on its event
    assert window.selected_seq() == 3 and window.proxy.rowCount() == 11


def test_window_as_main_window_asks_to_quit_on_close(qtbot):
    window = ActivityWindow(ActivityModel(), AppActions(), main_window=True)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.close_requested, timeout=2000):
        window.close()
    assert window.isVisible()  # the controller decides; the window is not just hidden
    window.set_connection("reconnecting: refused", False)
    assert window.connection_label.text() == "○ reconnecting: refused"
    assert window.connection_label.styleSheet() != ""
    assert Qt.WindowState.WindowMinimized not in window.windowState()
