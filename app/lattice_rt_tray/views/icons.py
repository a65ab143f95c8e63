"""Icons from the package's ``icons/`` folder (rendered from resources/icons).

Loaded with importlib.resources, so they are found in the source tree, in an
installed wheel and in a PyInstaller bundle alike. On macOS the tray uses the
black-and-alpha "template" variants, which the menu bar tints itself.
"""

from __future__ import annotations

import enum
import sys
from importlib import resources
from pathlib import Path

from PySide6.QtGui import QIcon

from lattice_rt_tray.logic.identity import APP_ID

__all__ = ["TrayState", "app_icon", "app_icon_file", "icon_dir", "tray_icon"]

TRAY_SIZES = (16, 22, 24, 32, 48, 64)
APP_SIZES = (16, 32, 48, 64, 128, 256)


class TrayState(enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"  # every connection offline or reconnecting
    WARNING = "warning"  # online, but some connection is offline or in error
    DND = "dnd"
    UNREAD = "unread"


def icon_dir() -> Path:
    return Path(str(resources.files("lattice_rt_tray") / "icons"))


def tray_icon(state: TrayState, *, template: bool | None = None) -> QIcon:
    """The tray icon for ``state``; ``template`` defaults to True on macOS."""
    folder = icon_dir()
    use_template = sys.platform == "darwin" if template is None else template
    icon = QIcon()
    if use_template:
        icon.addFile(str(folder / f"tray-{state.value}Template.png"))
        icon.addFile(str(folder / f"tray-{state.value}Template@2x.png"))
        icon.setIsMask(True)
        return icon
    for size in TRAY_SIZES:
        icon.addFile(str(folder / f"tray-{state.value}-{size}.png"))
    return icon


def app_icon_file(size: int) -> Path:
    """The app icon at ``size`` pixels (one of :data:`APP_SIZES`)."""
    return icon_dir() / f"{APP_ID}-{size}.png"


def app_icon() -> QIcon:
    icon = QIcon()
    for size in APP_SIZES:
        icon.addFile(str(app_icon_file(size)))
    return icon
