"""Settings in, connections out: the stored settings, the tokens and the Settings dialog.

:class:`SettingsFlow` keeps the :class:`~lattice_rt_tray.services.connections.ConnectionSet`
in step with what is stored: the settings file (through
:class:`~lattice_rt_tray.services.settings.Settings`) and the tokens (through the
:class:`~lattice_rt_tray.services.token_vault.TokenVault`, which answers later: until
it has, remote connections wait and the embedded one runs). It serves the
Settings dialog: loads it with the tokens filled in, stores what the user
applied (tokens to the vault, the rest to the file) and runs "Test
connection" on the task runner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from lattice_rt_core.net.api import ApiError
from lattice_rt_tray.logic.connection_types import ClientFactory
from lattice_rt_tray.logic.link_status import LinkStatus
from lattice_rt_tray.logic.settings_values import SettingsValues
from lattice_rt_tray.services.connections import ConnectionSet
from lattice_rt_tray.services.settings import Settings
from lattice_rt_tray.services.tasks import TaskRunner
from lattice_rt_tray.services.token_vault import TokenVault
from lattice_rt_tray.system.connection_check import CheckResult, check_connection

if TYPE_CHECKING:  # the dialog's module is loaded when Settings first opens
    from lattice_rt_tray.views.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)

#: how long after the start a first start looks for a Lattice AI server on this computer
LOOK_FOR_LATTICE_MS = 3000

__all__ = ["SettingsFlow"]


class SettingsFlow(QObject):
    """Signals:
    report(str): a problem for the status bar (a keyring failure, settings refused).
    lattice_found(str): at the first start, a Lattice AI server answers on this computer
        (its URL): the app offers to follow it.
    """

    report = Signal(str)
    lattice_found = Signal(str)

    def __init__(
        self,
        *,
        settings: Settings,
        vault: TokenVault,
        connections: ConnectionSet,
        runner: TaskRunner,
        dialog: Callable[[], SettingsDialog],
        client_factory: ClientFactory,
        find_lattice: Callable[[], str | None] = lambda: None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.vault = vault
        self.connections = connections
        self._runner = runner
        self._make_dialog = dialog
        self._client_factory = client_factory
        self._find_lattice = find_lattice
        self._look_timer = QTimer(self)
        self._look_timer.setSingleShot(True)
        self._look_timer.timeout.connect(lambda: self._look_for_lattice(self._on_lattice_found))
        self.dialog: SettingsDialog | None = None
        self._tokens: dict[str, str] = {}
        self._tokens_ready = False
        self._unread_tokens: set[str] = set()  # not read yet when the dialog was filled

    # ------------------------------------------------------------- running
    def start(self) -> None:
        """Start what needs no token now; read the tokens, then start the rest."""
        values = self.settings.values()
        self._tokens = values.tokens()  # kept in the file (or not moved to the keyring yet)
        self.sync()
        self.vault.open([c.key for c in values.connections if not c.embedded])
        if not any(not c.embedded for c in values.connections):  # a first start
            # once the app is up: the first frame and the endpoint come first
            self._look_timer.start(LOOK_FOR_LATTICE_MS)

    def _look_for_lattice(self, then: Callable[[str | None], None]) -> None:
        """Is a Lattice AI server running on this computer (off the GUI thread)?"""
        try:
            self._runner.run(self._find_lattice, then,
                             lambda exc: log.info("looking for Lattice AI: %s", exc))
        except RuntimeError:  # quitting: the runner is closed
            log.debug("not looking for Lattice AI: the app is quitting")

    def _on_lattice_found(self, url: str | None) -> None:
        followed = {c.url.rstrip("/") for c in self.settings.values().connections}
        if url is not None and url not in followed:
            self.lattice_found.emit(url)

    def sync(self) -> None:
        """Make the connections follow what is stored (only what differs changes)."""
        self.connections.apply(self.settings.values(),
                               self._tokens if self._tokens_ready else None)

    @Slot(object)
    def on_tokens_ready(self, tokens: Mapping[str, str]) -> None:
        self._tokens.update(tokens)
        self._tokens_ready = True
        self.sync()
        if self.dialog is not None:
            self.dialog.set_keyring(self.vault.available)

    # -------------------------------------------------------------- dialog
    @Slot()
    def on_settings_requested(self) -> None:
        if self.dialog is None:
            self.dialog = self._make_dialog()
            self.dialog.apply_requested.connect(self.on_apply)
            self.dialog.test_requested.connect(self.on_test)
            self.dialog.sign_in_requested.connect(self.on_sign_in)
        values = self.settings.values().with_tokens(self._tokens)
        self._unread_tokens = set() if self._tokens_ready else {
            c.key for c in values.connections if not c.embedded and c.key not in self._tokens
        }
        self.dialog.load(values, self.settings.notify_problems())
        self._look_for_lattice(self._offer_lattice)
        self.dialog.set_keyring(self.vault.available)
        self.dialog.set_statuses(self.connections.statuses())
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def _offer_lattice(self, url: str | None) -> None:
        if self.dialog is not None:
            self.dialog.offer_lattice_ai(url)

    @Slot(str)
    def on_sign_in_requested(self, key: str) -> None:
        """Settings, at the connection whose session ended, its password field ready."""
        self.on_settings_requested()
        assert self.dialog is not None
        self.dialog.select(key)
        self.dialog.form.password.setFocus()

    def show_statuses(self, links: Sequence[LinkStatus]) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.set_statuses(links)

    @Slot(object)
    def on_apply(self, values: SettingsValues) -> None:
        """Store what the dialog says: tokens to the vault, the rest to the file."""
        old = {c.key for c in self.settings.values().connections}
        kept = {c.key for c in values.connections}
        for key in old - kept:
            self._tokens.pop(key, None)
            self.vault.forget(key)
        for connection in values.connections:
            key, token = connection.key, connection.token
            if connection.embedded or (key in self._unread_tokens and not token):
                continue
            if token != self._tokens.get(key, ""):
                self._tokens[key] = token
                self.vault.store(key, token)
        try:
            self.settings.apply(replace(values, connections=tuple(
                replace(c, token="") for c in values.connections)))
        except ValueError as exc:
            self.report.emit(str(exc))
        self.sync()  # a new token alone changes nothing in the file

    @Slot(object, str)
    def on_test(self, values: SettingsValues, key: str) -> None:
        connection = values.connection(key)
        if connection is None:
            return
        _, workspaces = connection.presence(values.display_name, values.workspaces)
        running = self.connections.get(key)
        url = running.url if running is not None and connection.embedded else None
        token = running.token if running is not None and connection.embedded else None
        factory = self._client_factory
        self._runner.run(
            lambda: check_connection(connection, workspaces, factory, url=url, token=token),
            lambda result: self._answer(key, result),
            lambda exc: self._answer(key, CheckResult(False, f"The test failed: {exc}.")),
        )

    @Slot(object, str, str, str)
    def on_sign_in(self, values: SettingsValues, key: str, email: str, password: str) -> None:
        connection = values.connection(key)
        if connection is None or connection.embedded:
            return
        factory = self._client_factory

        def sign_in() -> str:
            client = factory(connection.url, None, ca_file=connection.ca_file or None)
            try:
                return client.sign_in(email, password)
            finally:
                client.close()

        def done(token: str) -> None:
            if self.dialog is not None:
                self.dialog.show_signed_in(key, token, f"Signed in to {connection.name} as "
                                           f"{email}. OK keeps the session as its token.")

        def failed(exc: BaseException) -> None:
            text = exc.message if isinstance(exc, ApiError) else str(exc)
            self._answer(key, CheckResult(False, f"Could not sign in: {text}"))

        self._runner.run(sign_in, done, failed)

    def _answer(self, key: str, result: CheckResult) -> None:
        if self.dialog is not None:
            self.dialog.show_test_result(key, result.text, result.ok)

    def close(self) -> None:
        self._look_timer.stop()
        if self.dialog is not None:
            self.dialog.hide()
