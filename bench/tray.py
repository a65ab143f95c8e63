"""Figures 5 and 6: the tray app itself, on a private desktop (see desktop.py).

Figure 5, observed from outside the app, for ``tray_starts`` starts, each with
a fresh data directory and settings file (the embedded server on a free port):

* *tray icon shown*: from spawning ``python -m lattice_rt_tray`` until the
  StatusNotifierWatcher announces its icon on the session bus;
* *presence joined*: from spawning until the ``joined_at`` of the app's entry
  in ``GET /realtime/presence`` of its embedded server (a wall-clock stamp the
  server takes at the join, so the 100 ms polling does not blur it);
* *cold start* = the later of the two. Python's bytecode and the OS file
  cache are warm (a truly cold disk is not reproducible on a shared machine);
* after the last start: resident memory of the app and its embedded endpoint
  (a child process: :mod:`lattice_rt_core.process.child`), each and together,
  as RSS and as PSS (shared pages counted once between them), and their CPU
  time over ``tray_idle_seconds`` with the app's stream open.

Figure 6 runs :mod:`bench.app_flood` on the same desktop: the app's own
composition root in a process with a GUI-thread heartbeat, flooded by a
separate publisher process, ``flood_runs`` times with the Activity window
shown and once hidden; the stall is reported as the median of the shown runs
with its spread.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.desktop import PrivateDesktop, TrayWatch
from bench.plan import Plan
from bench.servers import REPO
from lattice_rt_core.paths import read_owner_token, read_server_info

__all__ = ["run_flood", "run_tray", "write_settings"]

SETTINGS_INI = "[server]\nmode=embedded\nport=0\n"  # embedded server on any free port


def write_settings(directory: Path) -> Path:
    """A settings file for one run: embedded server on any free port."""
    path = directory / "settings.ini"
    path.write_text(SETTINGS_INI, encoding="utf-8")
    return path


def app_env(desktop: PrivateDesktop, home: Path) -> dict[str, str]:
    env = dict(desktop.env, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "app"),
                                         os.environ.get("PYTHONPATH", "")])
    env.pop("LATTICE_RT_DATA_DIR", None)
    return env


def _wait_server(data_dir: Path, proc: subprocess.Popen[bytes], timeout: float) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        info = read_server_info(data_dir)
        token = read_owner_token(data_dir)
        if info and token and info.get("url"):
            return str(info["url"]), token
        if proc.poll() is not None:
            raise RuntimeError(f"the tray app exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the tray app's embedded server did not start")
        time.sleep(0.05)


def _wait_joined(client: httpx.Client, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        entries = client.get("/realtime/presence").json().get("presence", [])
        if entries:
            entry: dict[str, Any] = entries[0]
            return entry
        if time.monotonic() > deadline:
            raise RuntimeError("the tray app did not join presence")
        time.sleep(0.1)


def _one_start(
    desktop: PrivateDesktop, log_dir: Path, idle_s: float, settle_s: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-tray-") as tmp:
        home = Path(tmp)
        data_dir = home / "lattice-data"
        argv = [sys.executable, "-m", "lattice_rt_tray", "--settings",
                str(write_settings(home)), "--data-dir", str(data_dir)]
        watch = TrayWatch(desktop)
        log = open(log_dir / "tray-app.log", "ab")  # noqa: SIM115
        proc: subprocess.Popen[bytes] | None = None
        try:
            wall0 = time.time()
            mono0 = time.monotonic_ns()
            proc = subprocess.Popen(argv, env=app_env(desktop, home), cwd=home,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            shown = watch.wait(timeout=30.0)
            url, token = _wait_server(data_dir, proc, 30.0)
            with httpx.Client(base_url=url, timeout=10.0,
                              headers={"Authorization": f"Bearer {token}"}) as client:
                entry = _wait_joined(client, 30.0)
                joined_s = datetime.fromisoformat(entry["joined_at"]).timestamp() - wall0
                time.sleep(settle_s)
                ps = psutil.Process(proc.pid)
                row: dict[str, Any] = {
                    "shown_s": None if shown is None else (shown - mono0) / 1e9,
                    "joined_s": joined_s,
                    **_memory(ps),
                }
                if idle_s > 0:
                    streams = client.get("/realtime/feed?limit=0").json()["stats"]["subscribers"]
                    before = _cpu_s(ps)
                    time.sleep(idle_s)
                    used = _cpu_s(ps) - before
                    row["idle_cpu_s"] = used
                    row["idle_cpu_pct"] = 100.0 * used / idle_s
                    row["idle_streams_open"] = streams
                    row["rss_after_idle_mb"] = _memory(ps)["rss_mb"]
            quit0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            row["exit_status"] = proc.wait(15)
            row["quit_s"] = time.monotonic() - quit0
            return row
        finally:
            watch.close()
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()


def _family(ps: psutil.Process) -> list[psutil.Process]:
    """The app and its children (the embedded endpoint)."""
    return [ps, *ps.children(recursive=True)]


def _memory(ps: psutil.Process) -> dict[str, float]:
    """RSS of the app, of its endpoint and of both; PSS of both (shared pages once)."""
    app, *children = _family(ps)
    rss_app = app.memory_info().rss / 2**20
    rss_children = sum(c.memory_info().rss for c in children) / 2**20
    pss = sum(getattr(p.memory_full_info(), "pss", 0) for p in (app, *children)) / 2**20
    return {"rss_mb": rss_app + rss_children, "rss_app_mb": rss_app,
            "rss_endpoint_mb": rss_children, "pss_mb": pss, "processes": 1 + len(children)}


def _cpu_s(ps: psutil.Process) -> float:
    """CPU seconds of the app and its endpoint so far."""
    return sum(t.user + t.system for t in (p.cpu_times() for p in _family(ps)))


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run_tray(plan: Plan, log_dir: Path) -> dict[str, Any]:
    starts: list[dict[str, Any]] = []
    with PrivateDesktop(log_dir) as desktop:
        for i in range(plan.tray_starts):
            idle = plan.tray_idle_seconds if i == plan.tray_starts - 1 else 0.0
            starts.append(_one_start(desktop, log_dir, idle, plan.tray_settle_seconds))
    shown = [s["shown_s"] for s in starts if s["shown_s"] is not None]
    cold = [max(s["shown_s"], s["joined_s"]) for s in starts if s["shown_s"] is not None]
    last = starts[-1]
    spread = _spread(cold)
    return {
        "starts": len(starts),
        "cold_start_s": spread["median"],
        "cold_start_min_s": spread["min"],
        "cold_start_max_s": spread["max"],
        "shown_s": statistics.median(shown) if shown else None,
        "joined_s": statistics.median(s["joined_s"] for s in starts),
        "rss_mb": last["rss_after_idle_mb"] if "rss_after_idle_mb" in last else last["rss_mb"],
        "rss_app_mb": last["rss_app_mb"],
        "rss_endpoint_mb": last["rss_endpoint_mb"],
        "pss_mb": last["pss_mb"],
        "processes": last["processes"],
        "idle_cpu_pct": last.get("idle_cpu_pct"),
        "idle_cpu_s": last.get("idle_cpu_s"),
        # CPU time is counted in clock ticks: the smallest non-zero share measurable
        "idle_cpu_resolution_pct": 100.0 / os.sysconf("SC_CLK_TCK") / plan.tray_idle_seconds,
        "idle_seconds": plan.tray_idle_seconds,
        "idle_streams_open": last.get("idle_streams_open"),
        "quit_s": max(s["quit_s"] for s in starts),
        "runs": starts,
        "note": "Cold start is the median over the starts (each with a fresh data directory), "
                "with the fastest and the slowest; memory and idle CPU are of the last start, "
                "the app and its embedded endpoint's process together. The tray icon is seen "
                "on the session bus (StatusNotifierItem), presence in the embedded endpoint.",
    }


def run_flood(plan: Plan, log_dir: Path) -> dict[str, Any]:
    rows = []
    # (window, following a server rather than the embedded endpoint)
    runs = ([("hidden", False)] + [("shown", False)] * plan.flood_runs
            + [("shown", True)] * plan.flood_runs)
    with PrivateDesktop(log_dir) as desktop, tempfile.TemporaryDirectory(
        prefix="bench-flood-"
    ) as tmp:
        for i, (window, follow) in enumerate(runs):
            home = Path(tmp) / f"{i}-{window}"
            home.mkdir()
            argv = [sys.executable, "-m", "bench.app_flood", "--home", str(home),
                    "--events", str(plan.flood_events), "--seconds", str(plan.flood_seconds),
                    "--window", window, "--json"] + (["--follow"] if follow else [])
            with open(log_dir / "app-flood.log", "ab") as log:
                out = subprocess.run(argv, env=app_env(desktop, home), cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=log, timeout=180)
            if out.returncode != 0:
                raise RuntimeError(f"app_flood ({window}) failed with status {out.returncode}"
                                   f"; see {log_dir / 'app-flood.log'}")
            rows.append(json.loads(out.stdout))
    shown = [r["max_stall_ms"] for r in rows
             if r["window"] == "shown" and r["followed"] == "embedded"]
    spread = _spread(shown)
    following = _spread([r["max_stall_ms"] for r in rows if r["followed"] == "server"])
    return {
        "events": plan.flood_events,
        "seconds": plan.flood_seconds,
        "received": min(r["received"] for r in rows),
        "missed": sum(r["missed"] for r in rows),
        "max_stall_ms": spread["median"],  # the median run's longest stall, window shown
        "max_stall_min_ms": spread["min"],
        "max_stall_worst_ms": spread["max"],
        "following_max_stall_ms": following["median"],
        "following_max_stall_worst_ms": following["max"],
        "stalls_over_50ms": sum(r["stalls_over_50ms"] for r in rows),
        "runs": rows,
        "note": f"The longest stall of each run; the figure is the median of the "
                f"{len(shown)} runs with the Activity window shown, with the best and the "
                f"worst; one run with the window hidden (tray only) and "
                f"{plan.flood_runs} following a server instead of the embedded endpoint "
                f"beside them. "
                + "; ".join(
                    f"{r['window']}, {r['followed']}: longest stall {r['max_stall_ms']:.1f} ms, "
                    f"p99 heartbeat interval {r['p99_interval_ms']:.1f} ms, "
                    f"{r['received']} of {r['events']} events received, "
                    f"publishing took {r['publish_s']:.2f} s"
                    for r in rows
                ),
    }
