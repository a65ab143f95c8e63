"""What the installers say about the program: read once from pyproject.toml.

The version and description live only in ``[project]`` of pyproject.toml. The
names below are the program's identity on each desktop; the app must announce
the same ones (Qt desktopFileName, the Windows AppUserModelID).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "APP_ID",
    "APP_NAME",
    "CLI_EXE",
    "DESKTOP_ID",
    "INSTALL_PREFIX",
    "TRAY_EXE",
    "WINDOWS_RUN_VALUE",
    "Project",
    "ProjectError",
    "load_project",
]

#: Human name of the program (menus, Start menu, About box, Finder).
APP_NAME = "Lattice Realtime Tray"
#: Reverse-DNS identity: macOS CFBundleIdentifier and the Windows AppUserModelID
#: (the same as lattice_rt_tray.logic.identity.BUNDLE_ID, the LaunchAgent label).
APP_ID = "dev.lattice.rt-tray"
#: The value under HKCU\...\CurrentVersion\Run (lattice_rt_tray.system.autostart.RUN_VALUE).
WINDOWS_RUN_VALUE = "LatticeRealtimeTray"
#: Freedesktop id: the .desktop file name, the icon name and the Qt desktopFileName.
DESKTOP_ID = "lattice-rt-tray"
#: The two executables of the bundle (".exe" added on Windows).
TRAY_EXE = "lattice-rt-tray"
CLI_EXE = "lattice-rt"
#: Where the .deb puts the bundle.
INSTALL_PREFIX = "/opt/lattice-rt"


class ProjectError(Exception):
    """pyproject.toml is missing or lacks a field the installers need."""


@dataclass(frozen=True)
class Project:
    """The installer-relevant part of ``[project]``."""

    root: Path
    name: str
    version: str
    summary: str
    license: str

    @property
    def pyproject(self) -> Path:
        return self.root / "pyproject.toml"


def load_project(root: Path) -> Project:
    """Read name, version, description and license from ``root/pyproject.toml``."""
    path = root / "pyproject.toml"
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ProjectError(f"{path} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path} is not valid TOML: {exc}") from exc
    table = data.get("project")
    if not isinstance(table, dict):
        raise ProjectError(f"{path} has no [project] table")
    fields = {}
    for key in ("name", "version", "description"):
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ProjectError(f"{path}: [project] {key} must be a non-empty string")
        fields[key] = value.strip()
    licence = table.get("license")
    licence_text = licence.get("text", "") if isinstance(licence, dict) else str(licence or "")
    return Project(
        root=root,
        name=fields["name"],
        version=fields["version"],
        summary=fields["description"],
        license=licence_text or "unknown",
    )
