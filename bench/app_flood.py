"""Figure 6, inside the app's process: its composition root plus a GUI heartbeat.

The app is built with :func:`lattice_rt_tray.main.build` exactly as ``main()``
builds it (embedded server, client, bridge, models, tray icon; notifications
recorded instead of shown), then started. Once it has joined presence (and,
with ``--window shown``, opened its Activity window), a ``QTimer`` on the GUI
thread starts beating every ``--period-ms`` and a separate publisher process
POSTs ``--events`` events to the app's embedded server, spread over
``--seconds``. When the app has received them all (plus half a second), the
heartbeat stops: the longest stall is the longest interval between two beats
minus the period. Prints one JSON object.

Run by :func:`bench.tray.run_flood` on the private desktop; needs a display.
"""

from __future__ import annotations

import argparse
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
        self.received = 0
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
        self._last = time.perf_counter_ns()
        self._beat.start()
        self._publisher = subprocess.Popen(
            [sys.executable, "-m", "bench.publisher", "--url", str(info["url"]),
             "--token", token, "--events", str(self.events), "--seconds", str(self.seconds)],
            stdout=subprocess.PIPE, text=True,
        )

    @Slot()
    def on_beat(self) -> None:
        now = time.perf_counter_ns()
        self.intervals.append(now - self._last)
        self._last = now

    @Slot(list)
    def on_events(self, batch: list[Any]) -> None:
        self.received += sum(
            1 for e in batch if isinstance(e, dict) and e.get("area") == "workflow"
        )
        if self.received >= self.events and not self._finishing:
            self._finishing = True
            QTimer.singleShot(SETTLE_MS, self.finish)

    @Slot()
    def on_timeout(self) -> None:
        self.fail(f"only {self.received} of {self.events} events arrived in time")

    def fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
        self.finish()

    @Slot()
    def finish(self) -> None:
        self._beat.stop()
        if self._publisher is not None:
            out, _ = self._publisher.communicate(timeout=30)
            if self._publisher.returncode == 0 and out.strip():
                self.publish = json.loads(out)
            elif self.error is None:
                self.error = f"publisher failed with status {self._publisher.returncode}"
            self._publisher = None
        self.app.controller.quit()

    def result(self) -> dict[str, Any]:
        period_ns = self.period_ms * 1_000_000
        stalls = [max(0, i - period_ns) for i in self.intervals]
        return {
            "window": self.window,
            "events": self.events,
            "seconds": self.seconds,
            "received": self.received,
            "beats": len(self.intervals),
            "period_ms": self.period_ms,
            "max_stall_ms": max(stalls, default=0) / 1e6,
            "p99_interval_ms": percentile(self.intervals, 99) / 1e6,
            "stalls_over_50ms": sum(1 for s in stalls if s > 50_000_000),
            "publish_s": self.publish.get("publish_s", float("nan")),
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
    app.bridge.events_received.connect(probe.on_events)
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
