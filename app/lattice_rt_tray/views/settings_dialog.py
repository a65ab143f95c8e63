"""The Settings dialog: the connections (a list and a detail form), the general settings
and the notifications (:class:`~lattice_rt_tray.views.notify_page.NotifyPage`: quiet
hours and the rules).

It edits a :class:`~lattice_rt_tray.logic.settings_values.SettingsValues` and
emits intents: apply these values, test this connection. It never calls the
network; the controller answers a test with :meth:`SettingsDialog.show_test_result`
and keeps the connections' states shown with :meth:`SettingsDialog.set_statuses`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lattice_rt_tray.logic.identity import PRODUCT
from lattice_rt_tray.logic.link_status import ERROR, OK, LinkStatus
from lattice_rt_tray.logic.settings_values import (
    ConnectionSettings,
    SettingsValues,
    new_connection_key,
    parse_list,
)
from lattice_rt_tray.views.connection_form import FIELD_CHARS, ConnectionForm
from lattice_rt_tray.views.notify_page import NotifyPage
from lattice_rt_tray.views.tones import tone

__all__ = ["SettingsDialog"]

_MARKS = {OK: "●", ERROR: "⚠"}
MINUTES_A_DAY = 24 * 60


class SettingsDialog(QDialog):
    """Signals:
    apply_requested(object): the user pressed OK with valid SettingsValues (with tokens).
    test_requested(object, str): test connection ``key`` as it is in these SettingsValues.
    sign_in_requested(object, str, str, str): sign in to connection ``key`` (as in these
        SettingsValues) with an email and a password.
    """

    apply_requested = Signal(object)
    test_requested = Signal(object, str)
    sign_in_requested = Signal(object, str, str, str)  # values, key, email, password

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings-dialog")
        self.setWindowTitle(f"{PRODUCT} — Settings")
        self._values = SettingsValues()
        self._statuses: dict[str, LinkStatus] = {}
        self._results: dict[str, tuple[str, bool]] = {}
        self._tested: dict[str, tuple[str, str]] = {}  # key -> (url, token) a test was of
        #: asks whether to keep settings a test just refused (a question box; tests replace it)
        self.confirm: Callable[[str], bool] = self._ask
        self._keyring: bool | None = None
        width = self.fontMetrics().horizontalAdvance("x" * FIELD_CHARS)

        # --- connections: the list and the form of the selected one
        self.list = QListWidget()
        self.list.setObjectName("connection-list")
        self.list.setMinimumWidth(self.fontMetrics().horizontalAdvance("x" * 24))
        self.list.currentRowChanged.connect(self.on_selected)
        self.list.itemChanged.connect(self.on_item_changed)
        #: shown when a Lattice AI server answers on this computer and is not followed
        self.follow_lattice = QPushButton("")
        self.follow_lattice.setObjectName("follow-lattice")
        self.follow_lattice.setVisible(False)
        self.follow_lattice.clicked.connect(self.on_follow_lattice)
        self._lattice_url: str | None = None
        self.add = QPushButton("Add server")
        self.add.clicked.connect(self.on_add)
        self.remove = QPushButton("Remove")
        self.remove.clicked.connect(self.on_remove)
        side = QVBoxLayout()
        side.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add)
        buttons.addWidget(self.remove)
        side.addLayout(buttons)
        side.addWidget(self.follow_lattice)
        self.form = ConnectionForm()
        self.form.edited.connect(self.on_form_edited)
        self.form.test_requested.connect(self.on_test)
        self.form.sign_in_requested.connect(self.on_sign_in)
        connections = QWidget()
        row = QHBoxLayout(connections)
        row.addLayout(side)
        row.addWidget(self.form, 1)

        # --- general: presence defaults, start at login
        self.display_name = QLineEdit()
        self.workspaces = QLineEdit()
        self.workspaces.setPlaceholderText("ws_marketing, ws_sales (empty: no workspace)")
        for edit in (self.display_name, self.workspaces):
            edit.setMinimumWidth(width)
            edit.textEdited.connect(self.on_defaults_edited)
        presence = QGroupBox("Presence (every connection, unless it says otherwise)")
        presence_form = QFormLayout(presence)
        presence_form.addRow("Your name", self.display_name)
        presence_form.addRow("Workspaces", self.workspaces)
        self.idle_minutes = _minutes("idle-minutes")
        self.away_minutes = _minutes("away-minutes")
        presence_form.addRow("Idle after, without input", self.idle_minutes)
        presence_form.addRow("Away after, without input", self.away_minutes)
        self.autostart = QCheckBox("Start at login")
        general = QWidget()
        general_layout = QVBoxLayout(general)
        for widget in (presence, self.autostart):
            general_layout.addWidget(widget)
        general_layout.addStretch(1)

        # --- notifications: what, quiet hours, the rules
        self.notify = NotifyPage(width)
        self.notify_enabled = self.notify.enabled
        self.notify_presence = self.notify.presence
        self.notify_status = self.notify.status
        self.muted_workspaces = self.notify.muted_workspaces
        self.muted_areas = self.notify.muted_areas

        self.tabs = QTabWidget()
        self.tabs.addTab(connections, "Connections")
        self.tabs.addTab(general, "General")
        self.tabs.addTab(self.notify, "Notifications")
        self.error = QLabel("")
        self.error.setObjectName("settings-error")
        self.error.setStyleSheet(f"color: {tone('failure', self.palette())};")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.on_accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    # ------------------------------------------------------------- loading
    def load(self, values: SettingsValues, notify_problems: Sequence[str] = ()) -> None:
        """Show ``values`` (with the tokens filled in); ``notify_problems``: why rules of
        the settings file were skipped."""
        self._values = values
        self._results.clear()
        self.display_name.setText(values.display_name)
        self.workspaces.setText(", ".join(values.workspaces))
        self.notify.load(values.notify, notify_problems)
        self.idle_minutes.setValue(round(values.idle_after / 60))
        self.away_minutes.setValue(round(values.away_after / 60))
        self.autostart.setChecked(values.autostart)
        self.error.clear()
        self._fill_list(values.connections[0].key)

    def select(self, key: str) -> None:
        """Show connection ``key``'s form (a notice asked to sign in to it)."""
        keys = [c.key for c in self._values.connections]
        if key in keys:
            self.list.setCurrentRow(keys.index(key))

    def _fill_list(self, selected: str) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for connection in self._values.connections:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, connection.key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            self.list.addItem(item)
            self._describe(item, connection)
        self.list.blockSignals(False)
        keys = [c.key for c in self._values.connections]
        self.list.setCurrentRow(keys.index(selected) if selected in keys else 0)
        self.on_selected(self.list.currentRow())

    def _describe(self, item: QListWidgetItem, connection: ConnectionSettings) -> None:
        status = self._statuses.get(connection.key)
        mark = _MARKS.get(status.level, "○") if status and connection.enabled else "○"
        item.setText(f"{mark} {connection.name or 'unnamed'}")
        item.setCheckState(Qt.CheckState.Checked if connection.enabled
                           else Qt.CheckState.Unchecked)
        item.setToolTip(status.line() if status else connection.address)

    def set_statuses(self, statuses: Sequence[LinkStatus]) -> None:
        """How each connection is doing (the list's marks, the form's state line)."""
        self._statuses = {s.key: s for s in statuses}
        self.list.blockSignals(True)
        for row, connection in enumerate(self._values.connections):
            item = self.list.item(row)
            if item is not None:
                self._describe(item, connection)
        self.list.blockSignals(False)
        self.form.set_status(self._statuses.get(self.form.key))

    def set_keyring(self, available: bool | None) -> None:
        self._keyring = available
        self.form.set_keyring(available)

    # ---------------------------------------------------------- selection
    def _defaults(self) -> tuple[str, tuple[str, ...]]:
        return self.display_name.text().strip(), parse_list(self.workspaces.text())

    @Slot(int)
    def on_selected(self, row: int) -> None:
        if not 0 <= row < len(self._values.connections):
            return
        connection = self._values.connections[row]
        self.form.load(connection, self._defaults())
        self.form.set_status(self._statuses.get(connection.key))
        self.form.set_keyring(self._keyring)
        result = self._results.get(connection.key)
        if result is not None:
            self.form.show_result(*result)
        self.remove.setEnabled(not connection.embedded)

    def _replace(self, connection: ConnectionSettings) -> None:
        self._values = replace(self._values, connections=tuple(
            connection if c.key == connection.key else c for c in self._values.connections
        ))

    @Slot()
    def on_form_edited(self) -> None:
        connection = self.form.settings()
        self._replace(connection)
        self._results.pop(connection.key, None)
        item = self.list.currentItem()
        if item is not None:
            self.list.blockSignals(True)
            self._describe(item, connection)
            self.list.blockSignals(False)

    @Slot(QListWidgetItem)
    def on_item_changed(self, item: QListWidgetItem) -> None:
        key = item.data(Qt.ItemDataRole.UserRole)
        connection = self._values.connection(str(key))
        if connection is None:
            return
        enabled = item.checkState() == Qt.CheckState.Checked
        if enabled != connection.enabled:
            self._replace(replace(connection, enabled=enabled))
            if self.form.key == connection.key:
                self.form.enabled.setChecked(enabled)

    @Slot()
    def on_defaults_edited(self) -> None:
        self.form.set_defaults(self._defaults())

    @Slot()
    def on_add(self) -> None:
        taken = {c.key for c in self._values.connections}
        names = {c.name for c in self._values.connections}
        name = next(f"Server {n}" for n in range(1, len(names) + 2) if f"Server {n}" not in names)
        connection = ConnectionSettings(new_connection_key(taken), name)
        self._values = replace(self._values, connections=(*self._values.connections, connection))
        self._fill_list(connection.key)
        self.form.url.setFocus()

    def offer_lattice_ai(self, url: str | None) -> None:
        """A Lattice AI server answers at ``url`` on this computer (None: none does)."""
        followed = {c.url.rstrip("/") for c in self._values.connections}
        self._lattice_url = url if url is not None and url not in followed else None
        if self._lattice_url is not None:
            self.follow_lattice.setText("Follow Lattice AI on this computer")
            self.follow_lattice.setToolTip(f"A Lattice AI server answers at {url}")
        self.follow_lattice.setVisible(self._lattice_url is not None)

    @Slot()
    def on_follow_lattice(self) -> None:
        url = self._lattice_url
        if url is None:
            return
        taken = {c.key for c in self._values.connections}
        connection = ConnectionSettings(new_connection_key(taken), "Lattice AI", url=url)
        self._values = replace(self._values, connections=(*self._values.connections, connection))
        self.offer_lattice_ai(None)
        self._fill_list(connection.key)

    @Slot()
    def on_remove(self) -> None:
        key = self.form.key
        connection = self._values.connection(key)
        if connection is None or connection.embedded:
            return
        self._values = replace(self._values, connections=tuple(
            c for c in self._values.connections if c.key != key
        ))
        self._results.pop(key, None)
        self._fill_list(self._values.connections[0].key)

    # --------------------------------------------------------------- tests
    @Slot()
    def on_test(self) -> None:
        values = self.values()
        connection = values.connection(self.form.key)
        if connection is None:
            return
        problem = connection.validate()
        if problem:
            self.show_test_result(connection.key, problem[:1].upper() + problem[1:] + ".", False)
            return
        self.form.testing()
        self._tested[connection.key] = (connection.url, connection.token)
        self.test_requested.emit(values, connection.key)

    @Slot(str, str)
    def on_sign_in(self, email: str, password: str) -> None:
        values = self.values()
        connection = values.connection(self.form.key)
        if connection is None:
            return
        problem = connection.validate()
        if problem and connection.url:  # a missing token is what signing in is for
            self.show_test_result(connection.key, problem[:1].upper() + problem[1:] + ".", False)
            return
        self.sign_in_requested.emit(values, connection.key, email, password)

    def show_signed_in(self, key: str, token: str, text: str) -> None:
        """Connection ``key`` signed in: its token is the session now (kept on OK)."""
        self._results[key] = (text, True)
        if self.form.key == key:
            self.form.signed_in(token, text)

    def show_test_result(self, key: str, text: str, ok: bool) -> None:
        """The answer to a test of connection ``key`` (shown while it is selected)."""
        self._results[key] = (text, ok)
        if self.form.key == key:
            self.form.show_result(text, ok)

    # ------------------------------------------------------------- values
    def values(self) -> SettingsValues:
        return replace(
            self._values,
            display_name=self.display_name.text().strip(),
            workspaces=parse_list(self.workspaces.text()),
            notify=self.notify.prefs(),
            autostart=self.autostart.isChecked(),
            idle_after=_seconds(self.idle_minutes, self._values.idle_after),
            away_after=_seconds(self.away_minutes, self._values.away_after),
        )

    def show_error(self, message: str) -> None:
        self.error.setText(message)

    @Slot()
    def on_accept(self) -> None:
        values = self.values()
        problem = self.notify.problem() or values.validate()
        if problem:
            self.show_error(problem)
            return
        refused = self.refused(values)
        if refused and not self.confirm(refused):
            return
        self.apply_requested.emit(values)
        self.accept()

    def refused(self, values: SettingsValues) -> str:
        """What Test connection said of a connection it refused and that is still as
        tested (seen in a trial: OK kept a token the test had just refused, unasked)."""
        lines = []
        for connection in values.connections:
            text, ok = self._results.get(connection.key, ("", True))
            if not ok and connection.enabled and \
                    self._tested.get(connection.key) == (connection.url, connection.token):
                lines.append(f"{connection.name}: {text}")
        return "\n".join(lines)

    def _ask(self, refused: str) -> bool:
        answer = QMessageBox.question(
            self, "Keep these settings?",
            f"Test connection failed for:\n\n{refused}\n\nKeep these settings anyway?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Save


def _minutes(name: str) -> QSpinBox:
    """A number of minutes, one to a day."""
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(1, MINUTES_A_DAY)
    box.setSuffix(" min")
    return box


def _seconds(box: QSpinBox, loaded: float) -> float:
    """The box's minutes in seconds; the loaded value itself while the box still shows it
    (a time stored in seconds is not rounded by merely pressing OK)."""
    return loaded if box.value() == round(loaded / 60) else box.value() * 60.0
