"""Figure 6, inside the app's process: its composition root plus a GUI heartbeat.

The app is built with :func:`lattice_rt_tray.main.build` exactly as ``main()``
builds it (embedded server, client, bridge, models, tray icon; notifications
recorded instead of shown), then started. Once it has joined presence (and,
with ``--window shown``, opened its Activity window), a ``QTimer`` on the GUI
thread starts beating every ``--period-ms`` and a separate publisher process
POSTs ``--events`` events to the app's embedded server, spread over
``--seconds``. When the app has taken them all in (its client is at the last
seq and its bridge queue is empty), plus half a second, the heartbeat stops:
the longest stall is the longest interval between two beats minus the period.
Prints one JSON object.

The probe adds no slot to the app's own signals (a PySide6 signal converts
its arguments once per connected slot, so an extra listener would add work
the app does not do); it polls the client and the bridge every 20 ms instead.

Run by :func:`bench.tray.run_flood` on the private desktop; needs a display.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from lattice_rt_core.paths import read_owner_token, read_server_info
from lattice_rt_tray.main import TrayApp, build
from lattice_rt_tray.settings import Settings

from .stats import percentile
from .tray import write_settings

__all__ = ["FloodProbe", "main"]

SETTLE_MS = 500
POLL_MS = 20


class FloodProbe(QObject):
    """Drives one flood and measures the GUI thread while it lasts."""

    def __init__(self, app: TrayApp, data_dir: Path, *, events: int, seconds: float,
                 window: str, period_ms: int) -> None:
        super().__init__()
        self.app = app
        self.data_dir = data_dir
        self.events = events
        self.seconds = seconds
        self.window = window
        self.period_ms = period_ms
        self.caught_up = False
        self.last_seq: int | None = None
        self.error: str | None = None
        self.intervals: list[int] = []
        self.publish: dict[str, Any] = {}
        self._joined = False
        self._finishing = False
        self._last = 0
        self._publisher: subprocess.Popen[str] | None = None
        self._beat = QTimer(self)
        self._beat.setTimerType(Qt.TimerType.PreciseTimer)
        self._beat.setInterval(period_ms)
        self._beat.timeout.connect(self.on_beat)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.on_poll)
        self.gc_pauses: list[tuple[int, int]] = []  # (generation, ns) during the flood
        self._gc_start = 0

    @Slot(list)
    def on_joined(self, entries: list[Any]) -> None:
        if self._joined:
            return
        self._joined = True
        if self.window == "shown":
            self.app.controller.on_activity_requested()
        QTimer.singleShot(SETTLE_MS, self.begin)

    @Slot()
    def begin(self) -> None:
        info = read_server_info(self.data_dir)
        token = read_owner_token(self.data_dir)
        if not info or not token:
            self.fail("the embedded server wrote no server.json / owner.token")
            return
        gc.callbacks.append(self._on_gc)
        self._last = time.perf_counter_ns()
        self._beat.start()
        self._publisher = subprocess.Popen(
            [sys.executable, "-m", "bench.publisher", "--url", str(info["url"]),
             "--token", token, "--events", str(self.events), "--seconds", str(self.seconds)],
            stdout=subprocess.PIPE, text=True,
        )
        self._poll.start()

    @Slot()
    def on_beat(self) -> None:
        now = time.perf_counter_ns()
        self.intervals.append(now - self._last)
        self._last = now

    @Slot()
    def on_poll(self) -> None:
        publisher = self._publisher
        if publisher is None or publisher.poll() is None:
            return
        if self.last_seq is None:
            out, _ = publisher.communicate()
            if publisher.returncode != 0 or not out.strip():
                self.fail(f"the publisher failed with status {publisher.returncode}")
                return
            self.publish = json.loads(out)
            self.last_seq = int(self.publish["last_seq"])
        client = self.app.endpoint.client
        seen = client.last_event_id if client is not None else None
        if seen is not None and seen >= self.last_seq and self.app.bridge.pending() == 0:
            self._poll.stop()
            self.caught_up = True
            if not self._finishing:
                self._finishing = True
                QTimer.singleShot(SETTLE_MS, self.finish)

    @Slot()
    def on_timeout(self) -> None:
        self.fail("the app did not take in every event in time")

    def fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
        self.finish()

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        """Garbage collections (any thread) stop every thread: record how long."""
        if phase == "start":
            self._gc_start = time.perf_counter_ns()
        elif self._gc_start:
            self.gc_pauses.append((info["generation"], time.perf_counter_ns() - self._gc_start))

    @Slot()
    def finish(self) -> None:
        self._beat.stop()
        self._poll.stop()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._publisher is not None and self._publisher.poll() is None:
            self._publisher.kill()
            self._publisher.wait()
        self.app.controller.quit()

    def result(self) -> dict[str, Any]:
        period_ns = self.period_ms * 1_000_000
        stalls = [max(0, i - period_ns) for i in self.intervals]
        return {
            "window": self.window,
            "events": self.events,
            "seconds": self.seconds,
            "received": self.events if self.caught_up else 0,
            "beats": len(self.intervals),
            "period_ms": self.period_ms,
            "max_stall_ms": max(stalls, default=0) / 1e6,
            "p99_interval_ms": percentile(self.intervals, 99) / 1e6,
            "stalls_over_50ms": sum(1 for s in stalls if s > 50_000_000),
            "publish_s": self.publish.get("publish_s", float("nan")),
            "gc_runs": len(self.gc_pauses),
            "gc_max_ms": max((ns for _, ns in self.gc_pauses), default=0) / 1e6,
            "gc_gen2_runs": sum(1 for gen, _ in self.gc_pauses if gen == 2),
            "gc_total_ms": sum(ns for _, ns in self.gc_pauses) / 1e6,
            "error": self.error,
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Flood the tray app; measure GUI stalls")
    parser.add_argument("--home", type=Path, required=True, help="an empty directory")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--window", choices=("hidden", "shown"), default="hidden")
    parser.add_argument("--period-ms", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args(argv)

    qapp = QApplication([sys.argv[0]])
    qapp.setQuitOnLastWindowClosed(False)
    settings = Settings.open(write_settings(args.home))
    data_dir = args.home / "lattice-data"
    app = build(settings=settings, data_dir=data_dir,
                tray_available=QSystemTrayIcon.isSystemTrayAvailable(), notifier="record")
    probe = FloodProbe(app, data_dir, events=args.events, seconds=args.seconds,
                       window=args.window, period_ms=args.period_ms)
    app.keeper.joined.connect(probe.on_joined)
    app.controller.quit_finished.connect(qapp.quit)
    QTimer.singleShot(int(args.timeout * 1000), probe.on_timeout)
    app.controller.start()
    qapp.exec()
    app.controller.wait_for_shutdown(2.0)
    result = probe.result()
    print(json.dumps(result))
    return 0 if result["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
