"""The X11 idle source against a real X server (Xvfb) with input faked through XTEST."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lattice_rt_tray.system.idle.base import Sample
from lattice_rt_tray.system.idle.x11 import X11Backend, X11Unavailable

WAIT = 10.0
SCREEN_SAVER_ACTIVE, SCREEN_SAVER_RESET = 1, 0  # XForceScreenSaver modes


class NoReports:
    def locked(self, on: bool) -> None:
        raise AssertionError("the X11 source only answers samples")

    def sleeping(self, on: bool) -> None:
        raise AssertionError("the X11 source only answers samples")


@pytest.fixture
def display() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (scripts/sysdeps.sh test installs it)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # written once the server accepts clients
    try:
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(WAIT)


class Xtest:
    """Another client of the same X server: fakes input, forces the screen saver."""

    def __init__(self, display: str) -> None:
        self.xlib: Any = ctypes.CDLL(ctypes.util.find_library("X11"))
        self.xtst: Any = ctypes.CDLL(ctypes.util.find_library("Xtst"))
        self.xlib.XOpenDisplay.restype = ctypes.c_void_p
        self.xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.xlib.XFlush.argtypes = [ctypes.c_void_p]
        self.xlib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.xlib.XForceScreenSaver.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                                   ctypes.c_int, ctypes.c_ulong]
        self.dpy = self.xlib.XOpenDisplay(display.encode())
        assert self.dpy

    def move_mouse(self, x: int) -> None:
        self.xtst.XTestFakeMotionEvent(self.dpy, -1, x, 10, 0)
        self.xlib.XSync(self.dpy, 0)

    def screen_saver(self, mode: int) -> None:
        self.xlib.XForceScreenSaver(self.dpy, mode)
        self.xlib.XSync(self.dpy, 0)

    def close(self) -> None:
        self.xlib.XCloseDisplay(self.dpy)


def idle_until(backend: X11Backend, at_least: float) -> float:
    """Sample until the server says the user has been idle ``at_least`` seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        idle = backend.sample().idle
        assert idle is not None
        if idle >= at_least:
            return idle
        assert time.monotonic() < deadline, f"idle stayed at {idle} s"
        time.sleep(0.02)


def test_idle_time_grows_and_input_resets_it(display: str) -> None:
    backend = X11Backend(display)
    xtest = Xtest(display)
    try:
        assert backend.start(NoReports()) == f"X11 screensaver extension on {display}"
        before = idle_until(backend, 0.3)
        xtest.move_mouse(100)
        after = backend.sample()
        assert after.idle is not None and after.idle < before  # the fake input counted
        assert after.locked is False
        xtest.screen_saver(SCREEN_SAVER_ACTIVE)
        assert backend.sample().locked is True  # the screen blanked: away
        xtest.screen_saver(SCREEN_SAVER_RESET)
        assert backend.sample().locked is False
    finally:
        xtest.close()
        backend.close()
    assert backend.sample() == Sample(None)  # closed: nothing more to tell


def test_a_display_that_is_not_there_is_unavailable() -> None:
    backend = X11Backend(":4999")
    with pytest.raises(X11Unavailable, match="cannot open X display ':4999'"):
        backend.start(NoReports())
