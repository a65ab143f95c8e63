"""The activity model: one newest-first list of every server's events, bounded and filtered."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush

from lattice_rt_core.protocol.people import NO_WORKSPACE
from lattice_rt_tray.views.activity_model import (
    ACTOR_COLUMN,
    EVENT_COLUMN,
    EVENT_ROLE,
    FAILURE_MARK,
    KIND_ROLE,
    SEQ_ROLE,
    SERVER_COLUMN,
    SERVER_ROLE,
    SUMMARY_COLUMN,
    ActivityFilter,
    ActivityModel,
    time_key,
)
from lattice_rt_tray.views.tones import tone

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def ev(seq, ws="ws_a", area="workflow", kind="workflow_run", at="11:59:58.000", **payload):
    return {"seq": seq, "received_at": f"2026-06-01T{at}+00:00", "area": area,
            "event_type": kind, "workspace_id": ws, "payload": payload or {"workflow_id": "wf"}}


def texts(model, row):
    return [model.index(row, c).data() for c in range(model.columnCount())]


def shown(model):
    """(server, seq or the gap) of every shown row, newest first."""
    return [(model.server_at(r), (model.event_at(r) or {"seq": "gap"})["seq"])
            for r in range(model.rowCount())]


def record(model):
    inserted, removed = [], []
    model.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    model.rowsRemoved.connect(lambda parent, first, last: removed.append((first, last)))
    return inserted, removed


def test_newest_first_and_bounded(qapp):
    model = ActivityModel(capacity=5, now=lambda: NOW)
    model.add_events([ev(1), ev(2)])
    assert texts(model, 0) == ["just now", "", "ws_a", "workflow", "Workflow run", "", "wf"]
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
    assert model.index(1, SUMMARY_COLUMN).data() == (
        "⚠ 37 events missed (#2–#38): this app fell behind the stream"
    )
    assert model.event_at(1) is None and model.event_json(1) is None
    assert json.loads(model.event_json(0))["seq"] == 39
    assert model.row_for_event("", 1) == 2 and model.row_for_event("", 99) is None
    assert model.row_for_event("other", 1) is None
    model.add_gap({"missed": 1, "reason": "retention"})
    assert model.index(0, SUMMARY_COLUMN).data() == (
        "⚠ 1 event missed: they are older than the server keeps")


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
    assert model.row_for_event("", 2) == 1 and model.row_for_event("", 1) is None
    assert model.has_event("", 1) and not model.has_event("x", 1)
    model.set_filter(ActivityFilter())
    assert model.rowCount() == 4 and model.row_for_event("", 1) == 3


def test_filtered_list_follows_live_updates_and_the_bound(qapp):
    model = ActivityModel(capacity=6, now=lambda: NOW)
    model.set_filter(ActivityFilter(workspace="ws_b"))
    inserted, removed = record(model)
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
    model.add_events([ev(i, ws="ws_a") for i in (9, 10, 11)])  # drops 4, 5 and the gap
    assert removed[-1] == (1, 1) and model.event_at(0)["seq"] == 7 and model.rowCount() == 1
    model.set_filter(ActivityFilter())
    assert model.rowCount() == model.total() == 6




# ----------------------------------------------------------- several servers
def test_two_servers_merge_newest_first_by_the_servers_time(qapp):
    model = ActivityModel(now=lambda: NOW)
    model.set_servers({"local": "This computer", "team": "Team"})
    model.add_events([ev(1, at="10:00:00.000"), ev(2, at="10:02:00.000"),
                      ev(3, at="10:04:00.000")], server="local")
    inserted, removed = record(model)
    anchor = QPersistentModelIndex(model.index(0, 0))  # local #3, say it is selected
    # a catch-up of the team server, older than what is shown: each run lands in its place
    model.add_events([ev(7, at="09:59:00.000"), ev(8, at="10:01:00.000"),
                      ev(9, at="10:01:30.000"), ev(10, at="10:05:00.000")], server="team")
    assert shown(model) == [("team", 10), ("local", 3), ("local", 2), ("team", 9),
                            ("team", 8), ("local", 1), ("team", 7)]
    assert inserted == [(0, 0), (3, 4), (6, 6)] and removed == []  # newest run first
    assert anchor.row() == 1  # views keep what they point at
    assert model.index(0, SERVER_COLUMN).data() == "Team"
    assert model.index(0, 0).data(SERVER_ROLE) == "team"
    # live events of either server are newer than everything: one insert at the top
    inserted.clear()
    model.add_events([ev(4, at="10:06:00.000"), ev(5, at="10:07:00.000")], server="local")
    assert inserted == [(0, 1)]
    assert model.row_for_event("team", 8) == 6 and model.row_for_event("local", 8) is None


def test_a_gap_or_a_timeless_event_goes_after_its_servers_last_event(qapp):
    model = ActivityModel(now=lambda: NOW)
    model.add_events([ev(1, at="10:00:00.000")], server="b")
    model.add_events([ev(1, at="10:05:00.000")], server="a")
    model.add_gap({"missed": 3, "reason": "overflow"}, server="b")
    no_time = {**ev(2), "received_at": None}
    model.add_events([no_time], server="b")
    assert shown(model) == [("a", 1), ("b", 2), ("b", "gap"), ("b", 1)]
    model.add_gap({"missed": 1, "reason": "retention"}, server="new")  # nothing from it yet
    assert shown(model)[0] == ("new", "gap")
    model.set_filter(ActivityFilter(server="b"))  # a server filter hides other servers' gaps
    assert shown(model) == [("b", 2), ("b", "gap"), ("b", 1)]


def test_times_in_any_offset_sort_as_times(qapp):
    assert time_key("2026-06-01T13:00:00+02:00") == "2026-06-01T11:00:00.000+00:00"
    assert time_key("2026-06-01T11:00:00Z") == "2026-06-01T11:00:00.000+00:00"
    assert time_key("2026-06-01T11:00:00.123+00:00") == "2026-06-01T11:00:00.123+00:00"
    assert time_key("yesterday") is None and time_key(None) is None
    model = ActivityModel(now=lambda: NOW)
    model.add_events([{**ev(1), "received_at": "2026-06-01T13:30:00+02:00"}], server="b")
    model.add_events([ev(1, at="11:00:00.000")], server="a")  # older than b's 11:30 UTC
    assert shown(model) == [("b", 1), ("a", 1)]


def test_a_batch_out_of_order_is_sorted_by_time(qapp):
    model = ActivityModel(now=lambda: NOW)
    model.add_events([ev(1, at="10:03:00.000"), ev(2, at="10:01:00.000"),
                      ev(3, at="10:02:00.000")], server="a")
    assert [model.event_at(r)["seq"] for r in range(3)] == [1, 3, 2]


def test_a_catch_up_into_a_filtered_and_full_list(qapp):
    model = ActivityModel(capacity=5, now=lambda: NOW)
    model.add_events([ev(i, ws=("ws_a", "ws_b")[i % 2], at=f"10:0{i}:00.000")
                      for i in range(1, 6)], server="a")  # 1..5, full
    model.set_filter(ActivityFilter(workspace="ws_a"))  # shows a2, a4
    inserted, removed = record(model)
    model.add_events([ev(1, ws="ws_a", at="10:02:30.000"), ev(2, ws="ws_b", at="10:03:30.000"),
                      ev(3, ws="ws_a", at="10:00:30.000")], server="b")
    # stored (oldest first): b3 a1 a2 b1 a3 b2 a4 a5 -> the 3 oldest go: b3, a1, a2
    assert model.total() == 5
    assert shown(model) == [("a", 4), ("b", 1)]
    assert inserted == [(1, 1), (3, 3)] and removed == [(2, 3)]
    model.set_filter(ActivityFilter())
    assert shown(model) == [("a", 5), ("a", 4), ("b", 2), ("a", 3), ("b", 1)]


def test_drop_server_forgets_its_rows_and_facets(qtbot):
    model = ActivityModel(now=lambda: NOW)
    model.set_servers({"a": "A", "b": "B"})
    model.add_events([ev(1, ws="ws_a")], server="a")
    model.add_events([ev(1, ws="ws_b", at="11:59:59.000")], server="b")
    model.add_gap({"missed": 2, "reason": "overflow"}, server="b")
    with qtbot.waitSignal(model.facets_changed, timeout=1000):
        model.drop_server("b")
    assert shown(model) == [("a", 1)] and model.workspaces() == ["ws_a"]
    with qtbot.assertNotEmitted(model.facets_changed), qtbot.assertNotEmitted(model.modelReset):
        model.drop_server("nothing here")
    model.set_servers({"a": "A"})
    model.add_events([ev(2, at="10:00:00.000")], server="b")  # b starts afresh
    assert shown(model) == [("a", 1), ("b", 2)]


def test_the_server_column_and_filter(qtbot):
    model = ActivityModel(now=lambda: NOW)
    model.add_events([ev(1, ws="ws_a")], server="local")
    model.add_events([ev(2, ws="ws_a")], server="team")
    model.set_filter(ActivityFilter(search="team"))
    assert model.rowCount() == 0  # one server's name is not part of the search
    model.set_servers({"local": "This computer", "team": "Team server"})
    assert shown(model) == [("team", 2)]  # with several, the server column is searched too
    model.set_filter(ActivityFilter(server="local"))
    assert shown(model) == [("local", 1)] and model.filter.active
    with qtbot.waitSignal(model.servers_changed, timeout=1000):
        model.set_servers({"team": "Team server"})  # the filtered server went: filter dropped
    assert model.filter == ActivityFilter() and model.rowCount() == 2
    assert model.servers() == {"team": "Team server"}
    with qtbot.assertNotEmitted(model.servers_changed):
        model.set_servers({"team": "Team server"})
    assert model.server_name("team") == "Team server" and model.server_name("x") == "x"


def test_failures_stand_out_by_colour_and_marker(qapp):
    model = ActivityModel(now=lambda: NOW)
    failed = ev(2, kind="workflow_failed", run_id="r9", status="failed",
                error="step 3 timed out")
    model.add_events([ev(1, status="ok"), failed, ev(3, kind="agent_run", error="boom")])
    title = model.index(1, EVENT_COLUMN)
    assert title.data() == f"{FAILURE_MARK} Workflow failed"
    assert title.data(Qt.ItemDataRole.ToolTipRole) == "Failed"
    brush = model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole)
    assert isinstance(brush, QBrush) and brush.color().name() == tone("failure")
    assert model.index(1, SUMMARY_COLUMN).data() == "r9 · failed · step 3 timed out"
    assert model.index(0, EVENT_COLUMN).data().startswith(FAILURE_MARK)  # an error payload
    ok = model.index(2, EVENT_COLUMN)
    assert ok.data() == "Workflow run" and ok.data(Qt.ItemDataRole.ForegroundRole) is None
    assert ok.data(Qt.ItemDataRole.ToolTipRole) is None
    model.set_filter(ActivityFilter(search=FAILURE_MARK))  # the marker can be searched
    assert [model.event_at(r)["seq"] for r in range(model.rowCount())] == [3, 2]


def test_actor_and_workspace_columns(qapp):
    model = ActivityModel(now=lambda: NOW)
    model.add_events([{**ev(1, ws=None), "actor": "grace"}, ev(2)])
    assert model.index(1, ACTOR_COLUMN).data() == "grace"
    assert model.index(1, 2).data() == NO_WORKSPACE
    assert model.index(0, ACTOR_COLUMN).data() == ""
    assert json.loads(model.event_json(1))["actor"] == "grace"
    assert model.index(1, 0).data(EVENT_ROLE)["actor"] == "grace"
    assert model.index(1, 0).data(SEQ_ROLE) == 1 and model.index(1, 0).data(KIND_ROLE) == "event"


def test_qt_finds_every_change_consistent(qtmodeltester):
    """Qt's own model tester watches merges, trims, filters and drops as they happen."""
    model = ActivityModel(capacity=6, now=lambda: NOW)
    qtmodeltester.check(model)
    model.set_servers({"a": "A", "b": "B"})
    model.add_events([ev(i, at=f"10:0{i}:00.000") for i in range(1, 5)], server="a")
    model.add_events([ev(1, at="10:00:30.000"), ev(2, at="10:02:30.000")], server="b")
    model.add_gap({"missed": 1, "reason": "overflow"}, server="b")
    model.set_filter(ActivityFilter(server="b"))
    model.add_events([ev(3, at="10:01:30.000"), ev(4, at="10:09:00.000")], server="b")
    model.set_filter(ActivityFilter(search="wf"))
    model.add_events([ev(5, at="10:05:00.000")], server="a")
    model.drop_server("a")
    model.set_servers({"b": "B"})
    model.clear()
    assert model.rowCount() == 0


def test_an_event_that_comes_again_is_stored_once(qapp):
    # the stream's tail and a page of history hold the same events; a server's seq
    # is unique only for that server, and only with its time once its history restarted
    model = ActivityModel(capacity=6, now=lambda: NOW)
    model.set_servers({"local": "This computer", "team": "Team"})
    model.add_events([ev(4, at="10:04:00.000"), ev(5, at="10:05:00.000")], server="local")
    model.add_history([ev(5, at="10:05:00.000"), ev(4, at="10:04:00.000"),
                       ev(3, at="10:03:00.000"), ev(2, at="10:02:00.000")], server="local")
    assert shown(model) == [("local", 5), ("local", 4), ("local", 3), ("local", 2)]
    model.add_events([ev(5, at="10:05:00.000"), ev(5, at="10:05:00.000")], server="local")
    model.add_events([ev(5, at="10:05:00.000")], server="team")  # another server's #5
    model.add_events([ev(2, at="10:06:00.000")], server="local")  # #2 again, after a restart
    assert shown(model) == [("local", 2), ("team", 5), ("local", 5), ("local", 4),
                            ("local", 3), ("local", 2)]
    # a forgotten row (past the bound) may come back: it is not remembered as stored
    model.add_events([ev(9, at="10:09:00.000")], server="team")
    assert shown(model) == [("team", 9), ("local", 2), ("team", 5), ("local", 5),
                            ("local", 4), ("local", 3)]
    model.add_history([ev(2, at="10:02:00.000")], server="local")
    assert model.total() == 6 and shown(model)[-1] == ("local", 3)  # older than all: gone
    model.drop_server("team")
    model.add_events([ev(5, at="10:05:00.000")], server="team")
    assert ("team", 5) in shown(model)
    model.clear()
    model.add_events([ev(4, at="10:04:00.000")], server="local")
    assert shown(model) == [("local", 4)]
