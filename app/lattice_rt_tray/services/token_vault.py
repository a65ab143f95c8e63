"""Tokens of remote connections in the OS keyring, off the GUI thread.

`keyring <https://pypi.org/project/keyring/>`_ picks the platform's store:
the Secret Service on Linux (GNOME Keyring, KWallet), the Keychain on macOS,
the Credential Manager on Windows. Each token is stored under the service
``lattice-rt-tray`` and the connection's key (never its URL). A keyring can
be slow or ask the user to unlock it, so every call runs on the vault's own
worker thread (one, so a write and a later read keep their order) and the
answers come back as signals; the GUI thread never waits for it.

Where keyring finds no backend (its ``fail`` or ``null`` backend: a headless
Linux without a Secret Service, ``PYTHON_KEYRING_BACKEND`` set to one of
them), tokens stay in the settings file, which is made readable by its owner
only (:meth:`Settings.set_file_token`), and :attr:`TokenVault.available`
says so for the Settings dialog. A token found in the file while a keyring
works moves into the keyring and leaves the file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from lattice_rt_tray.logic.identity import APP_ID
from lattice_rt_tray.services.tasks import TaskRunner

__all__ = ["SERVICE", "FileTokens", "KeyringLike", "TokenVault", "default_keyring"]

log = logging.getLogger(__name__)

SERVICE = APP_ID  # the keyring's "service" of every token this app stores


class KeyringLike(Protocol):
    """What the vault uses of a keyring backend (``keyring.backend.KeyringBackend``)."""

    def get_password(self, service: str, username: str) -> str | None: ...
    def set_password(self, service: str, username: str, password: str) -> None: ...
    def delete_password(self, service: str, username: str) -> None: ...


class FileTokens(Protocol):
    """Where tokens go without a keyring (:class:`~lattice_rt_tray.services.settings.Settings`)."""

    def file_tokens(self) -> dict[str, str]: ...
    def set_file_token(self, key: str, token: str) -> None: ...
    def clear_file_token(self, key: str) -> None: ...


def default_keyring() -> KeyringLike | None:
    """The platform's keyring, or None where keyring has no usable backend."""
    import keyring  # imported on the worker: finding the backends takes a while
    from keyring.backends import fail, null

    backend = keyring.get_keyring()
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    return backend


@dataclass(frozen=True, slots=True)
class _Opened:
    available: bool | None  # None: not asked (nothing to read), the keyring is not loaded
    tokens: dict[str, str]
    moved: tuple[str, ...]  # keys whose file token is in the keyring now
    problem: str


class TokenVault(QObject):
    """Reads and writes tokens on a worker; the settings file is the fallback.

    Signals:
        ready(object): a dict key -> token of every remote connection, once
            :meth:`open` has read them (from the keyring and the file).
        failed(str): a keyring operation failed; a message for a person.
    """

    ready = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        files: FileTokens,
        *,
        backend: Callable[[], KeyringLike | None] = default_keyring,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._files = files
        self._backend_factory = backend
        self._backend: KeyringLike | None = None
        self._loaded = False  # the backend was looked for (on the worker only)
        #: None until a keyring was asked (by :meth:`open`, or the first token kept);
        #: then whether one is used
        self.available: bool | None = None

    def open(self, keys: Sequence[str]) -> None:
        """Read the tokens of ``keys`` (and move tokens found in the file to the keyring)."""
        in_file = self._files.file_tokens()
        self._runner.run(lambda: self._open(list(keys), in_file), self._on_opened,
                         self._on_open_failed)

    def _load(self) -> KeyringLike | None:
        """The keyring, looked for once (on the worker). Loading it costs some 9 MB
        (the Secret Service backend brings ``cryptography``): a user who keeps no
        token never pays for it."""
        if not self._loaded:
            self._loaded = True
            self._backend = self._backend_factory()
        return self._backend

    def _open(self, keys: list[str], in_file: Mapping[str, str]) -> _Opened:
        if not keys and not in_file:  # no token to read: the keyring waits for one to keep
            return _Opened(None, {}, (), "")
        try:
            backend = self._load()
        except Exception as exc:  # noqa: BLE001 - a broken keyring setup is a fallback too
            return _Opened(False, dict(in_file), (), f"the keyring cannot be used: {exc}")
        if backend is None:
            return _Opened(False, dict(in_file), (), "")
        tokens: dict[str, str] = {}
        moved: list[str] = []
        problems: list[str] = []
        for key in keys:
            try:
                if key in in_file:
                    backend.set_password(SERVICE, key, in_file[key])
                    moved.append(key)
                    tokens[key] = in_file[key]
                else:
                    tokens[key] = backend.get_password(SERVICE, key) or ""
            except Exception as exc:  # noqa: BLE001 - locked, dismissed, gone: say it, go on
                problems.append(f"{exc}")
                if key in in_file:
                    tokens[key] = in_file[key]
        problem = f"the keyring refused: {'; '.join(problems)}" if problems else ""
        return _Opened(True, tokens, tuple(moved), problem)

    def _on_opened(self, opened: _Opened) -> None:
        self.available = opened.available
        for key in opened.moved:
            self._files.clear_file_token(key)
        if opened.problem:
            self._fail(opened.problem)
        self.ready.emit(opened.tokens)

    def _on_open_failed(self, exc: BaseException) -> None:
        self._fail(f"reading tokens failed: {exc}")
        self.available = False
        self.ready.emit(self._files.file_tokens())

    def store(self, key: str, token: str) -> None:
        """Keep ``token`` for connection ``key`` (an empty one: forget it)."""
        if self.available is False:
            self._files.set_file_token(key, token)
            return
        self._runner.run(lambda: self._store(key, token), self._on_stored,
                         lambda exc: self._fail(f"the token could not be stored: {exc}"))

    def _store(self, key: str, token: str) -> tuple[str, str, bool]:
        try:
            backend = self._load()
        except Exception as exc:  # noqa: BLE001 - as in _open: the file keeps it
            log.warning("the keyring cannot be used: %s", exc)
            backend = None
        if backend is None:
            return key, token, False
        if token:
            backend.set_password(SERVICE, key, token)
        else:
            _delete(backend, key)
        return key, token, True

    def _on_stored(self, result: tuple[str, str, bool]) -> None:
        key, token, in_keyring = result
        self.available = in_keyring
        if in_keyring:
            self._files.clear_file_token(key)
        else:
            self._files.set_file_token(key, token)

    def forget(self, key: str) -> None:
        """A removed connection: its token goes from the keyring and the file."""
        self._files.clear_file_token(key)
        if self.available is not False:
            self._runner.run(lambda: self._forget(key), None,
                             lambda exc: self._fail(f"the token could not be removed: {exc}"))

    def _forget(self, key: str) -> None:
        backend = self._load()
        if backend is not None:
            _delete(backend, key)

    def _fail(self, message: str) -> None:
        log.warning("%s", message)
        self.failed.emit(message)


def _delete(backend: KeyringLike, key: str) -> None:
    from keyring.errors import PasswordDeleteError

    try:
        backend.delete_password(SERVICE, key)
    except PasswordDeleteError:  # there was none
        pass
