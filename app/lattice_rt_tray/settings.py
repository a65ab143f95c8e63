"""The app's settings, stored with QSettings, read and written as typed values.

:class:`Settings` is built once by the composition root around a ``QSettings``
(an ini file in the user's config dir, or any path, so tests use a temp file)
and passed to whoever needs it. Every change goes through :meth:`Settings.apply`
or a setter and is announced with ``changed(group)`` so the app applies it at
once, without a restart. Unreadable stored values fall back to defaults.
"""

from __future__ import annotations

import getpass
import hashlib
import secrets
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from lattice_rt_core.defaults import DEFAULT_PORT

from .dnd import DoNotDisturb
from .settings_values import EMBEDDED, REMOTE, SERVER_MODES, NotifyPrefs, SettingsValues, parse_list

__all__ = ["GROUP_GENERAL", "GROUP_NOTIFY", "GROUP_PRESENCE", "GROUP_SERVER", "Settings"]

ORGANIZATION = "lattice-rt"
APPLICATION = "tray"

GROUP_SERVER = "server"
GROUP_PRESENCE = "presence"
GROUP_NOTIFY = "notify"
GROUP_GENERAL = "general"


class Settings(QObject):
    """Typed access to the stored settings.

    Signals:
        changed(str): a group of settings changed: "server", "presence",
            "notify" (including do-not-disturb) or "general".
    """

    changed = Signal(str)

    def __init__(self, store: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store

    @classmethod
    def open(cls, path: Path | None = None, parent: QObject | None = None) -> Settings:
        """The user's settings file, or the ini file at ``path``."""
        if path is not None:
            store = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            store = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
            )
        return cls(store, parent)

    @property
    def path(self) -> str:
        return self._store.fileName()

    def sync(self) -> None:
        self._store.sync()

    # ------------------------------------------------------------- low level
    def _str(self, key: str, default: str = "") -> str:
        value = self._store.value(key, default)
        return value if isinstance(value, str) else default

    def _bool(self, key: str, default: bool) -> bool:
        value = self._store.value(key, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
        return default

    def _int(self, key: str, default: int) -> int:
        value = self._store.value(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return default
        try:
            return int(value)
        except ValueError:
            return default

    # ------------------------------------------------------------ identity
    @property
    def instance_id(self) -> str:
        """This installation's id (the ``origin`` of its own actions); made once."""
        value = self._str("app/instance_id")
        if not value or ":" in value:
            value = secrets.token_hex(8)
            self._store.setValue("app/instance_id", value)
        return value

    # -------------------------------------------------------------- values
    def values(self) -> SettingsValues:
        mode = self._str("server/mode", EMBEDDED)
        return SettingsValues(
            server_mode=mode if mode in SERVER_MODES else EMBEDDED,
            port=self._int("server/port", DEFAULT_PORT),
            remote_url=self._str("server/url"),
            remote_token=self._str("server/token"),
            display_name=self._str("presence/display_name") or _login_name(),
            workspaces=parse_list(self._store.value("presence/workspaces", "")),
            notify=NotifyPrefs(
                enabled=self._bool("notify/enabled", True),
                presence=self._bool("notify/presence", False),
                muted_workspaces=frozenset(
                    parse_list(self._store.value("notify/muted_workspaces", ""))
                ),
                muted_areas=frozenset(parse_list(self._store.value("notify/muted_areas", ""))),
            ),
            autostart=self._bool("app/autostart", False),
        )

    def apply(self, new: SettingsValues) -> set[str]:
        """Store ``new``; emits ``changed`` per group that differs and returns them."""
        error = new.validate()
        if error:
            raise ValueError(error)
        old = self.values()
        groups: set[str] = set()
        if _endpoint(old) != _endpoint(new):
            groups.add(GROUP_SERVER)
        if (old.display_name, old.workspaces) != (new.display_name, new.workspaces):
            groups.add(GROUP_PRESENCE)
        if old.notify != new.notify:
            groups.add(GROUP_NOTIFY)
        if old.autostart != new.autostart:
            groups.add(GROUP_GENERAL)
        s = self._store
        s.setValue("server/mode", new.server_mode)
        s.setValue("server/port", int(new.port))
        s.setValue("server/url", new.remote_url.strip())
        s.setValue("server/token", new.remote_token.strip())
        s.setValue("presence/display_name", new.display_name.strip())
        s.setValue("presence/workspaces", ",".join(new.workspaces))
        s.setValue("notify/enabled", new.notify.enabled)
        s.setValue("notify/presence", new.notify.presence)
        s.setValue("notify/muted_workspaces", ",".join(sorted(new.notify.muted_workspaces)))
        s.setValue("notify/muted_areas", ",".join(sorted(new.notify.muted_areas)))
        s.setValue("app/autostart", new.autostart)
        s.sync()
        for group in sorted(groups):
            self.changed.emit(group)
        return groups

    def update(self, **changes: object) -> set[str]:
        """Change some fields of :meth:`values` (``update(workspaces=("a",))``)."""
        return self.apply(replace(self.values(), **changes))  # type: ignore[arg-type]

    # ---------------------------------------------------- do-not-disturb
    @property
    def dnd(self) -> DoNotDisturb:
        return DoNotDisturb.from_setting(self._store.value("notify/dnd", ""))

    def set_dnd(self, dnd: DoNotDisturb) -> None:
        self._store.setValue("notify/dnd", dnd.to_setting())
        self._store.sync()
        self.changed.emit(GROUP_NOTIFY)

    # ----------------------------------------------------- resume point
    def last_event_id(self, endpoint: str) -> int | None:
        """Where the stream of ``endpoint`` stopped last time (for the catch-up digest)."""
        value = self._int(f"stream/{_key(endpoint)}", -1)
        return value if value >= 0 else None

    def set_last_event_id(self, endpoint: str, seq: int | None) -> None:
        key = f"stream/{_key(endpoint)}"
        if seq is None:
            self._store.remove(key)
        else:
            self._store.setValue(key, int(seq))


def _endpoint(values: SettingsValues) -> tuple[object, ...]:
    """What decides which endpoint is followed (fields of the other mode do not)."""
    if values.server_mode == EMBEDDED:
        return (EMBEDDED, values.port)
    return (REMOTE, values.remote_url.strip().rstrip("/"), values.remote_token.strip())


def _key(endpoint: str) -> str:
    """A settings key for an endpoint identity (no slashes, which nest groups)."""
    return "last_event_id_" + hashlib.sha1(endpoint.encode()).hexdigest()[:12]


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "me"
