"""What the settings hold, as plain values (pure: no Qt, so the coalescer can use them).

:class:`SettingsValues` is everything the Settings dialog edits, as one frozen
value; :class:`NotifyPrefs` is its notification part, which the coalescer
applies. :class:`~lattice_rt_tray.settings.Settings` stores them with QSettings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lattice_rt_core.defaults import DEFAULT_PORT

__all__ = [
    "EMBEDDED",
    "MAX_PORT",
    "REMOTE",
    "SERVER_MODES",
    "NotifyPrefs",
    "SettingsValues",
    "parse_list",
]

EMBEDDED = "embedded"  # the app runs its own endpoint
REMOTE = "remote"  # the app follows a server at a URL
SERVER_MODES = (EMBEDDED, REMOTE)
MAX_PORT = 65535  # 0 picks a free port


def parse_list(text: object) -> tuple[str, ...]:
    """``"ws_a, ws_b"`` (or a stored list) -> ``("ws_a", "ws_b")``, de-duplicated."""
    items = text if isinstance(text, (list, tuple)) else str(text or "").split(",")
    out: list[str] = []
    for item in items:
        value = str(item).strip()
        if value and value not in out:
            out.append(value)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class NotifyPrefs:
    """Which events may become notifications (do-not-disturb is stored apart)."""

    enabled: bool = True
    presence: bool = False
    muted_workspaces: frozenset[str] = field(default_factory=frozenset)
    muted_areas: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class SettingsValues:
    """Everything the Settings dialog edits, as one value."""

    server_mode: str = EMBEDDED  # one of SERVER_MODES
    port: int = DEFAULT_PORT
    remote_url: str = ""
    remote_token: str = ""
    display_name: str = ""
    workspaces: tuple[str, ...] = ()
    notify: NotifyPrefs = field(default_factory=NotifyPrefs)
    autostart: bool = False

    def validate(self) -> str | None:
        """A message for a person when the values cannot be used, else None."""
        if self.server_mode not in SERVER_MODES:
            return f"unknown server mode {self.server_mode!r}"
        if self.server_mode == EMBEDDED and not 0 <= self.port <= MAX_PORT:
            return f"the port must be between 0 and {MAX_PORT} (0 picks a free one)"
        if self.server_mode == REMOTE:
            url = self.remote_url.strip()
            if not url.startswith(("http://", "https://")) or len(url) < 10:
                return "the server URL must start with http:// or https://"
        if any("," in ws or not ws.strip() for ws in self.workspaces):
            return "workspace names must not be empty or contain commas"
        return None
