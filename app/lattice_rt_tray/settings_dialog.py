"""The Settings dialog: edits a SettingsValues and asks for it to be applied."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lattice_rt_core.defaults import DEFAULT_PORT

from .identity import PRODUCT
from .settings_values import EMBEDDED, MAX_PORT, REMOTE, NotifyPrefs, SettingsValues, parse_list

__all__ = ["SettingsDialog"]


class SettingsDialog(QDialog):
    """Signals:
    apply_requested(object): the user pressed OK with valid SettingsValues.
    """

    apply_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings-dialog")
        self.setWindowTitle(f"{PRODUCT} — Settings")

        self.embedded = QRadioButton("Run the endpoint on this computer")
        self.remote = QRadioButton("Follow a server")
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.embedded)
        self.mode_group.addButton(self.remote)
        self.port = QSpinBox()
        self.port.setRange(0, MAX_PORT)
        self.port.setToolTip("0 picks a free port")
        self.url = QLineEdit()
        self.url.setPlaceholderText(f"http://team-server:{DEFAULT_PORT}")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        server = QGroupBox("Server")
        server_form = QFormLayout(server)
        server_form.addRow(self.embedded)
        server_form.addRow("Port", self.port)
        server_form.addRow(self.remote)
        server_form.addRow("URL", self.url)
        server_form.addRow("Token", self.token)

        self.display_name = QLineEdit()
        self.workspaces = QLineEdit()
        self.workspaces.setPlaceholderText("ws_marketing, ws_sales (empty: no workspace)")
        presence = QGroupBox("Presence")
        presence_form = QFormLayout(presence)
        presence_form.addRow("Display name", self.display_name)
        presence_form.addRow("Workspaces", self.workspaces)

        self.notify_enabled = QCheckBox("Show notifications")
        self.notify_presence = QCheckBox("Notify when people join or leave")
        self.muted_workspaces = QLineEdit()
        self.muted_workspaces.setPlaceholderText("workspaces to keep quiet, comma separated")
        self.muted_areas = QLineEdit()
        self.muted_areas.setPlaceholderText("e.g. memory, graph")
        notify = QGroupBox("Notifications")
        notify_form = QFormLayout(notify)
        notify_form.addRow(self.notify_enabled)
        notify_form.addRow(self.notify_presence)
        notify_form.addRow("Muted workspaces", self.muted_workspaces)
        notify_form.addRow("Muted areas", self.muted_areas)

        self.autostart = QCheckBox("Start at login")
        self.error = QLabel("")
        self.error.setObjectName("settings-error")
        self.error.setStyleSheet("color: #b42318;")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.on_accept)
        self.buttons.rejected.connect(self.reject)
        self.embedded.toggled.connect(self.on_mode_toggled)

        layout = QVBoxLayout(self)
        for widget in (server, presence, notify, self.autostart, self.error, self.buttons):
            layout.addWidget(widget)

    def load(self, values: SettingsValues) -> None:
        (self.remote if values.server_mode == REMOTE else self.embedded).setChecked(True)
        self.port.setValue(values.port)
        self.url.setText(values.remote_url)
        self.token.setText(values.remote_token)
        self.display_name.setText(values.display_name)
        self.workspaces.setText(", ".join(values.workspaces))
        self.notify_enabled.setChecked(values.notify.enabled)
        self.notify_presence.setChecked(values.notify.presence)
        self.muted_workspaces.setText(", ".join(sorted(values.notify.muted_workspaces)))
        self.muted_areas.setText(", ".join(sorted(values.notify.muted_areas)))
        self.autostart.setChecked(values.autostart)
        self.error.clear()
        self.on_mode_toggled()

    def values(self) -> SettingsValues:
        return SettingsValues(
            server_mode=EMBEDDED if self.embedded.isChecked() else REMOTE,
            port=self.port.value(),
            remote_url=self.url.text().strip(),
            remote_token=self.token.text().strip(),
            display_name=self.display_name.text().strip(),
            workspaces=parse_list(self.workspaces.text()),
            notify=NotifyPrefs(
                enabled=self.notify_enabled.isChecked(),
                presence=self.notify_presence.isChecked(),
                muted_workspaces=frozenset(parse_list(self.muted_workspaces.text())),
                muted_areas=frozenset(parse_list(self.muted_areas.text())),
            ),
            autostart=self.autostart.isChecked(),
        )

    def show_error(self, message: str) -> None:
        self.error.setText(message)

    @Slot()
    def on_mode_toggled(self) -> None:
        embedded = self.embedded.isChecked()
        self.port.setEnabled(embedded)
        self.url.setEnabled(not embedded)
        self.token.setEnabled(not embedded)

    @Slot()
    def on_accept(self) -> None:
        values = self.values()
        problem = values.validate()
        if problem:
            self.show_error(problem)
            return
        self.apply_requested.emit(values)
        self.accept()
