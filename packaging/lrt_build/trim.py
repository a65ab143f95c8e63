"""Which binaries the Linux bundle carries and which it leaves to the system.

PyInstaller copies every shared library it finds, including the distribution's
own (libX11, libxcb-*, fontconfig, GLib, libdbus, even GTK through Qt's GTK
theme plugin). Carried along, those go stale against the system's Mesa, X
server and font configuration, and break in ways that are hard to see. The
.deb instead depends on the Debian packages that provide them (see
``lrt_build.depends``), and the bundle keeps only what pip installed: Python,
the extension modules, and Qt with its ICU from the PySide6 wheel.

Qt plugins that a tray app never loads are left out too, which also keeps
their dependencies (GTK, libinput, Vulkan, NetworkManager, ...) out of Depends.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import PurePosixPath

__all__ = [
    "SYSTEM_LIBRARY_DIRS",
    "UNUSED_QT_PLUGINS",
    "drop_dangling_symlinks",
    "is_system_library",
    "keep_binary",
]

SYSTEM_LIBRARY_DIRS = ("/lib", "/lib32", "/lib64", "/usr/lib", "/usr/lib32", "/usr/lib64")

_PLUGINS = "PySide6/Qt/plugins/"

#: Plugin files or whole plugin directories (ending in "/") not shipped.
UNUSED_QT_PLUGINS = (
    "egldeviceintegrations/",  # eglfs on bare KMS/framebuffer devices
    "generic/",  # evdev / tuio input without a window system
    "networkinformation/",  # QNetworkInformation backends (NetworkManager, GLib)
    "printsupport/",  # CUPS
    "sqldrivers/",
    "tls/",  # Qt's TLS backends; HTTP goes through Python's ssl
    "platformthemes/libqgtk3.so",  # drags in all of GTK 3
    "platforms/libqeglfs.so",
    "platforms/libqlinuxfb.so",
    "platforms/libqminimalegl.so",
    "platforms/libqvkkhrdisplay.so",
    "platforms/libqvnc.so",
    "wayland-graphics-integration-client/libdmabuf-server.so",
    "wayland-graphics-integration-client/libdrm-egl-server.so",
    "wayland-graphics-integration-client/libshm-emulation-server.so",
    "wayland-graphics-integration-client/libvulkan-server.so",
    "wayland-shell-integration/libfullscreen-shell-v1.so",
    "wayland-shell-integration/libivi-shell.so",
    "wayland-shell-integration/libwl-shell-plugin.so",
)

#: Qt libraries only the unused plugins above link.
_UNUSED_QT_LIBRARIES = ("libQt6EglFSDeviceIntegration.so", "libQt6EglFsKmsSupport.so")


def is_system_library(source: str) -> bool:
    """True for a file the operating system's packages installed (not pip, not pyenv)."""
    path = PurePosixPath(source)
    return any(path.is_relative_to(directory) for directory in SYSTEM_LIBRARY_DIRS)


def _unused_plugin(dest: str) -> bool:
    if not dest.startswith(_PLUGINS):
        return False
    rest = dest[len(_PLUGINS) :]
    return any(
        rest.startswith(entry) if entry.endswith("/") else rest == entry
        for entry in UNUSED_QT_PLUGINS
    )


def keep_binary(dest: str, source: str) -> bool:
    """Whether the Linux bundle carries the binary PyInstaller collected as ``dest``."""
    dest = dest.replace("\\", "/")
    if is_system_library(source) or _unused_plugin(dest):
        return False
    name = PurePosixPath(dest).name
    return not any(name.startswith(prefix) for prefix in _UNUSED_QT_LIBRARIES)


TocEntry = tuple[str, str, str]


def drop_dangling_symlinks(toc: Iterable[TocEntry], present: set[str]) -> list[TocEntry]:
    """``toc`` without the SYMLINK entries whose target is not in ``present``.

    PyInstaller records the top-level links to Qt's libraries
    (``libQt6Core.so.6 -> PySide6/Qt/lib/libQt6Core.so.6``) in the data TOC;
    the link to a library left out above would point nowhere.
    """
    kept = []
    for dest, source, typecode in toc:
        if typecode == "SYMLINK":
            target = posixpath.normpath(posixpath.join(posixpath.dirname(dest), source))
            if target not in present:
                continue
        kept.append((dest, source, typecode))
    return kept
