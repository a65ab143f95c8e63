"""Render the icon SVGs in this folder to the PNGs the app and the packages use.

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/icons/render.py

Writes, next to the sources:

* ``png/tray-<state>-<size>.png`` for every tray state (online, offline, dnd,
  unread, warning) at the sizes tray hosts ask for;
* ``png/tray-<state>Template.png`` and ``...Template@2x.png``: the macOS
  menu-bar template images (black plus alpha; the name suffix is what macOS
  looks for);
* ``hicolor/<n>x<n>/apps/lattice-rt-tray.png``: the application icon in the
  freedesktop icon-theme layout, for installers;

and copies what the running app loads into the package
(``app/lattice_rt_tray/icons/``), so a wheel or a PyInstaller bundle carries
it. ``tests/app/test_icons.py`` checks the copies match.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
PACKAGE_ICONS = HERE.parent.parent / "app" / "lattice_rt_tray" / "icons"

TRAY_STATES = ("online", "offline", "dnd", "unread", "warning")
TRAY_SIZES = (16, 22, 24, 32, 48, 64)
APP_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
PACKAGE_APP_SIZES = (16, 32, 48, 64, 128, 256)


def render(svg: Path, size: int, out: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot parse {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"cannot write {out}")


def main() -> int:
    QGuiApplication(sys.argv[:1])
    png = HERE / "png"
    written: list[Path] = []
    for state in TRAY_STATES:
        for size in TRAY_SIZES:
            out = png / f"tray-{state}-{size}.png"
            render(HERE / f"tray-{state}.svg", size, out)
            written.append(out)
        template = HERE / f"tray-{state}-template.svg"
        for size, suffix in ((16, ""), (32, "@2x")):
            out = png / f"tray-{state}Template{suffix}.png"
            render(template, size, out)
            written.append(out)
    for size in APP_SIZES:
        out = HERE / "hicolor" / f"{size}x{size}" / "apps" / "lattice-rt-tray.png"
        render(HERE / "lattice-rt-tray.svg", size, out)
        if size in PACKAGE_APP_SIZES:
            written.append(out)

    PACKAGE_ICONS.mkdir(parents=True, exist_ok=True)
    for old in PACKAGE_ICONS.glob("*.png"):
        old.unlink()
    for path in written:
        if path.parent.name == "apps":
            size = path.parent.parent.name.split("x")[0]
            name = f"lattice-rt-tray-{size}.png"
        else:
            name = path.name
        shutil.copyfile(path, PACKAGE_ICONS / name)
    shutil.copyfile(HERE / "lattice-rt-tray.svg", PACKAGE_ICONS / "lattice-rt-tray.svg")
    print(f"rendered {len(written)} icons into {png} and {PACKAGE_ICONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
