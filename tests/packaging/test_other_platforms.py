"""The Windows and macOS definitions, checked here since they cannot be built here."""

from __future__ import annotations

import plistlib
import re
from pathlib import Path

from lrt_build import macos
from lrt_build.project import (
    APP_ID,
    APP_NAME,
    DESKTOP_ID,
    TRAY_EXE,
    WINDOWS_RUN_VALUE,
    load_project,
)

from lattice_rt_tray.logic import identity
from lattice_rt_tray.system import autostart

ROOT = Path(__file__).resolve().parents[2]
ISS = ROOT / "packaging" / "windows" / "lattice-rt.iss"
SPEC = ROOT / "packaging" / "lattice-rt.spec"


def test_the_installers_name_the_app_as_the_app_names_itself() -> None:
    # the build tool keeps its own copies (it does not import the app): they must agree
    assert (APP_NAME, APP_ID) == (identity.APP_NAME, identity.BUNDLE_ID)
    assert DESKTOP_ID == TRAY_EXE == identity.APP_ID
    assert WINDOWS_RUN_VALUE == autostart.RUN_VALUE


def test_info_plist_is_a_valid_plist_with_the_identity_and_version() -> None:
    project = load_project(ROOT)
    plist = plistlib.loads(plistlib.dumps(macos.info_plist(project)))
    assert plist["CFBundleIdentifier"] == APP_ID
    assert plist["CFBundleExecutable"] == TRAY_EXE  # not the CLI next to it
    assert plist["CFBundleShortVersionString"] == project.version
    assert plist["CFBundleVersion"] == project.version
    assert plist["CFBundleDisplayName"] == APP_NAME
    assert plist["LSUIElement"] is True  # menu-bar app: no Dock icon
    assert plist["NSUserNotificationAlertStyle"] in ("banner", "alert")


def test_app_bundle_carries_the_menu_bar_template_icons() -> None:
    # The .app gets the app's package data; macOS needs "...Template" images there.
    icons = ROOT / "app" / "lattice_rt_tray" / "icons"
    templates = sorted(p.name for p in icons.glob("*Template*.png"))
    assert templates, "no macOS template tray icons in the app's package data"
    assert 'collect_data_files("lattice_rt_tray")' in SPEC.read_text()


def _iss_defines() -> dict[str, str]:
    return dict(re.findall(r'^#define (\w+) "([^"]*)"$', ISS.read_text(), flags=re.M))


def test_inno_setup_uses_the_project_identity() -> None:
    defines = _iss_defines()
    assert defines["AppName"] == APP_NAME
    assert defines["AppUserModelID"] == APP_ID
    assert defines["TrayExe"] == f"{TRAY_EXE}.exe"
    assert defines["RunValue"] == WINDOWS_RUN_VALUE


def test_inno_setup_version_comes_from_the_command_line() -> None:
    text = ISS.read_text()
    assert "#ifndef AppVersion\n  #error" in text
    assert "AppVersion={#AppVersion}" in text
    assert not re.search(r"^AppVersion=\d", text, flags=re.M)


def test_inno_setup_start_menu_shortcut_carries_the_app_user_model_id() -> None:
    icons = [line for line in ISS.read_text().splitlines() if line.startswith("Name: ")]
    start_menu = [line for line in icons if "{autoprograms}" in line]
    assert len(start_menu) == 1
    assert 'AppUserModelID: "{#AppUserModelID}"' in start_menu[0]
    assert "{app}\\{#TrayExe}" in start_menu[0]


def test_inno_setup_autostart_is_optional_and_removed_on_uninstall() -> None:
    text = ISS.read_text()
    assert re.search(r'^Name: "autostart";.*Flags: unchecked$', text, flags=re.M)
    run_entries = [line for line in text.splitlines() if "CurrentVersion\\Run" in line]
    created = [line for line in run_entries if "ValueType: string" in line]
    assert len(created) == 1 and "Tasks: autostart" in created[0]
    assert any("ValueType: none" in line and "uninsdeletevalue" in line for line in run_entries)
