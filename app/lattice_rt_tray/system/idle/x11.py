"""Idle time from the X11 MIT-SCREEN-SAVER extension (libXss, through ctypes).

For Linux sessions whose bus has neither GNOME's idle monitor nor a
ScreenSaver service (plain X window managers; XWayland does not see other
clients' input, so a Wayland session needs the D-Bus services instead).
``XScreenSaverQueryInfo`` gives the milliseconds since the last input and
whether the X screen saver is on (the screen blanked: reported as locked).
The display is opened on the thread that runs the backend and only used there.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

from lattice_rt_tray.system.idle.base import Report, Sample

__all__ = ["X11Backend", "X11Unavailable"]

SCREEN_SAVER_ON = 1  # XScreenSaverInfo.state


class X11Unavailable(RuntimeError):
    """No libX11/libXss, no display, or the server lacks the extension."""


class _Info(ctypes.Structure):
    _fields_ = [
        ("window", ctypes.c_ulong),
        ("state", ctypes.c_int),
        ("kind", ctypes.c_int),
        ("til_or_since", ctypes.c_ulong),
        ("idle", ctypes.c_ulong),
        ("event_mask", ctypes.c_ulong),
    ]


def _load(name: str) -> Any:
    path = ctypes.util.find_library(name)
    if path is None:
        raise X11Unavailable(f"lib{name} is not installed")
    return ctypes.CDLL(path)


class X11Backend:
    name = "x11"
    poll_every: float | None = None

    def __init__(self, display: str | None) -> None:
        self._display_name = display
        self._xlib: Any = None
        self._xss: Any = None
        self._dpy: int | None = None
        self._info: Any = None

    def start(self, report: Report) -> str:
        xlib, xss = _load("X11"), _load("Xss")
        xlib.XOpenDisplay.restype = ctypes.c_void_p
        xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        xlib.XDefaultRootWindow.restype = ctypes.c_ulong
        xlib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
        xlib.XFree.argtypes = [ctypes.c_void_p]
        xss.XScreenSaverQueryExtension.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
        xss.XScreenSaverAllocInfo.restype = ctypes.POINTER(_Info)
        xss.XScreenSaverQueryInfo.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_Info)]
        name = self._display_name.encode() if self._display_name else None
        dpy = xlib.XOpenDisplay(name)
        if not dpy:
            raise X11Unavailable(f"cannot open X display {self._display_name!r}")
        event, error = ctypes.c_int(), ctypes.c_int()
        if not xss.XScreenSaverQueryExtension(dpy, ctypes.byref(event), ctypes.byref(error)):
            xlib.XCloseDisplay(dpy)
            raise X11Unavailable("the X server has no MIT-SCREEN-SAVER extension")
        self._xlib, self._xss, self._dpy = xlib, xss, dpy
        self._info = xss.XScreenSaverAllocInfo()
        return f"X11 screensaver extension on {self._display_name}"

    def sample(self) -> Sample:
        if self._dpy is None:
            return Sample(None)
        root = self._xlib.XDefaultRootWindow(self._dpy)
        if not self._xss.XScreenSaverQueryInfo(self._dpy, root, self._info):
            return Sample(None)
        info = self._info.contents
        return Sample(info.idle / 1000.0, locked=info.state == SCREEN_SAVER_ON)

    def sleep_ready(self) -> None:
        """Nothing holds the sleep back here."""

    def close(self) -> None:
        if self._dpy is None:
            return
        if self._info:
            self._xlib.XFree(self._info)
        self._xlib.XCloseDisplay(self._dpy)
        self._dpy = self._info = None
