"""Idle time and screen lock on macOS (ctypes; tested here with a fake API).

- Idle time: ``CGEventSourceSecondsSinceLastEventType`` for any input event in
  the combined session state.
- Lock: the distributed notifications ``com.apple.screenIsLocked`` and
  ``com.apple.screenIsUnlocked``, observed through CoreFoundation's
  ``CFNotificationCenterGetDistributedCenter`` with a C callback (no
  Objective-C needed; CoreFoundation delivers them on the main run loop, which
  Qt runs). As a safety net every sample also reads
  ``CGSessionCopyCurrentDictionary()["CGSSessionScreenIsLocked"]``, at least
  every ``LOCK_POLL`` seconds.
- Sleep is not reported: after a wake-up the stream reconnects and the app
  re-joins with the status of the next sample.

The CoreGraphics and CoreFoundation calls sit behind :class:`MacApi`.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any, Protocol

from lattice_rt_tray.system.idle.base import Report, Sample

__all__ = ["LOCK_POLL", "MacApi", "MacBackend"]

#: seconds between samples while active, in case a lock notification is missed
LOCK_POLL = 30.0
ANY_INPUT_EVENT = 0xFFFFFFFF  # kCGAnyInputEventType
COMBINED_SESSION_STATE = 0  # kCGEventSourceStateCombinedSessionState
UTF8 = 0x08000100  # kCFStringEncodingUTF8
DELIVER_IMMEDIATELY = 4  # CFNotificationSuspensionBehaviorDeliverImmediately
SCREEN_LOCKED = b"com.apple.screenIsLocked"
SCREEN_UNLOCKED = b"com.apple.screenIsUnlocked"


class MacApi(Protocol):
    def seconds_since_input(self) -> float: ...

    def screen_locked(self) -> bool: ...

    def observe_lock(self, on_lock: Callable[[bool], None]) -> None:
        """Call ``on_lock(True/False)`` on every lock and unlock notification."""
        ...

    def stop_observing(self) -> None: ...


class MacBackend:
    name = "macos"
    poll_every: float | None = LOCK_POLL

    def __init__(self, api: MacApi | None = None) -> None:
        self._api = api
        self._started = False

    def start(self, report: Report) -> str:
        api = self._api = self._api or _default_api()
        api.observe_lock(report.locked)
        self._started = True
        return "CoreGraphics idle time, screen lock notifications"

    def sample(self) -> Sample:
        if self._api is None or not self._started:
            return Sample(None)
        return Sample(float(self._api.seconds_since_input()), locked=self._api.screen_locked())

    def sleep_ready(self) -> None:
        """Nothing holds the sleep back here."""

    def close(self) -> None:
        if self._api is not None:
            self._api.stop_observing()


if sys.platform == "darwin":
    _CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_void_p, ctypes.c_void_p)

    class _Quartz:
        """The real calls (CoreGraphics, CoreFoundation)."""

        def __init__(self) -> None:
            frameworks = "/System/Library/Frameworks/"
            cg: Any = ctypes.cdll.LoadLibrary(frameworks + "CoreGraphics.framework/CoreGraphics")
            cf: Any = ctypes.cdll.LoadLibrary(
                frameworks + "CoreFoundation.framework/CoreFoundation")
            cg.CGEventSourceSecondsSinceLastEventType.restype = ctypes.c_double
            cg.CGEventSourceSecondsSinceLastEventType.argtypes = [ctypes.c_int32,
                                                                  ctypes.c_uint32]
            cg.CGSessionCopyCurrentDictionary.restype = ctypes.c_void_p
            cf.CFStringCreateWithCString.restype = ctypes.c_void_p
            cf.CFStringCreateWithCString.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                     ctypes.c_uint32]
            cf.CFDictionaryGetValue.restype = ctypes.c_void_p
            cf.CFDictionaryGetValue.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            cf.CFBooleanGetValue.restype = ctypes.c_bool
            cf.CFBooleanGetValue.argtypes = [ctypes.c_void_p]
            cf.CFRelease.argtypes = [ctypes.c_void_p]
            cf.CFEqual.restype = ctypes.c_bool
            cf.CFEqual.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            cf.CFNotificationCenterGetDistributedCenter.restype = ctypes.c_void_p
            cf.CFNotificationCenterAddObserver.argtypes = [
                ctypes.c_void_p, ctypes.c_void_p, _CALLBACK, ctypes.c_void_p, ctypes.c_void_p,
                ctypes.c_long]
            cf.CFNotificationCenterRemoveEveryObserver.argtypes = [ctypes.c_void_p,
                                                                   ctypes.c_void_p]
            self._cg, self._cf = cg, cf
            self._key = self._string(b"CGSSessionScreenIsLocked")
            self._locked_name = self._string(SCREEN_LOCKED)
            self._unlocked_name = self._string(SCREEN_UNLOCKED)
            self._center = cf.CFNotificationCenterGetDistributedCenter()
            self._observer = ctypes.c_void_p(id(self))  # only its identity counts
            self._callback: Any = None  # must outlive the registration

        def _string(self, text: bytes) -> Any:
            return self._cf.CFStringCreateWithCString(None, text, UTF8)

        def observe_lock(self, on_lock: Callable[[bool], None]) -> None:
            def callback(center: Any, observer: Any, name: Any, obj: Any, info: Any) -> None:
                on_lock(bool(self._cf.CFEqual(name, self._locked_name)))

            self._callback = _CALLBACK(callback)
            for name in (self._locked_name, self._unlocked_name):
                self._cf.CFNotificationCenterAddObserver(
                    self._center, self._observer, self._callback, name, None,
                    DELIVER_IMMEDIATELY)

        def stop_observing(self) -> None:
            self._cf.CFNotificationCenterRemoveEveryObserver(self._center, self._observer)

        def seconds_since_input(self) -> float:
            return float(self._cg.CGEventSourceSecondsSinceLastEventType(
                COMBINED_SESSION_STATE, ANY_INPUT_EVENT))

        def screen_locked(self) -> bool:
            session = self._cg.CGSessionCopyCurrentDictionary()
            if not session:
                return False
            try:
                value = self._cf.CFDictionaryGetValue(session, self._key)
                return bool(value) and bool(self._cf.CFBooleanGetValue(value))
            finally:
                self._cf.CFRelease(session)

    def _default_api() -> MacApi:
        return _Quartz()

else:

    def _default_api() -> MacApi:
        raise RuntimeError("the macOS idle source runs only on macOS")
