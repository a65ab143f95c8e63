"""The benchmarks keep working: a tiny run of each figure, plus their building blocks.

Benchmarks are not tests: nothing here asserts on a duration. What is checked
is that every figure runs against both servers and counts correctly (at these
sizes nothing may be lost), and that the report renders from the results.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bench.baseline_bus import BaselineBus
from bench.cluster import scheduling
from bench.desktop import desktop_available
from bench.loadgen import StreamCounter, Totals
from bench.plan import SMOKE
from bench.report import render, write_report
from bench.run import run_all
from bench.stats import percentile, ratio
from bench.targets import evaluate
from bench.tray import run_flood, run_tray

# ---------------------------------------------------------------- baseline bus


def test_baseline_queue_drops_the_oldest_and_keeps_the_newest() -> None:
    async def scenario() -> list[int]:
        bus = BaselineBus(queue_max=3)
        sub = bus.subscribe()
        for i in range(5):
            bus.publish({"payload": {"i": i}})
        return [sub.queue.get_nowait()["seq"] for _ in range(sub.queue.qsize())]

    assert asyncio.run(scenario()) == [3, 4, 5]


def test_baseline_scope_filter_follows_the_reference_rule() -> None:
    async def scenario() -> list[str | None]:
        bus = BaselineBus()
        sub = bus.subscribe(frozenset({"ws_a"}))
        for ws in ("ws_a", "ws_b", None):
            bus.publish({"workspace_id": ws})
        return [sub.queue.get_nowait()["workspace_id"] for _ in range(sub.queue.qsize())]

    assert asyncio.run(scenario()) == ["ws_a", None]


def test_baseline_stream_replays_a_tail_of_ten_then_live_frames() -> None:
    async def scenario() -> list[dict[str, Any]]:
        bus = BaselineBus()
        for i in range(15):
            bus.publish({"area": "graph", "payload": {"i": i}})
        sub = bus.subscribe()
        frames = bus.stream(sub, heartbeat=60.0)
        out = [json.loads((await anext(frames))[len("data: "):]) for _ in range(10)]
        bus.publish({"area": "live"})
        out.append(json.loads((await anext(frames))[len("data: "):]))
        await frames.aclose()
        assert bus.stats()["subscribers"] == 0
        return out

    events = asyncio.run(scenario())
    assert [e["seq"] for e in events] == [*range(6, 16), 16]
    assert events[-1]["area"] == "live"
    assert set(events[0]) >= {"seq", "received_at", "area", "event_type", "workspace_id",
                              "payload"}


# ------------------------------------------------------------- load generator

FRAMES = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"
    b"20\r\nretry: 3000\n\n\r\n"
    b"id: 1\ndata: {\"payload\":{\"bench_t\":100}}\n\n"
    b"id: 3\nevent: gap\ndata: {\"missed\":1}\n\n"
    b": heartbeat\n\n"
    b"id: 4\ndata: {\"payload\":{\"bench_t\":200,\"bench_end\":\"END-x\"}}\n\n"
)


def _feed(pieces: list[bytes], latency: bool) -> tuple[StreamCounter, Totals]:
    async def scenario() -> tuple[StreamCounter, Totals]:
        totals = Totals()
        counter = StreamCounter(b"", totals, b"END-x", latency)
        for piece in pieces:
            counter.data_received(piece)
        return counter, totals

    return asyncio.run(scenario())


@pytest.mark.parametrize("latency", [False, True])
@pytest.mark.parametrize("size", [1, 2, 5, 7, 64, len(FRAMES)])
def test_load_generator_counts_frames_however_the_bytes_are_split(
    size: int, latency: bool
) -> None:
    pieces = [FRAMES[i:i + size] for i in range(0, len(FRAMES), size)]
    counter, totals = _feed(pieces, latency)
    assert counter.ready.done() and counter.ready.exception() is None
    assert (totals.frames, totals.gaps, totals.done) == (2, 1, 1)
    assert counter.done
    if latency:
        assert len(totals.latencies_ns) == 2


def test_load_generator_reports_a_refused_stream() -> None:
    counter, totals = _feed([b"HTTP/1.1 403 Forbidden\r\n\r\n{}"], latency=False)
    assert isinstance(counter.ready.exception(), ConnectionError)
    assert totals.frames == 0


# ------------------------------------------------------------------ numbers


def test_percentile_is_nearest_rank() -> None:
    assert percentile(list(range(1, 101)), 50) == 50
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([7], 99) == 7
    assert ratio(1.0, 0.0) is None


def _fake_results(project_fps: float, project_frames: int) -> dict[str, Any]:
    return {"figures": {"burst": [
        {"kind": "project", "subscribers": 100, "frames_per_s": project_fps,
         "frames": project_frames, "expected_frames": 1000, "lost_share": 0.0},
        {"kind": "baseline", "subscribers": 100, "frames_per_s": 1000.0,
         "frames": 50, "expected_frames": 1000, "lost_share": 0.95},
    ]}}


def test_burst_target_needs_twenty_times_the_rate_and_nothing_lost() -> None:
    def verdict(results: dict[str, Any]) -> bool | None:
        return next(v.met for v in evaluate(results) if v.figure == "1")

    assert verdict(_fake_results(25_000.0, 1000)) is True
    assert verdict(_fake_results(15_000.0, 1000)) is False
    assert verdict(_fake_results(25_000.0, 999)) is False
    assert all(v.met is None for v in evaluate({"figures": {}}))


# ---------------------------------------------------------------- smoke run


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    return run_all(SMOKE, ["burst", "latency", "scale", "publish", "cluster"],
                   ["project", "baseline"], out)


def _rows(results: dict[str, Any], figure: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = results["figures"][figure]
    errors = [r["error"] for r in rows if "error" in r]
    assert not errors, errors
    assert {r["kind"] for r in rows} == {"project", "baseline"}
    return rows


def test_smoke_burst_delivers_every_frame_on_both_servers(
    smoke_results: dict[str, Any],
) -> None:
    for row in _rows(smoke_results, "burst"):
        assert row["frames"] == row["expected_frames"] == SMOKE.burst_events * row["subscribers"]
        assert row["lost_share"] == 0.0
        assert row["streams_done"] == row["subscribers"]


def test_smoke_latency_has_one_sample_per_frame(smoke_results: dict[str, Any]) -> None:
    for row in _rows(smoke_results, "latency"):
        assert row["frames"] == row["expected_frames"]
        assert row["count"] == row["expected_frames"]
        assert row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]


def test_smoke_scale_holds_every_stream_and_reaches_all(smoke_results: dict[str, Any]) -> None:
    for row in _rows(smoke_results, "scale"):
        assert row["held"] == row["reached"] == SMOKE.scale_streams
        assert row["broadcast_all_ms"] is not None


def test_smoke_publish_cost_covers_every_subscriber_count(
    smoke_results: dict[str, Any],
) -> None:
    rows = _rows(smoke_results, "publish")
    assert sorted({int(r["subscribers"]) for r in rows}) == sorted(SMOKE.publish_subscribers)
    for row in rows:
        assert row["frames"] == row["events"] * row["subscribers"]


def test_smoke_cluster_runs_every_setup_and_loses_nothing(
    smoke_results: dict[str, Any],
) -> None:
    rows = smoke_results["figures"]["cluster"]
    assert [r.get("error") for r in rows] == [None, None, None]
    assert [(r["engine"], r["nodes"]) for r in rows] == [("local", 1), ("redis", 1), ("redis", 2)]
    for row in rows:
        burst = row["burst"]
        assert burst["frames"] == burst["expected_frames"] == (
            SMOKE.burst_events * SMOKE.cluster_subscribers)
        for latency in (row["latency"], row["path"]):
            assert latency["frames"] == latency["count"] == latency["expected_frames"]
            assert latency["p50_ms"] <= latency["p99_ms"]
            per = latency["scheduling_per_event"]
            assert per["nodes"]["runs"] > 0 and per["clients"]["runs"] > 0  # they woke up
            assert per["nodes"]["wait_ms"] >= 0 and per["clients"]["wait_ms"] >= 0
            assert (per["redis"] is None) == (row["engine"] == "local")


def test_scheduling_is_read_for_a_live_process_and_none_without_one() -> None:
    read = scheduling([os.getpid()])
    assert read is not None and read[0] >= 0.0 and read[1] > 0  # this test is running
    assert scheduling([]) is None
    assert scheduling([2**22 + 1]) is None  # above Linux's pid_max: no such process


def _cluster_results(two_fps: float, local_p50: float, redis_p50: float) -> dict[str, Any]:
    def row(kind: str, fps: float, p50: float) -> dict[str, Any]:
        return {"kind": kind, "burst": {"frames_per_s": fps, "frames": 10, "expected_frames": 10},
                "latency": {"p50_ms": p50, "p99_ms": p50, "frames": 5, "expected_frames": 5}}

    return {"figures": {"cluster": [row("local-1", 1000.0, local_p50),
                                    row("redis-1", 1000.0, redis_p50),
                                    row("redis-2", two_fps, redis_p50)]}}


def test_cluster_targets_need_one_and_a_half_times_the_rate_and_two_ms_at_most() -> None:
    def verdicts(results: dict[str, Any]) -> list[bool | None]:
        return [v.met for v in evaluate(results) if v.figure == "7"]

    assert verdicts(_cluster_results(1500.0, 10.0, 12.0)) == [True, True, True]
    assert verdicts(_cluster_results(1400.0, 10.0, 12.5)) == [False, False, True]
    assert verdicts({"figures": {}}) == [None, None, None]


def test_smoke_report_renders_tables_and_a_plot(
    smoke_results: dict[str, Any], tmp_path: Path
) -> None:
    report, plot = tmp_path / "BENCHMARKS.md", tmp_path / "docs" / "bench.png"
    write_report(smoke_results, report, plot)
    text = report.read_text()
    for heading in ("## Targets", "## 1. Burst", "## 2. Latency", "## 3. Idle streams",
                    "## 4. `publish()`", "## 7. Scale out", "![frames/s and latency"):
        assert heading in text
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert "docs/bench.png" in text
    assert render({"figures": {}}, None).startswith("# Benchmarks")


# ------------------------------------------------------------- the tray app


def _need_desktop() -> None:
    missing = desktop_available()
    if missing:
        pytest.skip(missing)


@pytest.mark.desktop
def test_smoke_tray_app_shows_its_icon_joins_and_idles(tmp_path: Path) -> None:
    _need_desktop()
    row = run_tray(SMOKE, tmp_path)
    assert row["starts"] == SMOKE.tray_starts
    assert row["shown_s"] is not None, "the tray icon never registered on the session bus"
    assert row["joined_s"] > 0
    assert row["idle_streams_open"] >= 1  # the app's own stream was open while idle
    assert row["idle_cpu_pct"] is not None and row["rss_mb"] > 0
    assert [r["exit_status"] for r in row["runs"]] == [0] * SMOKE.tray_starts


@pytest.mark.desktop
def test_smoke_flood_reaches_the_gui_thread_in_both_window_states(tmp_path: Path) -> None:
    _need_desktop()
    row = run_flood(SMOKE, tmp_path)
    assert [(r["window"], r["followed"]) for r in row["runs"]] == (
        [("hidden", "embedded")] + [("shown", "embedded")] * SMOKE.flood_runs
        + [("shown", "server")] * SMOKE.flood_runs)
    for run in row["runs"]:
        assert run["error"] is None
        assert run["received"] == SMOKE.flood_events and run["missed"] == 0
        assert run["activity_visible"] == (run["window"] == "shown")
        assert run["beats"] > 0


def test_smoke_cli_times_each_command_against_a_real_server(tmp_path: Path) -> None:
    from bench.cli_time import COMMANDS, run_cli

    row = run_cli(SMOKE, tmp_path)
    assert row["calls"] == SMOKE.cli_calls
    for name, _ in COMMANDS:
        assert 0 < row[name]["min_ms"] <= row[name]["median_ms"] <= row[name]["max_ms"]
