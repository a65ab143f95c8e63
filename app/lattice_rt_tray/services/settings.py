"""The app's settings, stored with QSettings, read and written as typed values.

:class:`Settings` is built once by the composition root around a ``QSettings``
(an ini file in the user's config dir, or any path, so tests use a temp file)
and passed to whoever needs it. Every change goes through :meth:`Settings.apply`
or a setter and is announced with ``changed(group)`` so the app applies it at
once, without a restart. Unreadable stored values fall back to defaults.

What the file holds: the general settings, each connection under
``connection/<key>/...`` (their order in ``connections/order``), the
notification rules under ``rules/<n>/<field>`` (``rules/1/level=critical``,
``rules/1/type=deploy*``; see :mod:`~lattice_rt_tray.logic.rules`) and the quiet
hours in ``notify/quiet_hours``, and where
each connection's stream stopped, per server identity, under
``resume/<key>/<server id>``. Tokens are not in it: they live in the OS
keyring (:mod:`.token_vault`), and only where no keyring exists under
``connection/<key>/token``, with the file made private (mode 0600).

A rule or quiet hours the file holds that cannot be used is skipped, said by
:meth:`Settings.notify_problems`, and never rewritten: saving other settings
leaves them as they are, and saving new rules puts them around the bad ones.
A ``tray.ini`` of the one-server format is migrated on first open
(:mod:`.settings_migration`).
"""

from __future__ import annotations

import getpass
import os
import secrets
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from lattice_rt_core.protocol.defaults import DEFAULT_PORT, PRESENCE_STATUSES
from lattice_rt_tray.logic.dnd import DoNotDisturb
from lattice_rt_tray.logic.quiet_hours import QuietHours
from lattice_rt_tray.logic.resume import ResumePoint, ServerIdentity
from lattice_rt_tray.logic.rules import Rule, load_rules
from lattice_rt_tray.logic.settings_values import (
    LOCAL_KEY,
    ConnectionSettings,
    NotifyPrefs,
    SettingsValues,
    local_connection,
    parse_list,
)
from lattice_rt_tray.services.settings_migration import migrate

__all__ = [
    "GROUP_CONNECTIONS", "GROUP_GENERAL", "GROUP_NOTIFY", "GROUP_PRESENCE", "GROUP_STATUS",
    "Settings",
]

ORGANIZATION = "lattice-rt"
APPLICATION = "tray"

GROUP_CONNECTIONS = "connections"
GROUP_PRESENCE = "presence"
GROUP_NOTIFY = "notify"
GROUP_GENERAL = "general"
GROUP_STATUS = "status"

_ORDER = "connections/order"
_LEGACY = "legacy"  # resume/<key>/legacy: a resume point from before server identities
_RULES = "rules"
_QUIET_HOURS = "notify/quiet_hours"


class Settings(QObject):
    """Typed access to the stored settings.

    Signals:
        changed(str): a group of settings changed: "connections", "presence"
            (the general display name and workspaces), "notify" (including
            do-not-disturb), "general" or "status" (the idle and away times).
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

    def migrate(self, data_dir: Path) -> bool:
        """Bring a settings file of the one-server format to this one (True if it did)."""
        done = migrate(self._store, data_dir)
        if done:
            self._store.sync()
            if self.file_tokens():
                self._make_private()
        return done

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
    def history_size(self) -> int | None:
        """Events of each server read back on start (``general/history_size``; 0: none),
        None when the file does not say (the default of ``logic/history.py`` applies)."""
        size = self._int("general/history_size", -1)
        return None if size < 0 else size

    def set_history_size(self, size: int) -> None:
        self._store.setValue("general/history_size", max(0, int(size)))

    def values(self) -> SettingsValues:
        """What is stored; a connection's token only where it is kept in this file."""
        return SettingsValues(
            connections=self._connections(),
            display_name=self._str("presence/display_name") or _login_name(),
            workspaces=parse_list(self._store.value("presence/workspaces", "")),
            notify=NotifyPrefs(
                enabled=self._bool("notify/enabled", True),
                presence=self._bool("notify/presence", False),
                status=self._bool("notify/status", False),
                muted_workspaces=frozenset(
                    parse_list(self._store.value("notify/muted_workspaces", ""))
                ),
                muted_areas=frozenset(parse_list(self._store.value("notify/muted_areas", ""))),
                rules=self._rules()[0],
                quiet_hours=self._quiet_hours()[0],
                critical_through=self._bool("notify/critical_through", True),
            ),
            autostart=self._bool("app/autostart", False),
            **self._times(),
        )

    # ------------------------------------------------- rules, quiet hours
    def notify_problems(self) -> list[str]:
        """Why a rule or the quiet hours in the file were skipped, one line each."""
        return [*self._rules()[1], *self._quiet_hours()[1]]

    def _rules(self) -> tuple[tuple[Rule, ...], list[str], set[str]]:
        """The good rules in order, a line per bad one, and the names of the bad ones."""
        s = self._store
        s.beginGroup(_RULES)
        try:
            names = s.childGroups()
            loose = s.childKeys()
            entries: list[tuple[str, dict[str, object]]] = []
            for name in sorted((n for n in names if n.isdigit()), key=int):
                s.beginGroup(name)
                try:
                    entries.append((name, {k: _text(s.value(k)) for k in s.childKeys()}))
                finally:
                    s.endGroup()
        finally:
            s.endGroup()
        rules, problems = load_rules(entries)
        bad = {name for name, _ in entries if any(p.startswith(f"rule {name} ") for p in problems)}
        for name in [*(n for n in names if not n.isdigit()), *loose]:
            problems.append(f"rule {name} skipped: rules are numbered 1, 2, 3, …")
            bad.add(name)
        return rules, problems, bad

    def _store_rules(self, rules: tuple[Rule, ...]) -> None:
        """Write ``rules`` in order around the bad ones, which stay as they are."""
        s = self._store
        bad = self._rules()[2]
        s.beginGroup(_RULES)
        try:
            for name in s.childGroups():
                if name not in bad:
                    s.remove(name)
            number = 0
            for rule in rules:
                number += 1
                while str(number) in bad:
                    number += 1
                for field, value in rule.to_mapping().items():
                    s.setValue(f"{number}/{field}", value)
        finally:
            s.endGroup()

    def _quiet_hours(self) -> tuple[QuietHours | None, list[str]]:
        try:
            return QuietHours.parse(self._store.value(_QUIET_HOURS, "")), []
        except ValueError as exc:
            return None, [str(exc)]

    def _times(self) -> dict[str, float]:
        """The idle and away times, the defaults unless both are stored and valid."""
        stored = {key: self._store.value(f"status/{key}") for key in ("idle_after", "away_after")}
        try:
            times = {key: float(str(value)) for key, value in stored.items()}
        except ValueError:  # missing ("None") or not a number
            return {}
        return times if 0 < times["idle_after"] < times["away_after"] else {}

    def status_choice(self) -> tuple[str | None, str | None]:
        """The status chosen in the menu (None: automatic) and the status line."""
        manual = self._str("status/manual") or None
        return manual if manual in PRESENCE_STATUSES else None, self._str("status/text") or None

    def set_status_choice(self, manual: str | None, text: str | None) -> None:
        self._store.setValue("status/manual", manual or "")
        self._store.setValue("status/text", text or "")

    def _connections(self) -> tuple[ConnectionSettings, ...]:
        keys = [k for k in parse_list(self._store.value(_ORDER, "")) if k != LOCAL_KEY]
        return tuple(map(self._connection, [LOCAL_KEY, *keys]))

    def _connection(self, key: str) -> ConnectionSettings:
        """The embedded endpoint's connection is ``local``; every other key is a server."""
        base = f"connection/{key}/"
        stored = self._store.value(base + "workspaces")
        default = local_connection() if key == LOCAL_KEY else ConnectionSettings(key, key)
        return ConnectionSettings(
            key=key,
            name=self._str(base + "name") or default.name,
            kind=default.kind,
            url=self._str(base + "url"),
            port=self._int(base + "port", DEFAULT_PORT),
            token=self._str(base + "token"),
            ca_file=self._str(base + "ca_file"),
            display_name=self._str(base + "display_name"),
            workspaces=None if stored is None else parse_list(stored),
            enabled=self._bool(base + "enabled", True),
        )

    def apply(self, new: SettingsValues) -> set[str]:
        """Store ``new`` (tokens aside); emits ``changed`` per group that differs."""
        error = new.validate()
        if error:
            raise ValueError(error)
        old = self.values()
        groups: set[str] = set()
        if _without_tokens(old.connections) != _without_tokens(new.connections):
            groups.add(GROUP_CONNECTIONS)
        if (old.display_name, old.workspaces) != (new.display_name, new.workspaces):
            groups.add(GROUP_PRESENCE)
        if old.notify != new.notify:
            groups.add(GROUP_NOTIFY)
        if old.autostart != new.autostart:
            groups.add(GROUP_GENERAL)
        if (old.idle_after, old.away_after) != (new.idle_after, new.away_after):
            groups.add(GROUP_STATUS)
        s = self._store
        kept = {c.key for c in new.connections}
        for gone in (c.key for c in old.connections if c.key not in kept):
            s.remove(f"connection/{gone}")
            s.remove(f"resume/{gone}")
        for connection in new.connections:
            self._store_connection(connection)
        s.setValue(_ORDER, ",".join(c.key for c in new.connections))
        s.setValue("presence/display_name", new.display_name.strip())
        s.setValue("presence/workspaces", ",".join(new.workspaces))
        s.setValue("notify/enabled", new.notify.enabled)
        s.setValue("notify/presence", new.notify.presence)
        s.setValue("notify/status", new.notify.status)
        s.setValue("notify/muted_workspaces", ",".join(sorted(new.notify.muted_workspaces)))
        s.setValue("notify/muted_areas", ",".join(sorted(new.notify.muted_areas)))
        s.setValue("notify/critical_through", new.notify.critical_through)
        if old.notify.rules != new.notify.rules:  # else a bad rule of the file stays as it is
            self._store_rules(new.notify.rules)
        if old.notify.quiet_hours != new.notify.quiet_hours:
            hours = new.notify.quiet_hours
            s.setValue(_QUIET_HOURS, hours.to_setting() if hours is not None else "")
        s.setValue("app/autostart", new.autostart)
        s.setValue("status/idle_after", new.idle_after)
        s.setValue("status/away_after", new.away_after)
        s.sync()
        for group in sorted(groups):
            self.changed.emit(group)
        return groups

    def _store_connection(self, c: ConnectionSettings) -> None:
        s, base = self._store, f"connection/{c.key}/"
        s.setValue(base + "name", c.name.strip())
        s.setValue(base + "enabled", c.enabled)
        for key, value in (("url", c.url.strip()), ("ca_file", c.ca_file.strip()),
                           ("display_name", c.display_name.strip())):
            if value:
                s.setValue(base + key, value)
            else:
                s.remove(base + key)
        if c.embedded:
            s.setValue(base + "port", int(c.port))
        if c.workspaces is None:
            s.remove(base + "workspaces")
        else:
            s.setValue(base + "workspaces", ",".join(c.workspaces))

    def update(self, **changes: object) -> set[str]:
        """Change some fields of :meth:`values` (``update(workspaces=("a",))``)."""
        return self.apply(replace(self.values(), **changes))  # type: ignore[arg-type]

    def update_connection(self, key: str, **changes: object) -> set[str]:
        """Change some fields of one connection (``update_connection("local", port=0)``)."""
        values = self.values()
        if values.connection(key) is None:
            raise KeyError(key)
        return self.apply(replace(values, connections=tuple(
            replace(c, **changes) if c.key == key else c  # type: ignore[arg-type]
            for c in values.connections
        )))

    # ------------------------------------------------- tokens without a keyring
    def file_tokens(self) -> dict[str, str]:
        """Tokens kept in this file (no keyring here, or not moved to it yet)."""
        return self.values().tokens()

    def set_file_token(self, key: str, token: str) -> None:
        """Keep ``token`` in this file, which becomes readable by its owner only."""
        if not token:
            self.clear_file_token(key)
            return
        self._make_private()
        self._store.setValue(f"connection/{key}/token", token)
        self._store.sync()

    def clear_file_token(self, key: str) -> None:
        if self._store.contains(f"connection/{key}/token"):
            self._store.remove(f"connection/{key}/token")
            self._store.sync()

    def _make_private(self) -> None:
        """Mode 0600 before a token is written (QSettings keeps a file's mode on rewrite)."""
        self._store.sync()
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(path, 0o600)

    # ---------------------------------------------------- do-not-disturb
    @property
    def dnd(self) -> DoNotDisturb:
        return DoNotDisturb.from_setting(self._store.value("notify/dnd", ""))

    def set_dnd(self, dnd: DoNotDisturb) -> None:
        self._store.setValue("notify/dnd", dnd.to_setting())
        self._store.sync()
        self.changed.emit(GROUP_NOTIFY)

    # ----------------------------------------------------- resume points
    def resume_points(self, key: str) -> dict[str, ResumePoint]:
        """Where connection ``key``'s streams stopped, by server id."""
        s, points = self._store, {}
        s.beginGroup(f"resume/{key}")
        try:
            for server_id in s.childKeys():
                point = _parse_point(server_id, s.value(server_id))
                if point is not None:
                    points[server_id] = point
        finally:
            s.endGroup()
        return points

    def legacy_resume(self, key: str) -> int | None:
        """A resume point saved before servers had an identity (a migrated file)."""
        value = self._int(f"resume/{key}/{_LEGACY}", -1)
        return value if value >= 0 else None

    def set_resume_points(self, key: str, points: Mapping[str, ResumePoint]) -> None:
        """Replace connection ``key``'s resume points (the legacy one is used up)."""
        s = self._store
        s.remove(f"resume/{key}")
        for server_id, point in points.items():
            s.setValue(f"resume/{key}/{server_id}", f"{point.identity.epoch} {point.seq}")


def _parse_point(server_id: str, value: object) -> ResumePoint | None:
    epoch, _, seq = str(value or "").partition(" ")
    if server_id == _LEGACY or not epoch or not seq.isdigit():
        return None
    return ResumePoint(ServerIdentity(server_id, epoch), int(seq))


def _text(value: object) -> object:
    """A stored value as text: an unquoted value with commas comes back as a list."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return value


def _without_tokens(connections: tuple[ConnectionSettings, ...]) -> tuple[object, ...]:
    return tuple(replace(c, token="") for c in connections)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "me"
