"""The application icon in the sizes desktops ask for, from resources/icons.

Desktops look an application icon up in the hicolor theme by size
(``/usr/share/icons/hicolor/<N>x<N>/apps/<name>.png``) and fall back to
``scalable/apps/<name>.svg``: panels and menus ask for 16-48 px, launchers and
app grids for 64-256 px, HiDPI screens and software centres for 512 px.
resources/icons/render.py renders them from resources/icons/lattice-rt-tray.svg;
this module checks that every size is there and really has that size, and
installs them.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

from .project import DESKTOP_ID

__all__ = [
    "HICOLOR_SIZES",
    "IconError",
    "app_icon_png",
    "hicolor_icons",
    "install_hicolor",
    "png_size",
]

HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICON_NAME = DESKTOP_ID
ICONS_DIR = Path("resources/icons")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class IconError(Exception):
    """An icon is missing or is not what its name says."""


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    if len(header) < 24 or not header.startswith(_PNG_SIGNATURE) or header[12:16] != b"IHDR":
        raise IconError(f"{path} is not a PNG file")
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def hicolor_icons(root: Path) -> dict[str, Path]:
    """The icon files by hicolor folder ("16x16", ..., "scalable"), each checked."""
    base = root / ICONS_DIR
    icons: dict[str, Path] = {}
    for size in HICOLOR_SIZES:
        folder = f"{size}x{size}"
        path = base / "hicolor" / folder / "apps" / f"{ICON_NAME}.png"
        if not path.is_file():
            raise IconError(f"{path} is missing (run resources/icons/render.py)")
        if png_size(path) != (size, size):
            width, height = png_size(path)
            raise IconError(f"{path} is {width}x{height}, not {folder}")
        icons[folder] = path
    svg = base / f"{ICON_NAME}.svg"
    if not svg.is_file():
        raise IconError(f"{svg} is missing")
    icons["scalable"] = svg
    return icons


def install_hicolor(root: Path, theme_dir: Path) -> list[Path]:
    """Copy the icon into a hicolor tree at ``theme_dir``; returns the files written."""
    written = []
    for folder, source in hicolor_icons(root).items():
        target = theme_dir / folder / "apps" / f"{ICON_NAME}{source.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(target)
    return written


def app_icon_png(root: Path) -> Path:
    """The largest PNG, for the Windows .exe and the macOS .app icons."""
    return hicolor_icons(root)[f"{HICOLOR_SIZES[-1]}x{HICOLOR_SIZES[-1]}"]
