"""The detail form of one connection in the Settings dialog.

It edits a :class:`~lattice_rt_tray.logic.settings_values.ConnectionSettings`
(name, port or URL, token with a show/hide toggle, CA file, presence name and
workspaces that default to the general ones, on/off) and shows the
connection's state and the answer of "Test connection". It emits intents and
never calls the network.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lattice_rt_core.protocol.defaults import DEFAULT_PORT
from lattice_rt_tray.logic.link_status import ERROR, OK, LinkStatus
from lattice_rt_tray.logic.settings_values import (
    MAX_PORT,
    ConnectionSettings,
    local_connection,
    parse_list,
)
from lattice_rt_tray.views.tones import tone

__all__ = ["ConnectionForm"]

#: room for "ws_marketing, ws_sales, ws_research" or a long URL without cutting
FIELD_CHARS = 46
TONES = {OK: "ok", ERROR: "failure"}


class ConnectionForm(QWidget):
    """Signals:
    edited(): a field changed (read :meth:`settings`).
    test_requested(): the user asked to test the connection as it is in the form.
    sign_in_requested(str, str): sign in with this email and password (a server with
        password sign-in, the Lattice AI server in auth mode); the session it gives
        becomes the token. The password is never kept.
    """

    edited = Signal()
    test_requested = Signal()
    sign_in_requested = Signal(str, str)  # email, password

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connection-form")
        self._current = local_connection()
        self._loading = False
        width = self.fontMetrics().horizontalAdvance("x" * FIELD_CHARS)

        self.enabled = QCheckBox("Follow this server")
        self.name = QLineEdit()
        self.port = QSpinBox()
        self.port.setRange(0, MAX_PORT)
        self.port.setToolTip("0 picks a free port")
        self.url = QLineEdit()
        self.url.setPlaceholderText(f"https://team.example.lan:{DEFAULT_PORT}")
        self.token = QLineEdit()
        self.token.setObjectName("token")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_token = QToolButton()
        self.show_token.setObjectName("show-token")
        self.show_token.setCheckable(True)
        self.show_token.setText("Show")
        self.show_token.setToolTip("Show or hide the token")
        self.show_token.toggled.connect(self.on_show_token)
        token_row = QHBoxLayout()
        token_row.setContentsMargins(0, 0, 0, 0)
        token_row.addWidget(self.token, 1)
        token_row.addWidget(self.show_token)
        self.keyring = QLabel("")
        self.keyring.setObjectName("keyring-notice")
        self.keyring.setWordWrap(True)
        self.email = QLineEdit()
        self.email.setObjectName("sign-in-email")
        self.email.setPlaceholderText("email")
        self.email.setToolTip("For a server that signs in with a password (the Lattice AI "
                              "server in auth mode)")
        self.password = QLineEdit()
        self.password.setObjectName("sign-in-password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password")
        self.sign_in = QPushButton("Sign in")
        self.sign_in.setObjectName("sign-in")
        self.sign_in.setToolTip("Sign in (the Lattice AI server in auth mode): the session "
                                "becomes this connection's token; the password is not kept")
        self.sign_in.clicked.connect(self.on_sign_in)
        self.password.returnPressed.connect(self.on_sign_in)
        sign_in_row = QHBoxLayout()
        sign_in_row.setContentsMargins(0, 0, 0, 0)
        sign_in_row.addWidget(self.email, 2)
        sign_in_row.addWidget(self.password, 1)
        sign_in_row.addWidget(self.sign_in)
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText("only for a CA your system does not trust")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self.on_browse)
        ca_row = QHBoxLayout()
        ca_row.setContentsMargins(0, 0, 0, 0)
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(self.browse)
        self.display_name = QLineEdit()
        self.workspaces = QLineEdit()
        for edit in (self.name, self.url, self.token, self.ca_file, self.display_name,
                     self.workspaces):
            edit.setMinimumWidth(width)
            edit.textEdited.connect(self.on_edited)
        self.port.valueChanged.connect(self.on_edited)
        self.enabled.toggled.connect(self.on_edited)

        self.status = QLabel("")
        self.status.setObjectName("connection-state")
        self.status.setWordWrap(True)
        self.test = QPushButton("Test connection")
        self.test.setObjectName("test-connection")
        self.test.clicked.connect(self.test_requested)
        self.result = QLabel("")
        self.result.setObjectName("test-result")
        self.result.setWordWrap(True)
        self.result.setMinimumWidth(width)

        form = QFormLayout()
        form.addRow(self.enabled)
        form.addRow("Name", self.name)
        form.addRow("Port", self.port)
        form.addRow("URL", self.url)
        form.addRow("Token", token_row)
        form.addRow("", self.keyring)
        form.addRow("Sign in", sign_in_row)
        form.addRow("CA file", ca_row)
        form.addRow("Your name", self.display_name)
        form.addRow("Workspaces", self.workspaces)
        form.addRow("State", self.status)
        self._form = form
        test_row = QHBoxLayout()
        test_row.addWidget(self.test)
        test_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(self.result)
        layout.addStretch(1)

    # ------------------------------------------------------------- values
    @property
    def key(self) -> str:
        return self._current.key

    def load(self, settings: ConnectionSettings, defaults: tuple[str, tuple[str, ...]]) -> None:
        """Show ``settings``; ``defaults`` are the general name and workspaces."""
        self._loading = True
        try:
            self._current = settings
            embedded = settings.embedded
            self.enabled.setText("Run the endpoint on this computer" if embedded
                                 else "Follow this server")
            self.enabled.setChecked(settings.enabled)
            self.name.setText(settings.name)
            self.port.setValue(settings.port)
            self.url.setText(settings.url)
            self.token.setText(settings.token)
            self.ca_file.setText(settings.ca_file)
            self.display_name.setText(settings.display_name)
            self.workspaces.setText(", ".join(settings.workspaces or ()))
            self.set_defaults(defaults)
            self._show_row(self.port, embedded)
            self.password.clear()
            remote: tuple[QWidget, ...] = (self.url, self.token, self.keyring, self.email,
                                           self.ca_file)
            for widget in remote:
                self._show_row(widget, not embedded)
            self.show_token.setChecked(False)
            self.result.clear()
        finally:
            self._loading = False

    def set_defaults(self, defaults: tuple[str, tuple[str, ...]]) -> None:
        name, workspaces = defaults
        self.display_name.setPlaceholderText(f"as in General: {name}" if name else "")
        self.workspaces.setPlaceholderText(
            f"as in General: {', '.join(workspaces)}" if workspaces
            else "as in General (none: presence without a workspace)"
        )

    def _show_row(self, widget: QWidget, visible: bool) -> None:
        self._form.setRowVisible(self._row_of(widget), visible)

    def _row_of(self, widget: QWidget) -> int:
        for row in range(self._form.rowCount()):
            item = self._form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if item is None:
                continue
            if item.widget() is widget:
                return row
            inner = item.layout()
            if inner is not None and inner.indexOf(widget) >= 0:
                return row
        raise LookupError(widget)

    def settings(self) -> ConnectionSettings:
        """The connection as the form shows it."""
        text = self.workspaces.text().strip()
        return replace(
            self._current,
            name=self.name.text().strip(),
            enabled=self.enabled.isChecked(),
            port=self.port.value(),
            url=self.url.text().strip(),
            token=self.token.text().strip(),
            ca_file=self.ca_file.text().strip(),
            display_name=self.display_name.text().strip(),
            workspaces=parse_list(text) if text else None,
        )

    # ------------------------------------------------------------- status
    def set_status(self, status: LinkStatus | None) -> None:
        if status is None:
            self.status.setText("not applied yet")
            self.status.setStyleSheet("")
            return
        self.status.setText(status.describe())
        color = tone(TONES.get(status.level, "warning"), self.palette()) if status.enabled else ""
        self.status.setStyleSheet(f"color: {color};" if color else "")

    def set_keyring(self, available: bool | None) -> None:
        if available is None:
            self.keyring.setText("Reading the system keyring…")
            self.keyring.setStyleSheet("")
        elif available:
            self.keyring.setText("Kept in the system keyring.")
            self.keyring.setStyleSheet("")
        else:
            self.keyring.setText("No system keyring was found: the token is kept in the "
                                 "settings file, readable by you only.")
            self.keyring.setStyleSheet(f"color: {tone('warning', self.palette())};")

    def show_result(self, text: str, ok: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(f"color: {tone('ok' if ok else 'failure', self.palette())};")

    def signed_in(self, token: str, text: str) -> None:
        """The sign-in worked: its session is the token from now on (kept on OK)."""
        self.password.clear()
        self.token.setText(token)
        self.show_result(text, True)
        self.edited.emit()

    def testing(self) -> None:
        self.result.setText("Testing…")
        self.result.setStyleSheet("")

    # ------------------------------------------------------------- slots
    @Slot()
    def on_edited(self) -> None:
        if not self._loading:
            self.result.clear()
            self.edited.emit()

    @Slot()
    def on_sign_in(self) -> None:
        email, password = self.email.text().strip(), self.password.text()
        if not email or not password:
            self.show_result("Enter the email and the password of your account to sign in.",
                             False)
            return
        self.result.setText("Signing in…")
        self.result.setStyleSheet("")
        self.sign_in_requested.emit(email, password)

    @Slot(bool)
    def on_show_token(self, shown: bool) -> None:
        self.token.setEchoMode(QLineEdit.EchoMode.Normal if shown
                               else QLineEdit.EchoMode.Password)
        self.show_token.setText("Hide" if shown else "Show")

    @Slot()
    def on_browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CA certificate", self.ca_file.text(),
                                              "Certificates (*.pem *.crt *.cer);;All files (*)")
        if path:
            self.ca_file.setText(path)
            self.on_edited()
