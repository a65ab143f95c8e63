"""Who the app is to the desktop: its names and ids, defined once (pure).

The packaging (``packaging/lrt_build/project.py``) keeps its own copies for
the installers; ``tests/packaging`` checks that they agree with these.
"""

from __future__ import annotations

__all__ = ["APP_ID", "APP_NAME", "BUNDLE_ID", "PRODUCT", "SUMMARY"]

PRODUCT = "Lattice Realtime"  # window titles: "Lattice Realtime — Activity"
APP_NAME = f"{PRODUCT} Tray"  # notifications, the tooltip, the autostart entry
SUMMARY = "Live presence and activity for Lattice workspaces"
#: freedesktop id: the executable, the .desktop file and icon name, Qt's application name
APP_ID = "lattice-rt-tray"
#: reverse-DNS id: the macOS LaunchAgent label and the Windows AppUserModelID
BUNDLE_ID = "dev.lattice.rt-tray"
