"""The macOS ``Info.plist`` of "Lattice Realtime Tray.app".

PyInstaller's BUNDLE writes the file from this dictionary (merged over its own
defaults: CFBundleExecutable, CFBundlePackageType, CFBundleIconFile).

Notifications: macOS has no Info.plist usage-description key for them (unlike
camera or microphone); the permission prompt is the system's own text, shown
the first time the app posts one, under the bundle's display name and icon.
What the bundle can set is the default style, ``NSUserNotificationAlertStyle``
("banner" disappears by itself, "alert" stays until dismissed), and a stable
``CFBundleIdentifier`` under which the user's choice is remembered.
The menu-bar icon is the app's template image from resources/icons (black and
alpha only, name ending in "Template"), which the bundle carries in Resources.
"""

from __future__ import annotations

from typing import Any

from .project import APP_ID, APP_NAME, TRAY_EXE, Project

__all__ = ["MINIMUM_MACOS", "info_plist"]

#: The oldest macOS the bundled Qt 6 release supports.
MINIMUM_MACOS = "12.0"


def info_plist(project: Project) -> dict[str, Any]:
    """Info.plist entries for the app bundle, versioned from pyproject.toml."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": APP_ID,
        # The bundle holds two programs; double-clicking the app starts the tray.
        "CFBundleExecutable": TRAY_EXE,
        "CFBundleShortVersionString": project.version,
        "CFBundleVersion": project.version,
        "CFBundleDevelopmentRegion": "en",
        "LSApplicationCategoryType": "public.app-category.productivity",
        "LSMinimumSystemVersion": MINIMUM_MACOS,
        # A menu-bar (agent) app: no Dock icon, no app menu; windows still open.
        "LSUIElement": True,
        "NSHighResolutionCapable": True,
        "NSPrincipalClass": "NSApplication",
        "NSSupportsAutomaticGraphicsSwitching": True,
        "NSUserNotificationAlertStyle": "banner",
        "NSHumanReadableCopyright": f"{APP_NAME} {project.version}, {project.license} licence",
    }
