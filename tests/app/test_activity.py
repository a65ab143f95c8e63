"""The activity model, its filter, and the window around them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QTableView

from lattice_rt_tray.actions import AppActions
from lattice_rt_tray.activity_delegate import ActivityDelegate
from lattice_rt_tray.activity_model import (
    EVENT_ROLE,
    KIND_ROLE,
    SEQ_ROLE,
    ActivityFilter,
    ActivityModel,
)
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
    model.add_gap({"missed": 1, "reason": "retention"})
    assert model.index(0, 4).data() == "⚠ 1 event missed: they are older than the server keeps"


def test_filters_and_search(qapp):
    model = ActivityModel(now=lambda: NOW)
    model.add_events([ev(1, ws="ws_a"), ev(2, ws="ws_b", area="graph", kind="answer_trace",
                                            query="who owns launch"), ev(3, ws="ws_b")])
    model.add_gap({"missed": 2, "reason": "retention"})
    assert model.workspaces() == ["ws_a", "ws_b"] and model.areas() == ["graph", "workflow"]
    model.set_filter(ActivityFilter(workspace="ws_b"))
    assert model.rowCount() == 3 and model.total() == 4  # two events and the gap row
    assert [model.index(r, 0).data(SEQ_ROLE) for r in range(3)] == [None, 3, 2]
    model.set_filter(ActivityFilter(workspace="ws_b", area="graph"))
    assert model.rowCount() == 2
    model.set_filter(ActivityFilter(search="  LAUNCH "))
    assert model.filter.search == "launch"
    seqs = [model.index(r, 0).data(EVENT_ROLE) for r in range(model.rowCount())]
    assert [s["seq"] for s in seqs if s] == [2]
    assert model.row_for_seq(2) == 1 and model.row_for_seq(1) is None and model.has_seq(1)
    model.set_filter(ActivityFilter())
    assert model.rowCount() == 4 and model.row_for_seq(1) == 3


def test_filtered_list_follows_live_updates_and_the_bound(qapp):
    model = ActivityModel(capacity=6, now=lambda: NOW)
    model.set_filter(ActivityFilter(workspace="ws_b"))
    inserted, removed = [], []
    model.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    model.rowsRemoved.connect(lambda parent, first, last: removed.append((first, last)))
    model.add_events([ev(i, ws=("ws_a", "ws_b")[i % 2]) for i in range(1, 5)])  # 1..4
    assert inserted == [(0, 1)] and [model.event_at(r)["seq"] for r in range(2)] == [3, 1]
    model.add_events([ev(5, ws="ws_a")])  # nothing shown changes
    assert inserted == [(0, 1)] and model.total() == 5
    model.add_gap({"missed": 1, "reason": "overflow"})
    assert inserted[-1] == (0, 0) and model.index(0, 0).data(KIND_ROLE) == "gap"
    # past the bound the oldest stored rows go, and the shown ones among them
    model.add_events([ev(i, ws=("ws_a", "ws_b")[i % 2]) for i in range(6, 9)])  # 6..8
    # stored 1..5 + gap: 1, 2, 3 go; shown (gap, 3, 1): 3 and 1 go
    assert model.total() == 6 and removed == [(1, 2)]
    assert [model.index(r, 0).data(SEQ_ROLE) for r in range(model.rowCount())] == [7, None]
    model.add_events([ev(9, ws="ws_a")] * 3)  # drops 4, 5 and the gap (shown: 7, gap)
    assert removed[-1] == (1, 1) and model.event_at(0)["seq"] == 7 and model.rowCount() == 1
    model.set_filter(ActivityFilter())
    assert model.rowCount() == model.total() == 6


def test_window_filters_copy_and_select(qtbot):
    model = ActivityModel(now=lambda: NOW)
    window = ActivityWindow(model, AppActions())
    qtbot.addWidget(window)
    model.add_events([ev(i, ws=("ws_a", "ws_b")[i % 2]) for i in range(1, 11)])
    assert window.count_label.text() == "10 events"
    assert [window.workspace_box.itemText(i) for i in range(window.workspace_box.count())] == [
        ALL, "ws_a", "ws_b"]
    assert window.view.model() is model
    window.workspace_box.setCurrentText("ws_a")
    assert model.rowCount() == 5 and window.count_label.text() == "5 of 10 events"
    assert {model.event_at(r)["workspace_id"] for r in range(5)} == {"ws_a"}
    # selecting an event hidden by the filter clears the filter
    assert window.select_seq(3)
    assert window.workspace_box.currentText() == ALL and window.selected_seq() == 3
    window.copy_action.trigger()
    assert json.loads(QGuiApplication.clipboard().text())["seq"] == 3
    model.add_events([ev(11)])  # live update keeps the selection on its event
    assert window.selected_seq() == 3 and model.rowCount() == 11
    assert not window.select_seq(99)


def test_window_filters_keep_the_selected_event_and_follow_live_updates(qtbot):
    model = ActivityModel(now=lambda: NOW)
    window = ActivityWindow(model, AppActions())
    qtbot.addWidget(window)
    model.add_events([ev(i, ws=("ws_a", "ws_b")[i % 2], run=f"run{i}") for i in range(1, 11)])
    assert window.select_seq(4)
    window.workspace_box.setCurrentText("ws_a")  # 4 is in ws_a: still selected
    assert window.selected_seq() == 4 and window.count_label.text() == "5 of 10 events"
    model.add_events([ev(11, ws="ws_b"), ev(12, ws="ws_a", run="run12")])
    assert window.count_label.text() == "6 of 12 events" and window.selected_seq() == 4
    assert model.event_at(0)["seq"] == 12
    window.search.setText("RUN1")  # run1 (ws_b), run10 and run12 (ws_a)
    assert [model.event_at(r)["seq"] for r in range(model.rowCount())] == [12, 10]
    assert window.selected_seq() is None  # 4 is filtered out
    window.copy_action.trigger()  # nothing selected: nothing copied, no error
    window.area_box.setCurrentText("workflow")
    window.workspace_box.setCurrentText(ALL)
    assert [model.event_at(r)["seq"] for r in range(model.rowCount())] == [12, 10, 1]
    window.search.clear()
    window.area_box.setCurrentText(ALL)
    assert not model.filter.active and window.count_label.text() == "12 events"


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


def test_the_delegate_paints_what_the_standard_one_would(qapp):
    model = ActivityModel(now=lambda: NOW)
    model.add_events([ev(1, query="who owns launch")])
    model.add_gap({"missed": 2, "reason": "retention"})
    view = QTableView()
    view.setModel(model)
    fast = ActivityDelegate(model)
    standard = QStyledItemDelegate()
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            ours, theirs = QStyleOptionViewItem(), QStyleOptionViewItem()
            for option in (ours, theirs):
                option.initFrom(view)
            fast.initStyleOption(ours, index)
            standard.initStyleOption(theirs, index)
            assert ours.text == theirs.text == index.data()
            assert ours.features == theirs.features and ours.index == theirs.index
            assert ours.font == theirs.font and ours.font.italic() == (row == 0)
            text = QPalette.ColorRole.Text
            assert ours.palette.brush(text) == theirs.palette.brush(text)
            assert ours.styleObject is None and theirs.styleObject is None
    empty = QStyleOptionViewItem()
    fast.initStyleOption(empty, model.index(7, 0))  # no such row: nothing to show
    assert empty.text == "" and not empty.features & empty.ViewItemFeature.HasDisplay
