"""BENCHMARKS.md and its plot, from one run's results (``bench/out/results.json``).

``python -m bench.report [results.json]`` rewrites the report without
measuring again.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.cli_time import BATCH_EVENTS
from bench.known_causes import KNOWN_CAUSES
from bench.plan import FULL
from bench.servers import REPO
from bench.stats import ratio
from bench.targets import cluster_row, evaluate

__all__ = ["render", "write_plot", "write_report"]

Results = dict[str, Any]
Row = dict[str, Any]


# ------------------------------------------------------------------ formatting
def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.1%}"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}x"


def _rows(results: Results, figure: str) -> list[Row]:
    rows: list[Row] = results.get("figures", {}).get(figure, [])
    return rows


def _pair(results: Results, figure: str, **match: Any) -> tuple[Row | None, Row | None]:
    found: dict[str, Row] = {}
    for row in _rows(results, figure):
        if all(row.get(k) == v for k, v in match.items()):
            found[row["kind"]] = row
    return found.get("project"), found.get("baseline")


def _ok(row: Row | None) -> bool:
    return row is not None and "error" not in row


def _get(row: Row | None, key: str) -> Any:
    return row.get(key) if _ok(row) and row is not None else None


def _errors(results: Results, figure: str) -> list[str]:
    return [f"- {r['kind']} {_case(r)}: `{r['error']}`" for r in _rows(results, figure)
            if "error" in r]


def _case(row: Row) -> str:
    return f"({row['subscribers']} subscribers)" if "subscribers" in row else ""


def _table(head: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def _subscriber_counts(results: Results, figure: str) -> list[int]:
    return sorted({int(r["subscribers"]) for r in _rows(results, figure)})


# -------------------------------------------------------------------- sections
def _burst(results: Results) -> list[str]:
    body = []
    for n in _subscriber_counts(results, "burst"):
        p, b = _pair(results, "burst", subscribers=n)
        body.append([
            _num(n), _num(_get(p, "frames_per_s")), _num(_get(b, "frames_per_s")),
            _x(ratio(_get(p, "frames_per_s"), _get(b, "frames_per_s"))),
            _pct(_get(p, "lost_share")), _pct(_get(b, "lost_share")),
            f"{_num(_get(p, 'elapsed_s'), 2)} / {_num(_get(b, 'elapsed_s'), 2)}",
            f"{_num(_get(p, 'server_cpu_s'), 2)} / {_num(_get(b, 'server_cpu_s'), 2)}",
            f"{_num(_get(p, 'client_cpu_s'), 2)} / {_num(_get(b, 'client_cpu_s'), 2)}",
        ])
    return _table(
        ["subscribers", "project frames/s", "baseline frames/s", "ratio", "project lost",
         "baseline lost", "delivery s (p / b)", "server CPU s (p / b)", "client CPU s (p / b)"],
        body,
    ) + ["", "The issue's target applies at 100 and 1,000 subscribers; at 10, both servers mostly "
         "wait for the publisher (the POSTs), so the ratio there says little."] + _errors(
        results, "burst")


def _lat(row: Row | None) -> str:
    if not _ok(row):
        return "–"
    return f"{_num(_get(row, 'p50_ms'), 1)} / {_num(_get(row, 'p99_ms'), 1)} / " \
           f"{_num(_get(row, 'max_ms'), 1)}"


def _latency(results: Results) -> list[str]:
    body = []
    for n in _subscriber_counts(results, "latency"):
        p, b = _pair(results, "latency", subscribers=n)
        body.append([
            _num(n), _lat(p), _lat(b), _x(ratio(_get(b, "p99_ms"), _get(p, "p99_ms"))),
            f"{_pct(_get(p, 'lost_share'))} / {_pct(_get(b, 'lost_share'))}",
            f"{_pct(_get(p, 'server_cpu_share'))} / {_pct(_get(b, 'server_cpu_share'))}",
            f"{_pct(_get(p, 'client_cpu_share'))} / {_pct(_get(b, 'client_cpu_share'))}",
        ])
    return _table(
        ["subscribers", "project p50 / p99 / max ms", "baseline p50 / p99 / max ms",
         "baseline / project p99", "lost (p / b)", "server CPU (p / b)", "client CPU (p / b)"],
        body,
    ) + _errors(results, "latency")


def _scale(results: Results) -> list[str]:
    p, b = _pair(results, "scale")
    items = [
        ("streams held", "held", 0, False),
        ("time to open them, s", "connect_s", 1, False),
        ("server RSS after warm-up, MB", "rss_before_mb", 1, False),
        ("server RSS with all streams, MB", "rss_after_mb", 1, False),
        ("memory per stream, KB", "kb_per_stream", 1, True),
        ("one broadcast reaches all, ms", "broadcast_all_ms", 1, True),
        ("one broadcast reaches half, ms", "broadcast_median_ms", 1, True),
        ("load generator CPU for the broadcast, s", "client_cpu_s", 2, False),
    ]
    body = [
        [label, _num(_get(p, key), d), _num(_get(b, key), d),
         _x(ratio(_get(b, key), _get(p, key))) if inverse else ""]
        for label, key, d, inverse in items
    ]
    n = _get(p, "streams") or _get(b, "streams")
    head = [f"{_num(n)} idle streams", "project", "baseline", "baseline / project"]
    return _table(head, body) + _errors(results, "scale")


def _publish(results: Results) -> list[str]:
    body = []
    for n in _subscriber_counts(results, "publish"):
        p, b = _pair(results, "publish", subscribers=n)

        def cell(row: Row | None) -> str:
            return f"{_num(_get(row, 'mean_us'), 1)} / {_num(_get(row, 'p50_us'), 1)} / " \
                   f"{_num(_get(row, 'p99_us'), 1)}"

        body.append([
            _num(n), cell(p), cell(b), _x(ratio(_get(b, "mean_us"), _get(p, "mean_us"))),
            f"{_num(_get(p, 'fanout_us_per_event'), 1)} / "
            f"{_num(_get(b, 'fanout_us_per_event'), 1)}",
            f"{_num(_get(p, 'events'))}",
        ])
    return _table(
        ["subscribers", "project mean / p50 / p99 µs", "baseline mean / p50 / p99 µs",
         "baseline / project (mean)", "fan-out µs per event (p / b)", "events"],
        body,
    ) + ["", "With no subscribers the baseline's `publish()` only normalises the event and appends "
         "it to its feed; the project's also serialises the SSE frame (once, for every "
         "subscriber to come) and hands it to the journal. With subscribers, the baseline puts "
         "the event on every queue inside `publish()` and serialises it again for each "
         "subscriber; the project's typical (p50) cost stays flat."] + _errors(results, "publish")


def _app(results: Results, figure: str, items: Sequence[tuple[str, str, int]]) -> list[str]:
    rows = _rows(results, figure)
    if not rows:
        return ["Not run."]
    row = dict(rows[0])
    if "error" in row:
        return [f"Not measured: `{row['error']}`"]
    if row.get("idle_cpu_pct") is not None:
        row["idle_cpu_text"] = (
            f"{row['idle_cpu_pct']:.3f} ({row.get('idle_cpu_resolution_pct', 0):.3f})"
        )
    lines = _table(["", "tray app"], [
        [label, str(row.get(key, "–")) if d < 0 else _num(row.get(key), d)]
        for label, key, d in items
    ])
    if row.get("note"):
        lines += ["", str(row["note"])]
    return lines


def _flood(results: Results) -> list[str]:
    rows = _rows(results, "flood")
    if not rows:
        return ["Not run."]
    if "error" in rows[0]:
        return [f"Not measured: `{rows[0]['error']}`"]
    runs = rows[0].get("runs", [])
    items = [
        ("events taken in by the app", "received", 0),
        ("events the server reported lost to it", "missed", 0),
        ("publishing them took, s", "publish_s", 2),
        ("heartbeats (every 5 ms on the GUI thread)", "beats", 0),
        ("longest GUI-thread stall, ms", "max_stall_ms", 1),
        ("p99 heartbeat interval, ms", "p99_interval_ms", 1),
        ("stalls over 50 ms", "stalls_over_50ms", 0),
        ("longest garbage collection, ms", "gc_max_ms", 1),
    ]
    head = [f"{_num(rows[0].get('events'))} events in {rows[0].get('seconds')} s"] + [
        f"window {r.get('window')}" + (", following" if r.get("followed") == "server" else "")
        for r in runs
    ]
    row = rows[0]
    shown = sum(1 for r in runs if r.get("window") == "shown" and r.get("followed") != "server")
    return _table(head, [[label] + [_num(r.get(key), d) for r in runs]
                         for label, key, d in items]) + [
        "", f"Longest GUI-thread stall with the Activity window shown: "
        f"**{_num(row.get('max_stall_ms'), 1)} ms** at the median of {shown} runs "
        f"(best {_num(row.get('max_stall_min_ms'), 1)} ms, "
        f"worst {_num(row.get('max_stall_worst_ms'), 1)} ms); following a server instead of "
        f"the embedded endpoint: {_num(row.get('following_max_stall_ms'), 1)} ms at the "
        f"median, {_num(row.get('following_max_stall_worst_ms'), 1)} ms at worst."]


HISTORY = REPO / "bench" / "history.json"


def _headline(results: Results) -> dict[str, Any]:
    """This run's numbers of the tray and the command line, as the history keeps them."""
    tray = next(iter(_rows(results, "tray")), {})
    flood = next(iter(_rows(results, "flood")), {})
    cli = next(iter(_rows(results, "cli")), {})
    machine = results.get("machine", {})
    return {
        "commit": machine.get("commit"), "date": str(results.get("started", ""))[:10],
        "cold_start_s": tray.get("cold_start_s"), "rss_mb": tray.get("rss_mb"),
        "idle_cpu_pct": tray.get("idle_cpu_pct"), "stall_ms": flood.get("max_stall_ms"),
        "stall_worst_ms": flood.get("max_stall_worst_ms"),
        "flood": (f"{_num(flood.get('events'))} events in {flood.get('seconds')} s, median of "
                  f"{results.get('plan', {}).get('flood_runs', 1)} runs") if flood else None,
        "publish_ms": (cli.get("publish") or {}).get("median_ms"),
        "note": "endpoint in a child process",
    }


def remember(results: Results, path: Path = HISTORY) -> None:
    """Add this run's headline numbers to the history (one entry per commit: the last)."""
    history = json.loads(path.read_text()) if path.exists() else []
    entry = _headline(results)
    history = [h for h in history if h.get("commit") != entry["commit"]] + [entry]
    path.write_text(json.dumps(history, indent=1, ensure_ascii=False) + "\n")


def _history() -> list[str]:
    history = json.loads(HISTORY.read_text()) if HISTORY.exists() else []
    if not history:
        return ["No earlier runs kept."]
    return _table(
        ["commit", "date", "cold start, s", "RSS, MB", "idle CPU, %", "GUI stall, ms (worst)",
         "flood", "publish, ms", ""],
        [[str(h.get("commit")), str(h.get("date")), _num(h.get("cold_start_s"), 2),
          _num(h.get("rss_mb"), 1), _num(h.get("idle_cpu_pct"), 2),
          _num(h.get("stall_ms"), 1) + (f" ({_num(h.get('stall_worst_ms'), 1)})"
                                        if h.get("stall_worst_ms") is not None else ""),
          str(h.get("flood") or "–"), _num(h.get("publish_ms"), 0), str(h.get("note") or "")]
         for h in history])


def _cli(results: Results) -> list[str]:
    rows = _rows(results, "cli")
    if not rows:
        return ["Not run."]
    row = rows[0]
    if "error" in row:
        return [f"Not measured: `{row['error']}`"]
    names = (("publish", "`lattice-rt publish` (one event)"),
             ("batch", f"`lattice-rt publish --batch` ({BATCH_EVENTS} events)"),
             ("version", "`lattice-rt --version`"), ("presence", "`lattice-rt presence`"),
             ("tail", "`lattice-rt tail --count 1` (the stream, one event)"))
    return _table(["command", "median, ms", "fastest, ms", "slowest, ms"], [
        [label, _num(row[key]["median_ms"], 0), _num(row[key]["min_ms"], 0),
         _num(row[key]["max_ms"], 0)] for key, label in names if key in row])


def _cluster(results: Results) -> list[str]:
    kinds = (("local-1", "1 node, local engine"), ("redis-1", "1 node on Redis"),
             ("redis-2", "2 nodes on Redis"))
    body = []
    for kind, label in kinds:
        row = cluster_row(results, kind)
        b = row["burst"] if row else None
        lat = row["latency"] if row else None
        body.append([
            label, _num(_get(b, "frames_per_s")), _pct(_get(b, "lost_share")),
            _num(_get(b, "elapsed_s"), 2), _num(_get(b, "server_cpu_s"), 2),
            _num(_get(b, "redis_cpu_s"), 2), _num(_get(b, "client_cpu_s"), 2), _lat(lat),
            _pct(_get(lat, "lost_share")), _lat(row["path"] if row else None),
        ])
    local, one = cluster_row(results, "local-1"), cluster_row(results, "redis-1")

    def added(part: str) -> str:
        if not local or not one or part not in local or part not in one:
            return "not measured"
        return (f"{one[part]['p50_ms'] - local[part]['p50_ms']:+.1f} ms at the p50, "
                f"{one[part]['p99_ms'] - local[part]['p99_ms']:+.1f} ms at the p99")

    def waits(kind: str) -> str:
        row = cluster_row(results, kind)
        per = _get(row["latency"] if row else None, "scheduling_per_event") or {}
        return ", ".join(
            f"{who} {_num(w.get('wait_ms'), 2)} ms in {_num(w.get('runs'), 1)} runs"
            for who, w in per.items() if w) or "not measured"

    path_n = _num(results.get("plan", {}).get("cluster_path_subscribers"))
    return _table(
        ["setup", "burst frames/s", "burst lost", "delivery s", "nodes' CPU s", "Redis CPU s",
         "client CPU s", "latency p50 / p99 / max ms", "latency lost",
         f"latency at {path_n} subscribers, p50 / p99 / max ms"], body,
    ) + ["", "What Redis adds from publish to delivery (1 node on Redis − 1 local node): "
         f"{added('latency')} with the subscribers above; {added('path')} with {path_n}.",
         "", "Waiting for a CPU, per event of the latency run with the subscribers above: "
         "the time the processes' threads were ready to run but not running, and how many "
         "times they ran (`/proc/PID/task/*/schedstat`). "
         f"1 local node: {waits('local-1')}; 1 node on Redis: {waits('redis-1')}; "
         f"2 nodes on Redis: {waits('redis-2')}.",
         ] + _errors(results, "cluster")




def _findings(results: Results) -> list[str]:
    missed = {v.figure for v in evaluate(results) if v.met is False}
    notes = [text for figure, text in KNOWN_CAUSES.items() if figure in missed]
    if not notes:
        return []
    return ["## Why a target is missed", "", *notes]


def _targets(results: Results) -> list[str]:
    mark = {True: "met", False: "**missed**", None: "not measured"}
    return _table(
        ["#", "target (from the issue)", "measured", ""],
        [[v.figure, v.target, v.measured, mark[v.met]] for v in evaluate(results)],
    )


def _machine(results: Results) -> list[str]:
    m = results.get("machine", {})
    pkgs = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items())
    load = f"{m.get('load_before')} before, {m.get('load_after')} after"
    return [
        f"- **Machine:** {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb')} GB RAM, "
        f"{m.get('os')}, Python {m.get('python')}",
        f"- **Packages:** {pkgs}",
        f"- **Load average** (1/5/15 min): {load}",
        f"- **Run:** `{results.get('command', 'python -m bench.run')}` "
        "(`make bench` runs `python -m bench.run`), "
        f"commit {m.get('commit')}, {results.get('started')} to {results.get('finished')} UTC, "
        f"plan `{results.get('plan', {}).get('name')}`, "
        f"{results.get('plan', {}).get('client_processes')} load generator process(es)",
    ]


_METHOD = """\
- **Servers.** *Project*: `lattice_rt_core.server.RealtimeServer` (auth off, SQLite journal on),
  run by `lattice-rt serve --no-auth` (`python -m lattice_rt_core.cli`) in its own process.
  *Baseline*: `bench/baseline_server.py`, the reference design written
  from its document: Starlette `StreamingResponse`, one `asyncio.Queue(100)` per subscriber with
  drop-oldest, `json.dumps` per subscriber per frame, replay tail of 10, a 200-event feed ring,
  heartbeat 15 s via `asyncio.wait_for`, `request.is_disconnected()` checked before each frame,
  scope filtering; plus `POST /realtime/events` so both are driven the same way. Both run under
  uvicorn (uvloop, httptools) on 127.0.0.1, access log off, a fresh server (and a fresh data
  directory) for every measurement, so no replay tail is sent.
- **Load generator.** `bench/loadgen.py`, in its own process(es): raw asyncio sockets on uvloop,
  one `GET /realtime/stream` per subscriber; frames are counted with `bytes.count` on the raw
  bytes (no JSON parsing); `event: gap` notices are not counted as frames.
- **1 Burst.** Streams open first; then the events are POSTed as lists of
  {burst_batch} by {burst_senders} concurrent keep-alive connections, back to back (each POST waits
  for its answer; the project answers once the events are durable, the baseline at once); the
  event carrying an end marker is sent last. *Frames/s* = data frames received by all streams /
  (last frame received − first POST sent). *Lost* = 1 − frames received / (events × subscribers).
- **2 Latency.** {latency_events} single-event POSTs at {latency_rate:g}/s, each carrying the
  publisher's `time.monotonic_ns()` taken just before sending; every frame received on every
  stream is a sample (receive time − that stamp; one clock for all processes). It includes the
  HTTP POST, the server's work (for the project: the journal commit) and the load generator
  getting to that socket among all the others.
- **3 Scale.** 20 warm-up streams and one event first, RSS read, then the streams are opened
  ({scale_streams:,} more, 200 connects in flight) and held idle; RSS read again once the server
  counts them all. Memory per stream = RSS difference / streams. Broadcast = one event POSTed;
  time until the last (and the median) stream received it.
- **4 publish().** In process, no sockets: the bus on one asyncio loop with N subscribers each
  consumed by a task iterating the bus's own `stream()`; `publish()` called from the loop thread
  in batches of 50 (under the reference's queue size, so nothing is dropped), each call timed;
  after each batch the loop runs until every subscriber has every frame (project: journal on, in
  a temporary directory; a batch is delivered once durable). *Fan-out per event* = that batch
  wall time / batch size.
- **5 Tray app.** On a private desktop (Xvfb, its own D-Bus session, `status-notifier-watcher`
  and `gtk-sni-tray-standalone` as the tray, `dunst`): `python -m lattice_rt_tray` with a fresh
  settings file and data directory each start (embedded server on a free port, auth on).
  *Icon shown* = its `StatusNotifierItemRegistered` signal on the session bus; *presence
  joined* = the `joined_at` the embedded server stamped on its entry in `/realtime/presence`;
  *cold start* = the later of the two, median of {tray_starts} starts (warm file cache).
  Memory = RSS (and PSS) of the app's process and its embedded endpoint's (a child process)
  after {tray_idle_seconds:g} s idle; idle CPU = both processes' CPU time over
  {tray_idle_seconds:g} s with the app's stream open.
- **6 GUI flood.** `bench/app_flood.py` builds the app with its own composition root
  (`lattice_rt_tray.main.build`, tuned as `main()` tunes it), once with the Activity window
  hidden, then {flood_runs} times shown; once joined, a `QTimer` beats every 5 ms on the GUI
  thread while a separate process POSTs {flood_events:,} events (lists of 100) spread over
  {flood_seconds:g} s to the app's embedded endpoint (its own process). Longest stall =
  longest interval between two beats − 5 ms, until the app has taken in every event (client
  at the last seq, bridge queue empty) + 0.5 s. Events
  are counted by one slot on the bridge's `Signal(object)`, which hands it the same list as
  the app's own slot (one call per batch).
- **7 Scale out.** Three setups, fresh for each measurement: one `lattice-rt serve --no-auth`
  node of the local engine (the project server above), one node on Redis and two nodes on Redis
  (`serve --redis URL` each on its own port), Redis a private `redis-server` with
  `appendonly yes` and `appendfsync everysec`. {cluster_subscribers:,} subscribers split evenly
  over the nodes. Burst as in 1 ({burst_events:,} events), the senders taking the nodes in
  turn; latency as in 2, POSTed to the first node (on two nodes, half the samples crossed
  Redis to the other node). What Redis adds = the one-node latency on Redis − the local one.
- **8 The command line.** `bench/cli_time.py`: a `lattice-rt serve` on a free port (auth on),
  then each command {cli_calls} times as its own process (`lattice-rt` of this environment,
  the server found through `server.json`), after one warm-up run; wall time from spawn to exit.
- Figures 5, 6, 7 and 8 have no counterpart in the reference (it only has a browser page and one
  process): they are the project's numbers against the issues' targets.
"""

_CAVEATS = """\
- **Two cores for everything.** Server, load generator(s) and publisher share 2 cores, so the
  load generator's CPU (columns "client CPU") is taken from the server under test; a stream's
  receive time is when the load generator's loop got to that socket. With 1,000 streams that
  is a real part of the measured latency, the same for both servers.
- **One load generator process** by default: on 2 cores a second one takes its CPU from the
  server under test, and in trials made both servers slower; `--client-processes 2` tries it.
- **The machine is shared** (other work may run during a run: see the load averages above);
  numbers move by tens of percent between runs. Ratios within one run are the figures to read.
- **Where the reference document is silent** (how the heartbeat timeout and the disconnect check
  are written) the baseline uses the straightforward reading; see `bench/baseline_bus.py`.
"""


def render(results: Results, plot_name: str | None) -> str:
    plan = results.get("plan", {})
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `make bench` (bench/report.py); do not edit by hand. -->",
        "",
        "The project's realtime server against the design in "
        "`REALTIME_COLLABORATION.md` (the *baseline*), measured in the same run on the same "
        "machine. *p / b* = project / baseline. Every ratio is oriented so that above 1 means "
        "the project does better.",
        "",
        *_machine(results),
        "",
    ]
    if plot_name:
        lines += [f"![frames/s and latency against subscribers]({plot_name})", ""]
    lines += ["## Targets", "", *_targets(results), ""]
    lines += [f"## 1. Burst: {_num(plan.get('burst_events'))} events as fast as possible",
              "", *_burst(results), ""]
    lines += [f"## 2. Latency at a steady {plan.get('latency_rate', 0):g} events/s", "",
              *_latency(results), ""]
    lines += ["## 3. Idle streams held, memory, one broadcast", "", *_scale(results), ""]
    lines += ["## 4. `publish()` in process (journal on for the project)", "",
              *_publish(results), ""]
    lines += ["## 5. Tray app: cold start, memory, idle CPU", "", *_app(results, "tray", [
        ("cold start: icon shown and presence joined (median), s", "cold_start_s", 2),
        ("fastest of the starts, s", "cold_start_min_s", 2),
        ("slowest of the starts, s", "cold_start_max_s", 2),
        ("start to tray icon shown (median), s", "shown_s", 2),
        ("start to presence joined (median), s", "joined_s", 2),
        ("resident memory after idling, app and endpoint (RSS), MB", "rss_mb", 1),
        ("  of which the app's process (RSS), MB", "rss_app_mb", 1),
        ("  of which the endpoint's process (RSS), MB", "rss_endpoint_mb", 1),
        ("both, shared pages counted once (PSS), MB", "pss_mb", 1),
        ("CPU time while idle with the stream open, s", "idle_cpu_s", 2),
        ("CPU while idle, % (smallest measurable step in brackets)", "idle_cpu_text", -1),
        ("quit (SIGTERM to exit), slowest, s", "quit_s", 2),
    ]), ""]
    lines += ["## 6. GUI under a flood", "", *_flood(results), ""]
    lines += [f"## 7. Scale out: nodes on Redis, {_num(plan.get('cluster_subscribers'))} "
              "subscribers", "", *_cluster(results), ""]
    lines += ["## 8. The command line: one call, as a person waits for it", "", *_cli(results),
              ""]
    lines += ["## History of the tray's numbers", "", "Kept in `bench/history.json`: every "
              "full `make bench` adds its run (the earlier rows are read off the BENCHMARKS.md of "
              "their commits).", "", *_history(), ""]
    lines += _findings(results)
    lines += ["## How each figure is measured", "", _METHOD.format(**{**asdict(FULL), **plan}),
              ""]
    lines += ["## Reading these numbers", "", _CAVEATS]
    return "\n".join(lines)


def write_plot(results: Results, path: Path) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    style = {"project": ("tab:blue", "o"), "baseline": ("tab:orange", "s")}
    for kind, (color, marker) in style.items():
        pts = sorted((r["subscribers"], r["frames_per_s"]) for r in _rows(results, "burst")
                     if r["kind"] == kind and _ok(r))
        if pts:
            left.plot(*zip(*pts, strict=True), marker=marker, color=color, label=kind)
        for key, dash in (("p99_ms", "-"), ("p50_ms", ":")):
            pts = sorted((r["subscribers"], r[key]) for r in _rows(results, "latency")
                         if r["kind"] == kind and _ok(r))
            if pts:
                right.plot(*zip(*pts, strict=True), dash, marker=marker, color=color,
                           label=f"{kind} {key[:3]}")
    plan = results.get("plan", {})
    left.set_title(f"Burst of {plan.get('burst_events', 0):,} events: frames delivered/s")
    right.set_title(f"Latency at {plan.get('latency_rate', 0):g} events/s (ms)")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("subscribers (open streams)")
        ax.grid(True, which="both", alpha=0.3)
        if ax.has_data():
            ax.legend(loc="upper left")  # both curves rise to the right; "best" can be slow
    fig.suptitle("Project vs reference design (baseline), same machine, same run")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: Results, report: Path, plot: Path) -> None:
    write_plot(results, plot)
    try:
        plot_name = os.path.relpath(plot, report.parent)
    except ValueError:
        plot_name = str(plot)
    report.write_text(render(results, plot_name) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    source = Path(args[0]) if args else REPO / "bench" / "out" / "results.json"
    try:
        results = json.loads(source.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {source}: {exc}", file=sys.stderr)
        return 2
    write_report(results, REPO / "BENCHMARKS.md", REPO / "docs" / "bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
