"""The Settings dialog alone: the connection list and form, sizes, the token, intents."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from lattice_rt_core.net.api import ClientState
from lattice_rt_tray.logic.link_status import LinkStatus
from lattice_rt_tray.logic.settings_values import (
    LOCAL_KEY,
    ConnectionSettings,
    SettingsValues,
    local_connection,
)
from lattice_rt_tray.views.settings_dialog import SettingsDialog

TEAM = ConnectionSettings("t1", "Team", url="https://team.example.lan:8765", token="s3cret",
                          workspaces=("ws_marketing", "ws_sales", "ws_research"))
VALUES = SettingsValues(connections=(local_connection(), TEAM), display_name="Ada",
                        workspaces=("ws_marketing", "ws_research"))


def shown(qtbot) -> SettingsDialog:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.load(VALUES)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def items(dialog: SettingsDialog) -> list[tuple[str, bool]]:
    return [(dialog.list.item(row).text(), dialog.list.item(row).checkState()
             == Qt.CheckState.Checked) for row in range(dialog.list.count())]


def fits(edit: QLineEdit) -> bool:
    """The whole text (or the placeholder) is visible: nothing cut off at the end."""
    text = edit.text() or edit.placeholderText()
    room = edit.contentsRect().width() - 8  # the frame's inner margins
    return edit.fontMetrics().horizontalAdvance(text) <= room


def test_the_list_shows_every_connection_and_the_form_the_selected_one(qtbot):
    dialog = shown(qtbot)
    assert items(dialog) == [("○ This computer", True), ("○ Team", True)]
    form = dialog.form
    assert form.key == LOCAL_KEY and form.port.isVisible() and not form.url.isVisible()
    assert not dialog.remove.isEnabled()  # the embedded endpoint can be off, not removed
    dialog.list.setCurrentRow(1)
    assert form.key == TEAM.key and form.url.text() == TEAM.url and not form.port.isVisible()
    assert form.token.echoMode() is QLineEdit.EchoMode.Password and dialog.remove.isEnabled()
    assert form.workspaces.text() == "ws_marketing, ws_sales, ws_research"
    assert form.display_name.placeholderText() == "as in General: Ada"


def test_nothing_is_cut_off(qtbot):
    dialog = shown(qtbot)
    dialog.list.setCurrentRow(1)
    form = dialog.form
    for edit in (form.url, form.workspaces, form.display_name, form.ca_file,
                 dialog.workspaces, dialog.muted_workspaces):
        assert fits(edit), (edit.text() or edit.placeholderText())
    dialog.tabs.setCurrentIndex(1)
    assert fits(dialog.workspaces) and fits(dialog.display_name)


def test_the_token_can_be_shown_and_hidden(qtbot):
    dialog = shown(qtbot)
    dialog.list.setCurrentRow(1)
    form = dialog.form
    qtbot.mouseClick(form.show_token, Qt.MouseButton.LeftButton)
    assert form.token.echoMode() is QLineEdit.EchoMode.Normal and form.show_token.text() == "Hide"
    qtbot.mouseClick(form.show_token, Qt.MouseButton.LeftButton)
    assert form.token.echoMode() is QLineEdit.EchoMode.Password
    dialog.list.setCurrentRow(0)
    dialog.list.setCurrentRow(1)  # hidden again for the next one shown
    assert form.token.echoMode() is QLineEdit.EchoMode.Password


def test_the_keyring_notice_says_where_the_token_is_kept(qtbot):
    dialog = shown(qtbot)
    dialog.list.setCurrentRow(1)
    dialog.set_keyring(True)
    assert dialog.form.keyring.text() == "Kept in the system keyring."
    dialog.set_keyring(False)
    assert dialog.form.keyring.text() == (
        "No system keyring was found: the token is kept in the settings file, readable by you "
        "only.")


def test_add_edit_switch_off_and_remove(qtbot):
    dialog = shown(qtbot)
    dialog.add.click()
    form = dialog.form
    assert items(dialog)[-1] == ("○ Server 1", True) and form.name.text() == "Server 1"
    qtbot.keyClicks(form.url, "ftp://nope")
    with qtbot.assertNotEmitted(dialog.apply_requested):
        dialog.buttons.accepted.emit()
    assert "Server 1: server URL must start with http:// or https://" in dialog.error.text()
    form.url.clear()
    qtbot.keyClicks(form.url, "http://other:8765")
    form.name.clear()
    qtbot.keyClicks(form.name, "Other")
    assert items(dialog)[-1] == ("○ Other", True)
    dialog.list.item(1).setCheckState(Qt.CheckState.Unchecked)  # Team off, from the list
    dialog.list.setCurrentRow(1)
    assert not form.enabled.isChecked()
    with qtbot.waitSignal(dialog.apply_requested, timeout=1000) as applied:
        dialog.buttons.accepted.emit()
    values = applied.args[0]
    assert [(c.name, c.enabled) for c in values.connections] == [
        ("This computer", True), ("Team", False), ("Other", True)]
    assert values.connection(TEAM.key).token == "s3cret"  # tokens travel to the controller
    dialog.load(VALUES)
    dialog.list.setCurrentRow(1)
    dialog.remove.click()
    assert items(dialog) == [("○ This computer", True)]


def test_test_connection_asks_the_controller_and_shows_its_sentence(qtbot):
    dialog = shown(qtbot)
    dialog.list.setCurrentRow(1)
    with qtbot.waitSignal(dialog.test_requested, timeout=1000) as asked:
        dialog.form.test.click()
    values, key = asked.args
    assert key == TEAM.key and values.connection(key).url == TEAM.url
    assert dialog.form.result.text() == "Testing…"
    dialog.show_test_result(TEAM.key, "Connected to Team as ada; member of ws_marketing.", True)
    assert dialog.form.result.text() == "Connected to Team as ada; member of ws_marketing."
    dialog.form.url.clear()  # an edit makes the answer stale
    qtbot.keyClicks(dialog.form.url, "nonsense")
    assert dialog.form.result.text() == ""
    with qtbot.assertNotEmitted(dialog.test_requested):
        dialog.form.test.click()  # not even a URL: said at once, nothing asked
    assert dialog.form.result.text().startswith("Team: server URL must start with")


def test_the_state_of_each_connection_is_shown(qtbot):
    dialog = shown(qtbot)
    refused = "the token was refused by https://team.example.lan:8765 (HTTP 401)"
    dialog.set_statuses([
        LinkStatus(LOCAL_KEY, "This computer", "http://127.0.0.1:8765", True,
                   ClientState.CONNECTED, "connected"),
        LinkStatus(TEAM.key, "Team", TEAM.url, True, ClientState.RECONNECTING, "…", refused),
    ])
    assert items(dialog) == [("● This computer", True), ("⚠ Team", True)]
    assert dialog.form.status.text() == "connected"
    dialog.list.setCurrentRow(1)
    assert dialog.form.status.text() == refused
    assert dialog.list.item(1).toolTip() == f"Team: {refused}"


def test_idle_and_away_minutes_and_the_status_switch(qtbot):
    dialog = shown(qtbot)
    assert (dialog.idle_minutes.value(), dialog.away_minutes.value()) == (5, 15)
    assert not dialog.notify_status.isChecked()
    assert dialog.values() == VALUES  # pressing OK changes nothing
    dialog.idle_minutes.setValue(10)
    dialog.notify_status.setChecked(True)
    values = dialog.values()
    assert (values.idle_after, values.away_after, values.notify.status) == (600.0, 900.0, True)
    dialog.away_minutes.setValue(10)
    with qtbot.assertNotEmitted(dialog.apply_requested):
        dialog.on_accept()
    assert dialog.error.text() == "the idle time must be shorter than the away time"


def test_a_time_in_seconds_is_kept_unless_its_box_is_changed(qtbot):
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.load(replace(VALUES, idle_after=90.0))  # set in the file by hand
    assert dialog.idle_minutes.value() == 2 and dialog.values().idle_after == 90.0


def test_a_lattice_ai_server_on_this_computer_is_offered_once(qtbot):
    dialog = shown(qtbot)
    assert not dialog.follow_lattice.isVisible()
    dialog.offer_lattice_ai("http://127.0.0.1:4825")
    assert dialog.follow_lattice.isVisible()
    assert dialog.follow_lattice.text() == "Follow Lattice AI on this computer"
    dialog.follow_lattice.click()
    assert items(dialog)[-1] == ("○ Lattice AI", True)
    assert dialog.form.url.text() == "http://127.0.0.1:4825" and dialog.form.email.isVisible()
    assert not dialog.follow_lattice.isVisible()
    dialog.offer_lattice_ai("http://127.0.0.1:4825")  # followed now: not offered again
    assert not dialog.follow_lattice.isVisible()


def test_sign_in_asks_with_the_email_and_password_and_the_session_becomes_the_token(qtbot):
    dialog = shown(qtbot)
    dialog.list.setCurrentRow(1)
    form = dialog.form
    with qtbot.assertNotEmitted(dialog.sign_in_requested):
        form.sign_in.click()  # nothing to sign in with: said at once
    assert form.result.text() == "Enter the email and the password of your account to sign in."
    qtbot.keyClicks(form.email, "ada@example.org")
    qtbot.keyClicks(form.password, "pw123456")
    with qtbot.waitSignal(dialog.sign_in_requested, timeout=1000) as asked:
        form.sign_in.click()
    values, key, email, password = asked.args
    assert (key, email, password) == (TEAM.key, "ada@example.org", "pw123456")
    dialog.show_signed_in(TEAM.key, "session-token", "Signed in to Team as ada@example.org.")
    assert form.token.text() == "session-token" and form.password.text() == ""
    assert dialog.values().connection(TEAM.key).token == "session-token"


def test_ok_asks_before_keeping_what_test_connection_just_refused(qtbot):
    # seen in a trial: OK kept a token that Test connection had just refused, unasked
    dialog = shown(qtbot)
    asked: list[str] = []
    answer = [False]
    dialog.confirm = lambda text: (asked.append(text), answer[0])[1]
    dialog.list.setCurrentRow(1)
    with qtbot.waitSignal(dialog.test_requested, timeout=1000):
        dialog.form.test.click()
    dialog.show_test_result(TEAM.key, "https://team.example.lan:8765 answers, but the token "
                                      "was refused.", False)
    with qtbot.assertNotEmitted(dialog.apply_requested):
        dialog.on_accept()  # "Cancel": nothing applied, the dialog stays
    assert asked == ["Team: https://team.example.lan:8765 answers, but the token was refused."]
    answer[0] = True
    with qtbot.waitSignal(dialog.apply_requested, timeout=1000):
        dialog.on_accept()  # "Save": kept on purpose
    assert len(asked) == 2


def test_ok_does_not_ask_once_the_refused_connection_was_changed(qtbot):
    dialog = shown(qtbot)
    dialog.confirm = lambda text: pytest.fail(f"asked: {text}")
    dialog.list.setCurrentRow(1)
    with qtbot.waitSignal(dialog.test_requested, timeout=1000):
        dialog.form.test.click()
    dialog.show_test_result(TEAM.key, "the token was refused", False)
    dialog.form.token.clear()
    qtbot.keyClicks(dialog.form.token, "a-new-token")  # what the test refused is gone
    with qtbot.waitSignal(dialog.apply_requested, timeout=1000):
        dialog.on_accept()
