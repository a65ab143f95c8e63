"""Idle time, session lock and sleep on Windows (ctypes; tested here with a fake API).

- Idle time: ``GetLastInputInfo`` against ``GetTickCount`` (both 32-bit
  millisecond counters, so the difference is taken modulo 2**32).
- Lock: ``WTSRegisterSessionNotification`` on a hidden window of ours, which
  then receives ``WM_WTSSESSION_CHANGE`` with ``WTS_SESSION_LOCK``/``UNLOCK``.
- Sleep: the same window receives ``WM_POWERBROADCAST``: ``PBT_APMSUSPEND``
  before (Windows gives about two seconds; nothing can hold it longer),
  ``PBT_APMRESUMEAUTOMATIC``/``PBT_APMRESUMESUSPEND`` after.

The window lives on a thread of its own that runs its message loop; the
Win32 calls sit behind :class:`WinApi`, so the logic is tested with a fake.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from lattice_rt_tray.system.idle.base import Report, Sample

__all__ = ["WinApi", "WindowsBackend"]

WM_WTSSESSION_CHANGE = 0x02B1
WTS_SESSION_LOCK = 0x7
WTS_SESSION_UNLOCK = 0x8
WM_POWERBROADCAST = 0x0218
PBT_APMSUSPEND = 0x4
PBT_APMRESUMESUSPEND = 0x7
PBT_APMRESUMEAUTOMATIC = 0x12
WM_QUIT = 0x0012
NOTIFY_FOR_THIS_SESSION = 0


class WinApi(Protocol):
    def tick_count(self) -> int:
        """``GetTickCount``: milliseconds since boot, 32 bits."""
        ...

    def last_input_tick(self) -> int:
        """``GetLastInputInfo().dwTime``: the tick count of the last input."""
        ...

    def run_window(self, on_message: Callable[[int, int], None]) -> None:
        """Create the hidden window, register it for session notifications and
        run its message loop until :meth:`stop`; calls ``on_message(msg, wparam)``."""
        ...

    def stop(self) -> None:
        """End the message loop (any thread)."""
        ...


class WindowsBackend:
    name = "windows"
    poll_every: float | None = None

    def __init__(self, api: WinApi | None = None) -> None:
        self._api = api
        self._report: Report | None = None
        self._thread: threading.Thread | None = None

    def start(self, report: Report) -> str:
        api = self._api = self._api or _default_api()
        self._report = report
        self._thread = threading.Thread(target=api.run_window, args=(self.on_message,),
                                        name="idle-windows", daemon=True)
        self._thread.start()
        return "GetLastInputInfo, WTS session notifications, power broadcasts"

    def sample(self) -> Sample:
        if self._api is None or self._report is None:  # not started
            return Sample(None)
        elapsed = (self._api.tick_count() - self._api.last_input_tick()) & 0xFFFFFFFF
        return Sample(elapsed / 1000.0)

    def sleep_ready(self) -> None:
        """Nothing holds the sleep back here."""

    def close(self) -> None:
        if self._api is not None and self._thread is not None:
            self._api.stop()
            self._thread.join(2.0)
            self._thread = None

    def on_message(self, msg: int, wparam: int) -> None:
        """A window message (on the window's thread): lock, unlock, suspend, resume."""
        report = self._report
        if report is None:
            return
        if msg == WM_WTSSESSION_CHANGE and wparam in (WTS_SESSION_LOCK, WTS_SESSION_UNLOCK):
            report.locked(wparam == WTS_SESSION_LOCK)
        elif msg == WM_POWERBROADCAST and wparam == PBT_APMSUSPEND:
            report.sleeping(True)
        elif msg == WM_POWERBROADCAST and wparam in (PBT_APMRESUMEAUTOMATIC,
                                                      PBT_APMRESUMESUSPEND):
            report.sleeping(False)


if sys.platform == "win32":
    from ctypes import wintypes

    class _LastInputInfo(ctypes.Structure):
        _fields_ = [("cbSize", wintypes.UINT), ("dwTime", wintypes.DWORD)]

    _WNDPROC = ctypes.WINFUNCTYPE(ctypes.c_ssize_t, wintypes.HWND, wintypes.UINT,
                                  wintypes.WPARAM, wintypes.LPARAM)

    class _WndClass(ctypes.Structure):
        _fields_ = [
            ("style", wintypes.UINT), ("lpfnWndProc", _WNDPROC), ("cbClsExtra", ctypes.c_int),
            ("cbWndExtra", ctypes.c_int), ("hInstance", wintypes.HINSTANCE),
            ("hIcon", wintypes.HICON), ("hCursor", wintypes.HANDLE),
            ("hbrBackground", wintypes.HBRUSH), ("lpszMenuName", wintypes.LPCWSTR),
            ("lpszClassName", wintypes.LPCWSTR),
        ]

    class _Win32:
        """The real calls (user32, kernel32, wtsapi32)."""

        CLASS_NAME = "LatticeRtIdleWindow"

        def __init__(self) -> None:
            self._user32: Any = ctypes.WinDLL("user32", use_last_error=True)
            self._kernel32: Any = ctypes.WinDLL("kernel32")
            self._wts: Any = ctypes.WinDLL("wtsapi32")
            self._user32.DefWindowProcW.restype = ctypes.c_ssize_t
            self._user32.DefWindowProcW.argtypes = [wintypes.HWND, wintypes.UINT,
                                                    wintypes.WPARAM, wintypes.LPARAM]
            self._user32.CreateWindowExW.restype = wintypes.HWND
            self._kernel32.GetTickCount.restype = wintypes.DWORD
            self._kernel32.GetModuleHandleW.restype = wintypes.HMODULE
            self._thread_id: int | None = None
            self._ready = threading.Event()
            self._proc: Any = None  # the callback must outlive the window

        def tick_count(self) -> int:
            return int(self._kernel32.GetTickCount())

        def last_input_tick(self) -> int:
            info = _LastInputInfo(cbSize=ctypes.sizeof(_LastInputInfo))
            if not self._user32.GetLastInputInfo(ctypes.byref(info)):
                raise ctypes.WinError(ctypes.get_last_error())
            return int(info.dwTime)

        def run_window(self, on_message: Callable[[int, int], None]) -> None:
            user32 = self._user32

            def proc(hwnd: Any, msg: int, wparam: int, lparam: int) -> int:
                if msg in (WM_WTSSESSION_CHANGE, WM_POWERBROADCAST):
                    on_message(msg, int(wparam))
                return int(user32.DefWindowProcW(hwnd, msg, wparam, lparam))

            self._proc = _WNDPROC(proc)
            instance = self._kernel32.GetModuleHandleW(None)
            wc = _WndClass(lpfnWndProc=self._proc, hInstance=instance,
                           lpszClassName=self.CLASS_NAME)
            user32.RegisterClassW(ctypes.byref(wc))
            hwnd = user32.CreateWindowExW(0, self.CLASS_NAME, "lattice-rt idle", 0, 0, 0, 0, 0,
                                          None, None, instance, None)
            self._thread_id = int(self._kernel32.GetCurrentThreadId())
            self._ready.set()
            self._wts.WTSRegisterSessionNotification(hwnd, NOTIFY_FOR_THIS_SESSION)
            msg = wintypes.MSG()
            try:
                while user32.GetMessageW(ctypes.byref(msg), None, 0, 0) > 0:
                    user32.TranslateMessage(ctypes.byref(msg))
                    user32.DispatchMessageW(ctypes.byref(msg))
            finally:
                self._wts.WTSUnRegisterSessionNotification(hwnd)
                user32.DestroyWindow(hwnd)
                user32.UnregisterClassW(self.CLASS_NAME, instance)

        def stop(self) -> None:
            if self._ready.wait(2.0) and self._thread_id is not None:
                self._user32.PostThreadMessageW(self._thread_id, WM_QUIT, 0, 0)

    def _default_api() -> WinApi:
        return _Win32()

else:

    def _default_api() -> WinApi:
        raise RuntimeError("the Windows idle source runs only on Windows")
