"""The macOS idle source with a fake CoreGraphics/CoreFoundation API (it cannot run here)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lattice_rt_tray.system.idle.base import Sample
from lattice_rt_tray.system.idle.macos import LOCK_POLL, MacBackend


class FakeQuartz:
    def __init__(self) -> None:
        self.idle = 0.0
        self.locked = False
        self.observer: Callable[[bool], None] | None = None

    def seconds_since_input(self) -> float:
        return self.idle

    def screen_locked(self) -> bool:
        return self.locked

    def observe_lock(self, on_lock: Callable[[bool], None]) -> None:
        self.observer = on_lock

    def stop_observing(self) -> None:
        self.observer = None


class Reports:
    def __init__(self) -> None:
        self.said: list[tuple[str, bool]] = []

    def locked(self, on: bool) -> None:
        self.said.append(("locked", on))

    def sleeping(self, on: bool) -> None:
        self.said.append(("sleeping", on))


def test_samples_carry_idle_time_and_the_lock_state() -> None:
    api = FakeQuartz()
    backend = MacBackend(api)
    assert backend.sample() == Sample(None)  # not started
    assert backend.start(Reports()) == "CoreGraphics idle time, screen lock notifications"
    api.idle = 301.25
    assert backend.sample() == Sample(301.25, locked=False)
    api.locked = True
    assert backend.sample() == Sample(301.25, locked=True)
    assert backend.poll_every == LOCK_POLL  # a missed notification is caught by a sample


def test_lock_notifications_are_reported_until_closed() -> None:
    api = FakeQuartz()
    reports = Reports()
    backend = MacBackend(api)
    backend.start(reports)
    assert api.observer is not None
    api.observer(True)
    api.observer(False)
    assert reports.said == [("locked", True), ("locked", False)]
    backend.close()
    assert api.observer is None


def test_before_start_it_cannot_tell_and_needs_macos_without_a_fake() -> None:
    assert MacBackend().sample() == Sample(None)
    with pytest.raises(RuntimeError, match="only on macOS"):
        MacBackend().start(Reports())
