"""The small interface every idle backend implements (plain Python, no Qt).

A backend may block: ``idle_dbus`` (Linux: the ScreenSaver and Mutter idle
monitor on the session bus, logind on the system bus), ``idle_x11`` (the X11
screensaver extension, where a Linux session has neither), ``idle_windows``
and ``idle_macos``. ``idle_auto.choose_backend`` picks the platform's;
``idle_watcher.IdleWatcher`` runs one on a worker thread of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["IdleBackend", "Report", "Sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at the desktop."""

    #: seconds since the last keyboard or mouse input; None: this desktop cannot tell
    idle: float | None
    #: whether the screen is locked, from a backend that can only ask (None: it reports)
    locked: bool | None = None


class Report(Protocol):
    """What a backend tells as it happens (from any of its threads)."""

    def locked(self, on: bool) -> None: ...

    def sleeping(self, on: bool) -> None: ...


class IdleBackend(Protocol):
    name: str
    #: seconds between samples even while the user is active (a backend that can
    #: only ask whether the screen is locked), or None
    poll_every: float | None

    def start(self, report: Report) -> str:
        """Connect and begin reporting; returns what was found (one line for the log)."""
        ...

    def sample(self) -> Sample: ...

    def sleep_ready(self) -> None:
        """Reported ``sleeping(True)`` and the app is done: the machine may sleep now."""
        ...

    def close(self) -> None: ...
