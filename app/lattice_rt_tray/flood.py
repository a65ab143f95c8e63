"""Measure the longest GUI-thread stall while a flood of events arrives.

    python -m lattice_rt_tray.flood [--events 10000] [--seconds 1]
                                    [--window shown|hidden] [--json]

Builds the real app as ``main()`` runs it (embedded endpoint in a temporary
data dir, notifications recorded instead of shown, no system tray, so the
Activity window is the main window: shown by default, hidden after start with
``--window hidden``). Once it is connected, a child process POSTs ``events``
events to the app's embedded server in lists of 100, evenly over
``seconds``, the way other programs publish, while a 5 ms heartbeat timer
watches the GUI thread: a stall is how late a tick fires. The events take
the app's normal path (HTTP, bus, SSE stream, client thread, bridge,
coalescer, activity model and view). Prints the longest stall, how many
events reached the app (and how many the server reported lost to it), and
the garbage collector's pauses during the flood.

A quick check beside the benchmark's figure 6 (``bench/app_flood.py``, on a
private X desktop); this one runs anywhere (offscreen without a display).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["measure_flood"]

TICK_MS = 5
POLL_MS = 20  # how often the waiting loop looks at its condition
WINDOWS = ("shown", "hidden")
BATCH = 100  # events per POST
CONNECT_TIMEOUT = 20.0
DELIVERY_TIMEOUT = 60.0


def measure_flood(
    events: int = 10_000, seconds: float = 1.0, *, window: str = "shown"
) -> dict[str, Any]:
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, not {window!r}")
    from PySide6.QtCore import QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from lattice_rt_core.paths import read_owner_token

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
    missed = 0  # events the server reported lost to this app (gap rows)

    def count(batch: list[Any]) -> None:
        nonlocal received
        received += sum(1 for e in batch if e.get("area") == "workflow")

    def count_missed(body: dict[str, Any]) -> None:
        nonlocal missed
        value = body.get("missed")
        missed += value if isinstance(value, int) else 0

    app.bridge.events_received.connect(count)
    app.bridge.gap_received.connect(count_missed)
    publisher: subprocess.Popen[str] | None = None
    try:
        app.controller.start()
        if not _run_until(lambda: app.controller.connected and not app.coalescer.holding,
                          CONNECT_TIMEOUT):
            raise RuntimeError("the app did not connect")
        if window == "hidden":
            app.views.activity.hide()
        _run_until(lambda: False, 0.3)
        url, token = app.endpoint.url, read_owner_token(work / "data")
        if not url or not token:
            raise RuntimeError("the embedded server wrote no URL or owner token")

        stalls: list[float] = []
        gc_pauses: list[tuple[int, float]] = []  # (generation, ms), any thread
        last = gc_started = 0.0

        def tick() -> None:
            nonlocal last
            now = time.perf_counter()
            stalls.append((now - last) * 1000 - TICK_MS)
            last = now

        def on_gc(phase: str, info: dict[str, int]) -> None:
            nonlocal gc_started
            if phase == "start":
                gc_started = time.perf_counter()
            else:
                gc_pauses.append((info["generation"], (time.perf_counter() - gc_started) * 1000))

        timer = QTimer()
        timer.setInterval(TICK_MS)
        timer.timeout.connect(tick)
        start_count = received
        gc.callbacks.append(on_gc)
        last = started = time.perf_counter()
        timer.start()
        publisher = _spawn_publisher(url, token, events, seconds)
        _run_until(
            lambda: received - start_count + missed >= events or publisher.poll() not in (None, 0),
            DELIVERY_TIMEOUT,
        )
        elapsed = time.perf_counter() - started
        _run_until(lambda: False, 0.2)
        timer.stop()
        gc.callbacks.remove(on_gc)
        if publisher.wait(timeout=DELIVERY_TIMEOUT) != 0:
            raise RuntimeError(f"the publisher failed with status {publisher.returncode}")
        assert publisher.stdout is not None
        published = json.loads(publisher.stdout.read())
        ordered = sorted(stalls)
        return {
            "window": window,
            "events": events,
            "publish_seconds": round(float(published["publish_seconds"]), 3),
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
    finally:
        if publisher is not None:
            if publisher.poll() is None:
                publisher.kill()
                publisher.wait()
            if publisher.stdout is not None:
                publisher.stdout.close()
        app.controller.quit()
        _run_until(lambda: app.controller.finished, 5.0)
        app.controller.wait_for_shutdown(3)
        shutil.rmtree(work, ignore_errors=True)


def _run_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Run the event loop until ``condition()`` holds or ``timeout`` seconds passed.

    A real event loop, not ``QTest.qWait``: that sleeps between its rounds of
    events holding the GIL, which starves the server and client threads and
    delays the heartbeat.
    """
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return True
    loop = QEventLoop()
    deadline = time.monotonic() + timeout

    def check() -> None:
        if condition() or time.monotonic() >= deadline:
            loop.quit()

    poll = QTimer()
    poll.setInterval(POLL_MS)
    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()
    return condition()


# ------------------------------------------------------------ the publisher
def _spawn_publisher(url: str, token: str, events: int, seconds: float) -> subprocess.Popen[str]:
    """This module again, as a child process that only publishes (token on stdin)."""
    here = Path(__file__).resolve().parent.parent  # where lattice_rt_tray is imported from
    core = Path(sys.modules["lattice_rt_core"].__file__ or here).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(here), str(core), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "lattice_rt_tray.flood", "--publish-to", url,
         "--events", str(events), "--seconds", str(seconds)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )
    assert child.stdin is not None
    child.stdin.write(token + "\n")
    child.stdin.close()
    return child


def _flood_events(events: int) -> Iterator[list[dict[str, Any]]]:
    for low in range(0, events, BATCH):
        yield [
            {"area": "workflow", "event_type": "workflow_run", "workspace_id": f"ws_{i % 7}",
             "payload": {"run_id": f"r{i}", "status": "ok"}}
            for i in range(low, min(low + BATCH, events))
        ]


def publish(url: str, token: str, events: int, seconds: float) -> float:
    """POST ``events`` events in lists of :data:`BATCH`, evenly over ``seconds``.

    Returns how long publishing took (each POST waits for the server's answer).
    """
    from lattice_rt_core.client import RealtimeClient

    client = RealtimeClient(url, token)
    step = seconds * BATCH / events
    try:
        begin = time.perf_counter()
        for n, batch in enumerate(_flood_events(events)):
            ahead = begin + n * step - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
            client.publish_many(batch)
        return time.perf_counter() - begin
    finally:
        client.close()


# -------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lattice_rt_tray.flood",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--window", choices=WINDOWS, default="shown",
                        help="the Activity window during the flood (default: shown)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--publish-to", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.events < 1 or args.seconds <= 0:
        parser.error("--events must be at least 1 and --seconds above 0")
    if args.publish_to:  # the child process: the token comes on stdin
        took = publish(args.publish_to, sys.stdin.readline().strip(), args.events, args.seconds)
        print(json.dumps({"publish_seconds": took}))
        return 0
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        result = measure_flood(args.events, args.seconds, window=args.window)
    except RuntimeError as exc:
        print(f"flood: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
