"""Figure 6: the longest GUI-thread stall while a flood of events reaches the tray app.

    python -m bench.app_flood [--events 10000] [--seconds 1] [--window shown|hidden]
                              [--follow] [--home DIR] [--period-ms 5] [--timeout 90] [--json]

The app is built with its composition root (:func:`lattice_rt_tray.main.build`)
and tuned as ``main()`` tunes it
(:func:`~lattice_rt_tray.main.settle_after_startup`): embedded server on a free
port with its data in ``DIR`` (a temporary directory by default; with
``--follow`` the embedded endpoint is off and the app follows a server of its
own in another process instead), notifications recorded instead of shown, the
system tray where the desktop has one. Once it is connected, caught up and
present, with its Activity window shown or hidden, a ``QTimer`` on the GUI
thread beats every ``--period-ms`` while a separate publisher process
(:mod:`bench.publisher`) POSTs ``--events`` events to the app's embedded server
in lists of 100, spread over ``--seconds``, as other programs publish. The
events take the app's normal path: HTTP, bus, SSE stream, client thread,
bridge, coalescer, activity model and view. When the app has taken them all in
(its client at the publisher's last seq, its bridge queue empty), plus half a
second, the heartbeat stops: a stall is how much later than its period a beat
came.

Reported besides the stalls: the events the app received (counted by one slot
on ``bridge.events_received``; a ``Signal(object)`` hands every slot the same
Python list, so the counter costs one call per batch) and those the server
reported lost to it (``gap``), the rows the Activity window kept, the
notifications shown, and the garbage collector's pauses during the flood.

Runs on any display, offscreen without one. :func:`bench.tray.run_flood` runs it
on the private X desktop for figure 6 of BENCHMARKS.md.
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from bench.servers import REPO
from bench.stats import percentile
from bench.tray import write_settings
from lattice_rt_core.commands.support import TOKEN_ENV
from lattice_rt_core.paths import read_owner_token
from lattice_rt_core.process.child import ChildServer
from lattice_rt_core.process.config import ServerConfig
from lattice_rt_tray.logic.settings_values import LOCAL_KEY, ConnectionSettings, local_connection
from lattice_rt_tray.main import TrayApp, build, settle_after_startup
from lattice_rt_tray.services.settings import Settings

__all__ = ["FloodProbe", "main", "measure", "spawn_publisher"]

WINDOWS = ("hidden", "shown")
SETTLE_MS = 500  # after the app is ready, and after it took in the last event
POLL_MS = 20  # how often the probe looks at the app and the publisher
FLOOD_AREA = "workflow"  # the area of bench.publisher's events
TEAM_KEY = "team"  # the connection to the followed server (--follow)

#: starts the publisher process: (url, token, events, seconds) -> the process
Publisher = Callable[[str, str, int, float], subprocess.Popen[str]]


def spawn_publisher(url: str, token: str, events: int, seconds: float) -> subprocess.Popen[str]:
    """``python -m bench.publisher`` in a process of its own (the token in its environment)."""
    env = dict(os.environ, **{TOKEN_ENV: token})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "bench.publisher", "--url", url,
         "--events", str(events), "--seconds", str(seconds)],
        stdout=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )


class FloodProbe(QObject):
    """Drives one flood through ``app`` and measures its GUI thread while it lasts.

    Signals:
        finished(): the measurement is over (or failed); the app is quitting.
    """

    finished = Signal()

    def __init__(self, app: TrayApp, data_dir: Path, *, events: int, seconds: float,
                 window: str, period_ms: int, publisher: Publisher = spawn_publisher,
                 key: str = LOCAL_KEY, token: str | None = None) -> None:
        """``key``: the connection flooded (the embedded endpoint's, else a followed
        server's, whose owner ``token`` is given)."""
        super().__init__()
        self.app = app
        self.data_dir = data_dir
        self.key = key
        self._token = token
        self.events = events
        self.seconds = seconds
        self.window = window
        self.period_ms = period_ms
        self.error: str | None = None
        self.intervals: list[int] = []  # ns between beats
        self.gc_pauses: list[tuple[int, int]] = []  # (generation, ns), any thread
        self.publish: dict[str, Any] = {}
        self.received = 0  # flood events that reached the GUI thread
        self.missed = 0  # events the server reported lost to the app (gap)
        self.delivery_s: float | None = None
        self.last_seq: int | None = None
        self._spawn = publisher
        self._joined = False
        self._ready = False
        self._done = False
        self._started = 0
        self._last = 0
        self._gc_start = 0
        self._end: dict[str, Any] = {}
        self._publisher: subprocess.Popen[str] | None = None
        self._beat = QTimer(self)
        self._beat.setTimerType(Qt.TimerType.PreciseTimer)
        self._beat.setInterval(period_ms)
        self._beat.timeout.connect(self.on_beat)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.on_poll)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self.on_timeout)
        app.connections.joined.connect(self.on_joined)
        app.bridge.events_received.connect(self.on_events)
        app.bridge.gap_received.connect(self.on_gap)

    def start(self, timeout: float) -> None:
        """Start the app; the flood begins once it is ready."""
        self._deadline.start(int(timeout * 1000))
        self.app.controller.start()
        self._poll.start()

    # ------------------------------------------------------------- counting
    @Slot(str, object)
    def on_joined(self, key: str, entries: object) -> None:
        self._joined = self._joined or key == self.key

    @Slot(str, object)
    def on_events(self, server: str, batch: list[dict[str, Any]]) -> None:
        self.received += sum(1 for e in batch if e.get("area") == FLOOD_AREA)

    @Slot(str, object)
    def on_gap(self, server: str, body: dict[str, Any]) -> None:
        missed = body.get("missed")
        self.missed += missed if isinstance(missed, int) else 0

    @Slot()
    def on_beat(self) -> None:
        now = time.perf_counter_ns()
        self.intervals.append(now - self._last)
        self._last = now

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        """Garbage collections (any thread) stop every thread: record how long."""
        if phase == "start":
            self._gc_start = time.perf_counter_ns()
        elif self._gc_start:
            self.gc_pauses.append((info["generation"], time.perf_counter_ns() - self._gc_start))

    # ------------------------------------------------------------- the flood
    @Slot()
    def on_poll(self) -> None:
        if not self._ready:
            self._check_ready()
        elif self._publisher is not None:
            self._check_delivered()

    def _check_ready(self) -> None:
        controller = self.app.controller
        if not (controller.connected and self._joined and not self.app.coalescer.holding):
            return
        self._ready = True
        self._poll.stop()
        if self.window == "shown":
            controller.on_activity_requested()
        else:
            self.app.views.activity.hide()
        QTimer.singleShot(SETTLE_MS, self, self.begin)

    @Slot()
    def begin(self) -> None:
        url = self.app.connections[self.key].url
        token = self._token or read_owner_token(self.data_dir)
        if not url or not token:
            self.fail("the server has no URL or owner token")
            return
        self.received = self.missed = 0
        gc.callbacks.append(self._on_gc)
        self._started = self._last = time.perf_counter_ns()
        self._beat.start()
        self._publisher = self._spawn(url, token, self.events, self.seconds)
        self._poll.start()

    def _check_delivered(self) -> None:
        publisher = self._publisher
        assert publisher is not None
        if self.last_seq is None:
            if publisher.poll() is None:
                return
            out, _ = publisher.communicate()
            if publisher.returncode != 0 or not out.strip():
                self.fail(f"the publisher failed with status {publisher.returncode}")
                return
            self.publish = json.loads(out)
            self.last_seq = int(self.publish["last_seq"])
        client = self.app.connections[self.key].client
        seen = client.last_event_id if client is not None else None
        if seen is not None and seen >= self.last_seq and self.app.bridge.pending() == 0:
            self._poll.stop()
            self.delivery_s = (time.perf_counter_ns() - self._started) / 1e9
            QTimer.singleShot(SETTLE_MS, self, self.finish)

    @Slot()
    def on_timeout(self) -> None:
        if not self._ready:
            self.fail("the app did not connect")
        else:
            self.fail("the app did not take in every event in time")

    def fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
        self.finish()

    @Slot()
    def finish(self) -> None:
        if self._done:
            return
        self._done = True
        self._beat.stop()
        self._poll.stop()
        self._deadline.stop()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        publisher = self._publisher
        if publisher is not None:
            if publisher.poll() is None:
                publisher.kill()
            if publisher.stdout is not None and not publisher.stdout.closed:
                publisher.communicate()
        app = self.app
        notifier_log = getattr(app.notifier, "notices", ())
        self._end = {
            "rows_kept": app.activity_model.rowCount(),
            "notifications": len(notifier_log),
            "activity_visible": app.views.activity.is_visible(),
        }
        self.finished.emit()
        app.controller.quit()

    def result(self) -> dict[str, Any]:
        period_ns = self.period_ms * 1_000_000
        stalls = [max(0, i - period_ns) for i in self.intervals]
        return {
            "window": self.window,
            "events": self.events,
            "seconds": self.seconds,
            "received": self.received,
            "missed": self.missed,
            "beats": len(self.intervals),
            "period_ms": self.period_ms,
            "max_stall_ms": max(stalls, default=0) / 1e6,
            "p99_interval_ms": percentile(self.intervals, 99) / 1e6,
            "stalls_over_50ms": sum(1 for s in stalls if s > 50_000_000),
            "publish_s": self.publish.get("publish_s", float("nan")),
            "delivery_s": self.delivery_s,
            **self._end,
            "gc_runs": len(self.gc_pauses),
            "gc_max_ms": max((ns for _, ns in self.gc_pauses), default=0) / 1e6,
            "gc_gen2_runs": sum(1 for gen, _ in self.gc_pauses if gen == 2),
            "gc_gen2_max_ms": max((ns for gen, ns in self.gc_pauses if gen == 2),
                                  default=0) / 1e6,
            "gc_total_ms": sum(ns for _, ns in self.gc_pauses) / 1e6,
            "error": self.error,
        }


def _following(work: Path) -> tuple[Settings, ChildServer]:
    """A server of its own (``lattice-rt serve`` as a child) and settings that follow it
    instead of the embedded endpoint."""
    team = ChildServer(ServerConfig(port=0, data_dir=work / "team"))
    team.start()
    settings = Settings.open(work / "settings.ini")
    settings.update(connections=(local_connection(enabled=False),
                                 ConnectionSettings(TEAM_KEY, "Team", url=team.url)))
    if team.owner_token:
        settings.set_file_token(TEAM_KEY, team.owner_token)  # as where there is no keyring
    return settings, team


def measure(
    events: int = 10_000,
    seconds: float = 1.0,
    *,
    window: str = "shown",
    home: Path | None = None,
    period_ms: int = 5,
    timeout: float = 90.0,
    publisher: Publisher = spawn_publisher,
    follow: bool = False,
) -> dict[str, Any]:
    """Build the app in this process (in ``home``, else a temporary directory), flood it:
    its embedded endpoint, or with ``follow`` a server it follows."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, not {window!r}")
    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qapp, QApplication)
    work = home or Path(tempfile.mkdtemp(prefix="bench-flood-"))
    root = QObject()
    data_dir = work / "lattice-data"
    app: TrayApp | None = None
    team: ChildServer | None = None
    try:
        if follow:
            settings, team = _following(work)
        else:
            settings = Settings.open(write_settings(work))
        app = build(settings=settings, data_dir=data_dir,
                    tray_available=QSystemTrayIcon.isSystemTrayAvailable(), notifier="record",
                    discover_local=lambda _: None, keyring=lambda: None, parent=root)
        settle_after_startup(app)
        probe = FloodProbe(app, data_dir, events=events, seconds=seconds, window=window,
                           period_ms=period_ms, publisher=publisher,
                           key=TEAM_KEY if team else LOCAL_KEY,
                           token=team.owner_token if team else None)
        loop = QEventLoop()
        app.controller.quit_finished.connect(loop.quit)
        probe.start(timeout)
        loop.exec()
        app.controller.wait_for_shutdown(2.0)
        return {**probe.result(), "followed": "server" if follow else "embedded"}
    finally:
        if app is not None:  # the windows (views of root's models) first
            for built in (app.views.activity.window, app.views.presence.window):
                if built is not None:
                    built.deleteLater()
        root.deleteLater()
        if team is not None:
            team.stop()
        if home is None:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.app_flood",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--window", choices=WINDOWS, default="shown",
                        help="the Activity window during the flood (default: shown)")
    parser.add_argument("--home", type=Path, help="an empty directory (default: a temporary one)")
    parser.add_argument("--period-ms", type=int, default=5, help="heartbeat period")
    parser.add_argument("--timeout", type=float, default=90.0, help="give up after, seconds")
    parser.add_argument("--follow", action="store_true",
                        help="flood a server the app follows, not its embedded endpoint")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.events < 1 or args.seconds <= 0 or args.period_ms < 1 or args.timeout <= 0:
        parser.error("--events and --period-ms must be at least 1, --seconds and --timeout above 0")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    result = measure(args.events, args.seconds, window=args.window, home=args.home,
                     period_ms=args.period_ms, timeout=args.timeout, publisher=spawn_publisher,
                     follow=args.follow)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    if result["error"] is not None:
        print(f"app_flood: {result['error']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
