"""Measure the longest GUI-thread stall while a flood of events arrives.

    python -m lattice_rt_tray.flood [--events 10000] [--seconds 1]
                                    [--window shown|hidden] [--json]

Builds the real app as ``main()`` runs it (embedded endpoint in a temporary
data dir, notifications recorded instead of shown, no system tray, so the
Activity window is the main window: shown by default, hidden after start with
``--window hidden``), publishes ``events`` events evenly over ``seconds``
from another thread, and watches the GUI thread with a 5 ms heartbeat timer:
a stall is how late a tick fires. The events take the app's normal path (SSE
stream, client thread, bridge, coalescer, activity model and view). Prints
the longest stall, how many events reached the app (and how many the server
reported lost to it: with the publisher in the same process, it can fall
behind), and the garbage collector's pauses during the flood. A quick check
beside the benchmark's figure 6 (``bench/app_flood.py``, which publishes from
another process over HTTP).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["measure_flood"]

TICK_MS = 5


WINDOWS = ("shown", "hidden")


def measure_flood(
    events: int = 10_000, seconds: float = 1.0, *, window: str = "shown"
) -> dict[str, Any]:
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, not {window!r}")
    from PySide6.QtCore import QObject, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from .main import build, settle_after_startup
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
    settle_after_startup(app)
    received = 0

    def count(batch: list[Any]) -> None:
        nonlocal received
        received += sum(1 for e in batch if e.get("area") == "workflow")

    missed = 0  # events the server reported lost to this app (gap rows)

    def count_missed(body: dict[str, Any]) -> None:
        nonlocal missed
        value = body.get("missed")
        missed += value if isinstance(value, int) else 0

    app.bridge.events_received.connect(count)
    app.bridge.gap_received.connect(count_missed)
    app.controller.start()
    deadline = time.monotonic() + 20
    while not (app.controller.connected and not app.coalescer.holding):
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not connect")
        QTest.qWait(20)
    if window == "hidden":
        app.views.activity.hide()
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
    gc_pauses: list[tuple[int, float]] = []  # (generation, ms), any thread
    gc_started = 0.0

    def on_gc(phase: str, info: dict[str, int]) -> None:
        nonlocal gc_started
        if phase == "start":
            gc_started = time.perf_counter()
        else:
            gc_pauses.append((info["generation"], (time.perf_counter() - gc_started) * 1000))

    def publish() -> None:
        step = seconds / events
        begin = time.perf_counter()
        for i in range(events):
            bus.publish({"area": "workflow", "event_type": "workflow_run",
                         "workspace_id": f"ws_{i % 7}", "payload": {"run_id": f"r{i}"}})
            ahead = begin + (i + 1) * step - time.perf_counter()
            if ahead > 0.002:
                time.sleep(ahead)

    gc.callbacks.append(on_gc)
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
    gc.callbacks.remove(on_gc)
    thread.join(5)
    ordered = sorted(stalls)
    result = {
        "window": window,
        "events": events,
        "publish_seconds": seconds,
        "delivered": received - start_count,
        "missed": missed,
        "delivery_seconds": round(elapsed, 3),
        "rows_kept": app.activity_model.rowCount(),
        "longest_stall_ms": round(max(ordered), 2) if ordered else 0.0,
        "p99_stall_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2) if ordered else 0.0,
        "notifications": len(app.notifier.notices),  # type: ignore[attr-defined]
        "gc_max_ms": round(max((ms for _, ms in gc_pauses), default=0.0), 2),
        "gc_full_runs": sum(1 for generation, _ in gc_pauses if generation == 2),
    }
    app.controller.quit()
    deadline = time.monotonic() + 5
    while not app.controller.finished and time.monotonic() < deadline:
        QTest.qWait(20)
    app.controller.wait_for_shutdown(3)
    shutil.rmtree(work, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lattice_rt_tray.flood",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--window", choices=WINDOWS, default="shown",
                        help="the Activity window during the flood (default: shown)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.events < 1 or args.seconds <= 0:
        parser.error("--events must be at least 1 and --seconds above 0")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    result = measure_flood(args.events, args.seconds, window=args.window)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
