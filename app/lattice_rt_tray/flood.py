"""Measure the longest GUI-thread stall while a flood of events arrives.

    python -m lattice_rt_tray.flood [--events 10000] [--seconds 1] [--json]

Builds the real app (embedded endpoint in a temporary data dir, the Activity
window shown, notifications recorded instead of shown), publishes ``events``
events evenly over ``seconds`` from another thread, and watches the GUI
thread with a 5 ms heartbeat timer: a stall is how late a tick fires. The
events take the app's normal path (SSE stream, client thread, bridge,
coalescer, activity model and view). Prints the longest stall and how many
events reached the window. For the benchmarks (``measure_flood``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["measure_flood"]

TICK_MS = 5


def measure_flood(events: int = 10_000, seconds: float = 1.0) -> dict[str, Any]:
    from PySide6.QtCore import QObject, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from .main import build
    from .notifiers import RecordingNotifier
    from .settings import Settings

    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qapp, QApplication)
    work = Path(tempfile.mkdtemp(prefix="lattice-flood-"))
    settings = Settings.open(work / "tray.ini")
    settings.update(port=0)
    root = QObject()
    app = build(
        settings=settings,
        data_dir=work / "data",
        tray_available=False,
        notifier=lambda tray, parent: RecordingNotifier(parent),
        discover_local=lambda data_dir: None,
        parent=root,
    )
    received = 0

    def count(batch: list[Any]) -> None:
        nonlocal received
        received += sum(1 for e in batch if e.get("area") == "workflow")

    app.bridge.events_received.connect(count)
    app.controller.start()
    deadline = time.monotonic() + 20
    while not (app.controller.connected and not app.coalescer.holding):
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not connect")
        QTest.qWait(20)
    QTest.qWait(300)
    server = app.endpoint.server
    assert server is not None and getattr(server, "bus", None) is not None
    bus = server.bus  # type: ignore[attr-defined]

    stalls: list[float] = []
    last = time.perf_counter()

    def tick() -> None:
        nonlocal last
        now = time.perf_counter()
        stalls.append((now - last) * 1000 - TICK_MS)
        last = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    start_count = received

    def publish() -> None:
        step = seconds / events
        begin = time.perf_counter()
        for i in range(events):
            bus.publish({"area": "workflow", "event_type": "workflow_run",
                         "workspace_id": f"ws_{i % 7}", "payload": {"run_id": f"r{i}"}})
            ahead = begin + (i + 1) * step - time.perf_counter()
            if ahead > 0.002:
                time.sleep(ahead)

    last = time.perf_counter()
    timer.start()
    started = time.perf_counter()
    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while received - start_count < events and time.monotonic() < deadline:
        QTest.qWait(10)
    elapsed = time.perf_counter() - started
    QTest.qWait(200)
    timer.stop()
    thread.join(5)
    ordered = sorted(stalls)
    result = {
        "events": events,
        "publish_seconds": seconds,
        "delivered": received - start_count,
        "delivery_seconds": round(elapsed, 3),
        "rows_kept": app.activity_model.rowCount(),
        "longest_stall_ms": round(max(ordered), 2) if ordered else 0.0,
        "p99_stall_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2) if ordered else 0.0,
        "notifications": len(app.notifier.notices),  # type: ignore[attr-defined]
    }
    app.controller.quit()
    deadline = time.monotonic() + 5
    while not app.controller.finished and time.monotonic() < deadline:
        QTest.qWait(20)
    app.controller.wait_for_shutdown(3)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lattice_rt_tray.flood",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    result = measure_flood(args.events, args.seconds)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
