"""The .desktop files and the hicolor icons the .deb installs."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from lrt_build import icons
from lrt_build.project import APP_NAME, DESKTOP_ID, TRAY_EXE

ROOT = Path(__file__).resolve().parents[2]
MENU_ENTRY = ROOT / "resources" / "lattice-rt-tray.desktop"
AUTOSTART_ENTRY = ROOT / "resources" / "autostart" / "lattice-rt-tray.desktop"


def _entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None, reason="needs desktop-file-utils"
)
@pytest.mark.parametrize("path", [MENU_ENTRY, AUTOSTART_ENTRY], ids=["menu", "autostart"])
def test_desktop_file_validates(path: Path) -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.parametrize("path", [MENU_ENTRY, AUTOSTART_ENTRY], ids=["menu", "autostart"])
def test_desktop_file_starts_the_installed_tray_app(path: Path) -> None:
    entry = _entry(path)
    assert entry["Exec"] == TRAY_EXE
    # TryExec: once the package is removed, a user's copied autostart entry is skipped.
    assert entry["TryExec"] == TRAY_EXE
    assert entry["Icon"] == DESKTOP_ID
    assert entry["Name"] == APP_NAME
    assert entry["Terminal"] == "false"


def test_menu_entry_is_shown_and_autostart_entry_is_not() -> None:
    assert _entry(MENU_ENTRY).get("NoDisplay", "false") == "false"
    assert _entry(AUTOSTART_ENTRY)["NoDisplay"] == "true"
    assert "Categories" in _entry(MENU_ENTRY)


def test_every_hicolor_size_is_present_and_really_that_size() -> None:
    found = icons.hicolor_icons(ROOT)
    assert list(found) == [f"{s}x{s}" for s in icons.HICOLOR_SIZES] + ["scalable"]
    for folder, path in found.items():
        if folder != "scalable":
            assert icons.png_size(path) == tuple(int(n) for n in folder.split("x"))


def test_a_mislabelled_icon_is_refused(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "resources" / "icons", tmp_path / "resources" / "icons")
    small = tmp_path / "resources/icons/hicolor/16x16/apps/lattice-rt-tray.png"
    big = tmp_path / "resources/icons/hicolor/48x48/apps/lattice-rt-tray.png"
    shutil.copyfile(small, big)
    with pytest.raises(icons.IconError, match="is 16x16, not 48x48"):
        icons.hicolor_icons(tmp_path)


def test_a_missing_icon_size_is_refused(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "resources" / "icons", tmp_path / "resources" / "icons")
    (tmp_path / "resources/icons/hicolor/22x22/apps/lattice-rt-tray.png").unlink()
    with pytest.raises(icons.IconError, match="22x22.*is missing"):
        icons.hicolor_icons(tmp_path)


def test_png_size_refuses_a_file_that_is_not_png(tmp_path: Path) -> None:
    bogus = tmp_path / "icon.png"
    bogus.write_bytes(b"GIF89a" + bytes(30))
    with pytest.raises(icons.IconError, match="is not a PNG file"):
        icons.png_size(bogus)


def test_install_hicolor_writes_the_theme_layout(tmp_path: Path) -> None:
    written = icons.install_hicolor(ROOT, tmp_path / "hicolor")
    relative = sorted(p.relative_to(tmp_path / "hicolor").as_posix() for p in written)
    expected = sorted(
        [f"{s}x{s}/apps/{DESKTOP_ID}.png" for s in icons.HICOLOR_SIZES]
        + [f"scalable/apps/{DESKTOP_ID}.svg"]
    )
    assert relative == expected
