"""The idle backend of this platform (its module is imported only where it runs)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from lattice_rt_tray.system.idle.base import IdleBackend

__all__ = ["choose_backend"]


def choose_backend(
    platform: str = sys.platform, env: Mapping[str, str] = os.environ
) -> IdleBackend:
    """The backend of this platform (modules are imported only where they run)."""
    if platform == "win32":
        from lattice_rt_tray.system.idle.windows import WindowsBackend

        return WindowsBackend()
    if platform == "darwin":
        from lattice_rt_tray.system.idle.macos import MacBackend

        return MacBackend()
    from lattice_rt_tray.system.idle.dbus import DBusBackend
    from lattice_rt_tray.system.idle.x11 import X11Backend

    display = env.get("DISPLAY")
    return DBusBackend(fallback=X11Backend(display) if display else None)
