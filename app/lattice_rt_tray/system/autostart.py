"""Start at login: one code path, three places the desktop looks.

* Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/lattice-rt-tray.desktop``;
* Windows: a value in ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``;
* macOS: ``~/Library/LaunchAgents/dev.lattice.rt-tray.plist``.

Everything the code touches (platform, home, config dir, the registry store)
is injected, so all three are tested on any machine.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Protocol

from lattice_rt_tray.logic.identity import APP_ID, APP_NAME, BUNDLE_ID, SUMMARY

__all__ = ["Autostart", "Registry", "launch_command"]

RUN_KEY = "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"
RUN_VALUE = "LatticeRealtimeTray"


class Registry(Protocol):
    """The part of QSettings(RUN_KEY, NativeFormat) used for the Run key."""

    def setValue(self, key: str, value: object) -> None: ...
    def value(self, key: str, defaultValue: object = ...) -> object: ...
    def remove(self, key: str) -> None: ...
    def contains(self, key: str) -> bool: ...
    def sync(self) -> None: ...


def launch_command() -> list[str]:
    """How to start this app again: the bundle, the installed script, or python -m."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = shutil.which(APP_ID)
    if script:
        return [script]
    return [sys.executable, "-m", "lattice_rt_tray"]


class Autostart:
    def __init__(
        self,
        *,
        platform: str = sys.platform,
        home: Path | None = None,
        config_dir: Path | None = None,
        registry: Registry | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.platform = platform
        self.home = home or Path.home()
        xdg = os.environ.get("XDG_CONFIG_HOME")
        self.config_dir = config_dir or (Path(xdg) if xdg else self.home / ".config")
        self._registry = registry
        self.command = command or launch_command()

    @property
    def path(self) -> Path | None:
        """The file this platform reads (None on Windows, which uses the registry)."""
        if self.platform.startswith("win"):
            return None
        if self.platform == "darwin":
            return self.home / "Library" / "LaunchAgents" / f"{BUNDLE_ID}.plist"
        return self.config_dir / "autostart" / f"{APP_ID}.desktop"

    def enabled(self) -> bool:
        if self.platform.startswith("win"):
            return self.registry().contains(RUN_VALUE)
        path = self.path
        return path is not None and path.exists()

    def set_enabled(self, enabled: bool) -> None:
        if self.platform.startswith("win"):
            registry = self.registry()
            if enabled:
                registry.setValue(RUN_VALUE, subprocess_line(self.command))
            else:
                registry.remove(RUN_VALUE)
            registry.sync()
            return
        path = self.path
        assert path is not None
        if not enabled:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self._plist() if self.platform == "darwin" else self._desktop_entry().encode()
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def registry(self) -> Registry:
        if self._registry is None:
            from PySide6.QtCore import QSettings

            self._registry = QSettings(RUN_KEY, QSettings.Format.NativeFormat)
        return self._registry

    def _desktop_entry(self) -> str:
        return (
            "[Desktop Entry]\n"
            "Type=Application\n"
            f"Name={APP_NAME}\n"
            f"Comment={SUMMARY}\n"
            f"TryExec={self.command[0]}\n"
            f"Exec={_desktop_exec(self.command)}\n"
            f"Icon={APP_ID}\n"
            "Terminal=false\n"
            "Categories=Network;Office;\n"
            "X-GNOME-Autostart-enabled=true\n"
        )

    def _plist(self) -> bytes:
        import plistlib  # macOS only: it brings in an XML parser the others never need

        return plistlib.dumps(
            {
                "Label": BUNDLE_ID,
                "ProgramArguments": list(self.command),
                "RunAtLoad": True,
                "ProcessType": "Interactive",
            }
        )


def subprocess_line(command: list[str]) -> str:
    """A Windows command line (each part quoted)."""
    return " ".join(f'"{part}"' if " " in part else part for part in command)


def _desktop_exec(command: list[str]) -> str:
    """The Exec= value: quoted per the desktop entry spec, ``%`` doubled."""
    return " ".join(shlex.quote(part).replace("%", "%%") for part in command)
