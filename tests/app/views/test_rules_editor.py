"""Settings' Notifications tab: the rules editor (rows, order, checks), quiet hours, cut-through."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from PySide6.QtCore import Qt, QTime
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QLineEdit

from lattice_rt_tray.logic.quiet_hours import WEEKDAYS, QuietHours
from lattice_rt_tray.logic.rules import Level, Rule
from lattice_rt_tray.logic.settings_values import NotifyPrefs, SettingsValues
from lattice_rt_tray.views.rules_editor import COLUMNS, RulesEditor
from lattice_rt_tray.views.settings_dialog import SettingsDialog

RULES = (Rule(Level.CRITICAL, workspace="ws_ops", type="deploy*"),
         Rule(Level.SILENT, area="graph", type="graph_indexed"),
         Rule(Level.NORMAL, text="prod"))
EVENINGS = QuietHours(WEEKDAYS, time(19, 0), time(8, 0))


def editor(qtbot, rules=RULES) -> RulesEditor:
    widget = RulesEditor()
    qtbot.addWidget(widget)
    widget.load(rules)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def cell(widget: RulesEditor, row: int, title: str) -> str:
    item = widget.table.item(row, COLUMNS.index(title))
    return item.text() if item is not None else ""


def type_into(qtbot, widget: RulesEditor, row: int, title: str, text: str) -> None:
    """Edit a cell as a person does: double-click it, type, press Enter."""
    table = widget.table
    table.setCurrentCell(row, COLUMNS.index(title))
    table.editItem(table.currentItem())
    editors = [w for w in table.viewport().findChildren(QLineEdit) if w.isVisible()]
    assert len(editors) == 1
    qtbot.keyClicks(editors[0], text)
    qtbot.keyClick(editors[0], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() is not QAbstractItemView.State.EditingState)
    assert cell(widget, row, title) == text


def level_box(widget: RulesEditor, row: int) -> QComboBox:
    box = widget.table.cellWidget(row, COLUMNS.index("Level"))
    assert isinstance(box, QComboBox)
    return box


def test_the_rules_are_rows_in_order_and_come_back_unchanged(qtbot):
    widget = editor(qtbot)
    assert widget.table.rowCount() == 3
    assert [cell(widget, 0, t) for t in ("Workspace", "Event type")] == ["ws_ops", "deploy*"]
    assert level_box(widget, 1).currentText() == "Silent"
    assert widget.rules() == RULES and widget.problem() is None
    assert widget.built_in.text() == ("Then, built in: failures → critical · people's status "
                                      "changes → low · anything else → normal")


def test_add_type_choose_a_level_and_tick_failures(qtbot):
    widget = editor(qtbot, ())
    with qtbot.waitSignal(widget.edited, timeout=1000):
        widget.add.click()
    assert widget.problem() == ("Rule 1: it matches every event: give it a server, workspace, "
                                "area, event type or text, or tick Failures only")
    type_into(qtbot, widget, 0, "Server", "Team")
    type_into(qtbot, widget, 0, "Mentions", "prod")
    level_box(widget, 0).setCurrentIndex(level_box(widget, 0).findData("low"))
    widget.table.item(0, COLUMNS.index("Failures only")).setCheckState(Qt.CheckState.Checked)
    assert widget.rules() == (Rule(Level.LOW, server="Team", text="prod", failure=True),)
    assert widget.problem() is None


def test_move_up_down_and_remove(qtbot):
    widget = editor(qtbot)
    widget.table.selectRow(2)
    assert widget.up.isEnabled() and not widget.down.isEnabled()
    widget.up.click()
    assert widget.rules() == (RULES[0], RULES[2], RULES[1])
    assert widget.table.currentRow() == 1  # the moved rule stays chosen
    widget.up.click()
    assert widget.rules() == (RULES[2], RULES[0], RULES[1]) and not widget.up.isEnabled()
    widget.down.click()
    assert widget.rules() == (RULES[0], RULES[2], RULES[1])
    widget.remove.click()
    assert widget.rules() == (RULES[0], RULES[1])


def test_a_row_too_long_is_said_and_kept_through_a_move(qtbot):
    widget = editor(qtbot, RULES[:2])
    widget.table.item(1, COLUMNS.index("Area")).setText("x" * 201)
    assert widget.problem() == "Rule 2: area is longer than 200 characters"
    assert widget.rules() == RULES[:1]
    widget.table.selectRow(1)
    widget.up.click()
    assert cell(widget, 0, "Area") == "x" * 201  # nothing typed is lost
    assert widget.problem() == "Rule 1: area is longer than 200 characters"


def test_the_dialog_keeps_rules_quiet_hours_and_cut_through_and_refuses_a_bad_row(qtbot):
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    values = SettingsValues(notify=NotifyPrefs(rules=RULES, quiet_hours=EVENINGS))
    dialog.load(values, ["rule 4 skipped: unknown level 'urgent' "
                         "(one of critical, normal, low, silent)"])
    dialog.tabs.setCurrentIndex(2)
    dialog.show()
    qtbot.waitExposed(dialog)
    page = dialog.notify
    assert page.rules.problems.isVisible()
    assert page.rules.problems.text() == ("Rule 4 skipped: unknown level 'urgent' (one of "
                                          "critical, normal, low, silent) (it stays in the "
                                          "file as it is).")
    assert page.through.isChecked() and page.quiet.isChecked()
    assert [box.isChecked() for box in page.days] == [True] * 5 + [False] * 2
    assert dialog.values() == values  # pressing OK changes nothing
    page.days[5].setChecked(True)
    page.end.setTime(QTime(7, 30))
    page.through.setChecked(False)
    notify = dialog.values().notify
    assert notify.quiet_hours == QuietHours(frozenset(range(6)), time(19, 0), time(7, 30))
    assert not notify.critical_through
    page.quiet.setChecked(False)
    assert dialog.values().notify == replace(values.notify, quiet_hours=None,
                                             critical_through=False)
    page.rules.add.click()
    with qtbot.assertNotEmitted(dialog.apply_requested):
        dialog.on_accept()
    assert dialog.error.text().startswith("Rule 4: it matches every event")
    page.rules.remove.click()
    page.quiet.setChecked(True)
    page.end.setTime(QTime(19, 0))
    with qtbot.assertNotEmitted(dialog.apply_requested):
        dialog.on_accept()
    assert dialog.error.text() == "Quiet hours: they start and end at the same time"
