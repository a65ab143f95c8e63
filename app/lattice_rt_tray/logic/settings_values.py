"""What the settings hold, as plain values (pure: no Qt, so the coalescer can use them).

:class:`SettingsValues` is everything the Settings dialog edits, as one frozen
value: the connections (:class:`ConnectionSettings`, one per server the app
follows), the general presence defaults, :class:`NotifyPrefs` (which the
coalescer applies), start at login and the idle and away times of the
automatic presence status. :class:`~lattice_rt_tray.services.settings.Settings`
stores them with QSettings; tokens are not part of the file (see
:mod:`.token_vault`).

A connection is named by a stable ``key``, never by its URL: ``"local"`` for
the endpoint this computer runs, a random hex id for every server added.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from lattice_rt_core.net.api import check_url
from lattice_rt_core.protocol.defaults import DEFAULT_PORT
from lattice_rt_tray.logic.quiet_hours import QuietHours
from lattice_rt_tray.logic.rules import Rule
from lattice_rt_tray.logic.status_machine import DEFAULT_AWAY_AFTER, DEFAULT_IDLE_AFTER

__all__ = [
    "EMBEDDED",
    "KINDS",
    "LOCAL_KEY",
    "LOCAL_NAME",
    "MAX_PORT",
    "REMOTE",
    "ConnectionSettings",
    "NotifyPrefs",
    "SettingsValues",
    "local_connection",
    "new_connection_key",
    "parse_list",
]

EMBEDDED = "embedded"  # the app runs its own endpoint
REMOTE = "remote"  # the app follows a server at a URL
KINDS = (EMBEDDED, REMOTE)
MAX_PORT = 65535  # 0 picks a free port
LOCAL_KEY = "local"  # the key of the embedded endpoint's connection (there is exactly one)
LOCAL_NAME = "This computer"


def parse_list(text: object) -> tuple[str, ...]:
    """``"ws_a, ws_b"`` (or a stored list) -> ``("ws_a", "ws_b")``, de-duplicated."""
    items = text if isinstance(text, (list, tuple)) else str(text or "").split(",")
    out: list[str] = []
    for item in items:
        value = str(item).strip()
        if value and value not in out:
            out.append(value)
    return tuple(out)


def new_connection_key(taken: Iterable[str] = ()) -> str:
    """A fresh key for an added server (never ``local``, never one in ``taken``)."""
    used = {LOCAL_KEY, *taken}
    while True:
        key = secrets.token_hex(6)
        if key not in used:
            return key


@dataclass(frozen=True, slots=True)
class NotifyPrefs:
    """Which events may become notifications, and at which level (do-not-disturb is
    stored apart).

    ``rules`` are the user's, before the built-in ones (:mod:`.rules`);
    ``critical_through``: a critical event pops up during do-not-disturb and
    quiet hours too (on by default: only failures are critical unless a rule
    says otherwise, and a failure is what must not wait until morning).
    """

    enabled: bool = True
    presence: bool = False  # people join or leave
    status: bool = False  # people's status changes (active, idle, away, do not disturb)
    muted_workspaces: frozenset[str] = field(default_factory=frozenset)
    muted_areas: frozenset[str] = field(default_factory=frozenset)
    rules: tuple[Rule, ...] = ()
    quiet_hours: QuietHours | None = None
    critical_through: bool = True


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """One server the app follows: the embedded endpoint (``port``) or a remote one (``url``).

    ``display_name`` and ``workspaces`` override the general ones when set
    (``""`` and ``None`` mean: the general value). ``token`` is held in
    memory only; it is stored in the OS keyring.
    """

    key: str
    name: str
    kind: str = REMOTE  # one of KINDS
    url: str = ""
    port: int = DEFAULT_PORT
    token: str = ""
    ca_file: str = ""
    display_name: str = ""
    workspaces: tuple[str, ...] | None = None
    enabled: bool = True

    @property
    def embedded(self) -> bool:
        return self.kind == EMBEDDED

    @property
    def address(self) -> str:
        """Where it is, for a person: the URL, or this computer's port."""
        if self.embedded:
            return f"this computer, port {self.port}" if self.port else "this computer"
        return self.url

    def endpoint(self) -> tuple[object, ...]:
        """What decides which server is followed and how (a change means: reconnect)."""
        if self.embedded:
            return (EMBEDDED, self.port)
        return (REMOTE, self.url.rstrip("/"), self.token, self.ca_file)

    def presence(
        self, display_name: str, workspaces: tuple[str, ...]
    ) -> tuple[str, tuple[str, ...]]:
        """The display name and workspaces to join with, given the general ones."""
        return (
            self.display_name or display_name,
            workspaces if self.workspaces is None else self.workspaces,
        )

    def validate(self) -> str | None:
        """A message for a person when it cannot be used, else None."""
        if not self.name.strip():
            return "every connection needs a name"
        if self.kind not in KINDS:
            return f"{self.name}: unknown kind of connection {self.kind!r}"
        if self.embedded and not 0 <= self.port <= MAX_PORT:
            return f"{self.name}: the port must be between 0 and {MAX_PORT} (0 picks a free one)"
        if not self.embedded:
            try:
                check_url(self.url)
            except ValueError as exc:
                return f"{self.name}: {exc}"
        if any("," in ws or not ws.strip() for ws in self.workspaces or ()):
            return f"{self.name}: workspace names must not be empty or contain commas"
        return None


def local_connection(**changes: object) -> ConnectionSettings:
    """The embedded endpoint's connection, with its defaults."""
    return replace(ConnectionSettings(LOCAL_KEY, LOCAL_NAME, kind=EMBEDDED), **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SettingsValues:
    """Everything the Settings dialog edits, as one value.

    ``connections`` are in display order; the first is the embedded one
    (which can be switched off but not removed).
    """

    connections: tuple[ConnectionSettings, ...] = (local_connection(),)
    display_name: str = ""
    workspaces: tuple[str, ...] = ()
    notify: NotifyPrefs = field(default_factory=NotifyPrefs)
    autostart: bool = False
    #: seconds without input before the user is idle, and away (see status_machine)
    idle_after: float = DEFAULT_IDLE_AFTER
    away_after: float = DEFAULT_AWAY_AFTER

    def connection(self, key: str) -> ConnectionSettings | None:
        return next((c for c in self.connections if c.key == key), None)

    def tokens(self) -> dict[str, str]:
        """Key -> token of every remote connection that has one."""
        return {c.key: c.token for c in self.connections if not c.embedded and c.token}

    def with_tokens(self, tokens: Mapping[str, str]) -> SettingsValues:
        """These values with the tokens of ``tokens`` filled in (others left as they are)."""
        return replace(self, connections=tuple(
            replace(c, token=tokens[c.key]) if c.key in tokens else c for c in self.connections
        ))

    def validate(self) -> str | None:
        """A message for a person when the values cannot be used, else None."""
        keys = [c.key for c in self.connections]
        if len(set(keys)) != len(keys):
            return "two connections have the same key"
        local = [c for c in self.connections if c.embedded]
        if len(local) != 1 or local[0].key != LOCAL_KEY:
            return "there must be exactly one connection to this computer's endpoint"
        names = [c.name.strip().casefold() for c in self.connections]
        for connection in self.connections:
            problem = connection.validate()
            if problem:
                return problem
            if names.count(connection.name.strip().casefold()) > 1:
                return f"two connections are called {connection.name.strip()!r}"
        if any("," in ws or not ws.strip() for ws in self.workspaces):
            return "workspace names must not be empty or contain commas"
        if not 0 < self.idle_after < self.away_after:
            return "the idle time must be shorter than the away time"
        return None
