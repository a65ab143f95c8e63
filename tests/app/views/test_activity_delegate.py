"""The one-call delegate paints exactly what Qt's standard delegate would."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QTableView

from lattice_rt_tray.views.activity_delegate import ActivityDelegate
from lattice_rt_tray.views.activity_model import ActivityModel
from lattice_rt_tray.views.tones import tone

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def ev(seq, kind="workflow_run", **payload):
    return {"seq": seq, "received_at": "2026-06-01T11:59:58.000+00:00", "area": "workflow",
            "event_type": kind, "workspace_id": "ws_a", "payload": payload, "actor": "ada"}


def test_the_delegate_paints_what_the_standard_one_would(qapp):
    model = ActivityModel(now=lambda: NOW)
    model.add_events([ev(1, query="who owns launch"), ev(2, "workflow_failed", error="x")])
    model.add_gap({"missed": 2, "reason": "retention"})
    model.set_servers({"": "Here", "b": "B"})
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
            failed = row == 1
            assert (ours.palette.brush(text).color().name() == tone("failure")) is failed
            assert ours.styleObject is None and theirs.styleObject is None
    empty = QStyleOptionViewItem()
    fast.initStyleOption(empty, model.index(7, 0))  # no such row: nothing to show
    assert empty.text == "" and not empty.features & empty.ViewItemFeature.HasDisplay
