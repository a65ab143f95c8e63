"""The Status submenu and the status line editor (pytest-qt, offscreen)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox, QMenu

from lattice_rt_tray.logic.status_machine import AWAY, DND, StatusState
from lattice_rt_tray.views.status_actions import MAX_STATUS_TEXT, StatusActions, StatusLineDialog


def test_the_submenu_offers_automatic_four_statuses_and_the_line(qapp) -> None:
    actions = StatusActions()
    menu = QMenu()
    sub = actions.add_menu(menu)
    assert sub.title() == "Status: Active"
    texts = [a.text() for a in sub.actions() if not a.isSeparator() and a.isVisible()]
    assert texts == ["Active", "Automatic", "Active", "Idle", "Away", "Do not disturb",
                     "Set status line…", "Clear status line"]
    assert actions.choices[""].isChecked() and not actions.clear_text.isEnabled()
    assert actions.group.isExclusive() and all(a.isCheckable() for a in actions.choices.values())


def test_the_submenu_says_which_servers_keep_no_status(qapp) -> None:
    actions = StatusActions()
    menu = QMenu()
    sub = actions.add_menu(menu)
    actions.show_unshared(["Lattice", "Lab"])
    shown = [a for a in sub.actions() if not a.isSeparator() and a.isVisible()]
    assert shown[1].text() == "Not shared with Lattice and Lab: it keeps no status"
    assert not shown[1].isEnabled()
    actions.show_unshared([])
    assert not actions.unshared.isVisible()


def test_choices_become_requests(qtbot) -> None:
    actions = StatusActions()
    asked: list[object] = []
    actions.manual_requested.connect(asked.append)
    actions.choices[DND].trigger()
    actions.choices[""].trigger()
    assert asked == [DND, None]
    with qtbot.waitSignal(actions.text_requested):
        actions.edit_text.trigger()


def test_show_state_ticks_without_requesting(qtbot) -> None:
    actions = StatusActions()
    asked: list[object] = []
    actions.manual_requested.connect(asked.append)
    menu = QMenu()
    sub = actions.add_menu(menu)
    actions.show_state(StatusState(AWAY, "Lunch"), AWAY)
    assert actions.current.text() == "Away · Lunch" and sub.title() == "Status: Away · Lunch"
    assert actions.choices[AWAY].isChecked()
    assert actions.edit_text.text() == "Change status line…" and actions.clear_text.isEnabled()
    with qtbot.waitSignal(actions.text_cleared):
        actions.clear_text.trigger()
    actions.show_state(StatusState(AWAY, None), None)  # away by itself: automatic ticked
    assert actions.choices[""].isChecked() and actions.current.text() == "Away"
    assert asked == []


def test_the_editor_trims_refuses_what_a_server_would_and_empties_to_none(qtbot) -> None:
    dialog = StatusLineDialog("Lunch")
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.edit.maxLength() == MAX_STATUS_TEXT == 100
    dialog.edit.setText("  On the train  ")
    assert dialog.line() == "On the train" and ok.isEnabled()
    dialog.edit.setText("tab\there")  # pasted: a control character
    assert not ok.isEnabled()
    assert dialog.problem.text() == "The status line must not contain control characters."
    dialog.edit.setText("   ")
    assert dialog.line() is None and ok.isEnabled()  # an empty line clears it
    dialog.edit.setText("Back at 3")
    with qtbot.waitSignal(dialog.chosen) as chosen:
        ok.click()
    assert chosen.args == ["Back at 3"]


def test_the_editor_is_wide_enough_for_its_whole_title(qtbot) -> None:
    # seen in a screenshot: the title bar said "Status lin…ltime Tray"
    from PySide6.QtWidgets import QApplication

    before = QApplication.applicationDisplayName()
    QApplication.setApplicationDisplayName("Lattice Realtime Tray")
    try:
        dialog = StatusLineDialog(None)
        qtbot.addWidget(dialog)
        dialog.show()
        title = f"{dialog.windowTitle()} — Lattice Realtime Tray"
        assert dialog.width() >= dialog.fontMetrics().horizontalAdvance(title) + 100
    finally:
        QApplication.setApplicationDisplayName(before)
