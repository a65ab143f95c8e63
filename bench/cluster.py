"""Figure 7: one server on the Redis engine, one and two nodes, against the local engine.

Three setups, each fresh for each measurement: one node of the local engine
(``lattice-rt serve --no-auth``, the SQLite journal on: figures 1 and 2's
project server), one node on Redis, and two nodes on Redis (``serve --redis
URL`` twice, on their own ports). Redis is a private ``redis-server`` with the
append-only file on and ``appendfsync everysec`` (the setting README
recommends). The subscribers are split evenly over the nodes.

* burst: ``cluster_events`` events as lists of ``burst_batch`` by
  ``burst_senders`` connections, the senders taking the nodes in turn; the
  marker event last. Frames/s and lost as in figure 1.
* latency: ``latency_events`` single-event POSTs at ``latency_rate`` per second
  to the first node; every frame on every node is a sample, as in figure 2 (on
  two nodes, half the samples crossed Redis to the other node).

What Redis adds from publish to delivery is the one-node latency on Redis
minus the one on the local engine (same subscribers, same rate), also
measured with ``cluster_path_subscribers`` streams ("path"), where the
fan-out and the load generator add little.

During each latency run the nodes', Redis's and the load generator's
scheduling is read from Linux's ``/proc/PID/task/*/schedstat``, per event:
the time their threads were ready to run but waited for a CPU, and how many
times they were given one. On a machine with fewer cores than busy
processes, every wake-up on an event's way can wait there.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.loadclient import LoadGroup, LoadResult
from bench.plan import Plan
from bench.publisher import burst, steady
from bench.redis_server import RedisServer
from bench.servers import ServerProcess
from bench.stats import summary_ms

__all__ = ["SETUPS", "run_cluster"]

#: (engine, nodes) of the three setups
SETUPS = (("local", 1), ("redis", 1), ("redis", 2))


@dataclass
class _Nodes:
    servers: list[ServerProcess]
    redis: RedisServer | None

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def cpu_seconds(self) -> float:
        return sum(s.cpu_seconds() for s in self.servers)

    def redis_cpu_seconds(self) -> float:
        if self.redis is None:
            return 0.0
        times = psutil.Process(self.redis.pid).cpu_times()
        return float(times.user + times.system)


@contextmanager
def _nodes(engine: str, count: int, log_dir: Path) -> Iterator[_Nodes]:
    with ExitStack() as stack:
        redis: RedisServer | None = None
        args: tuple[str, ...] = ()
        if engine == "redis":
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-redis-"))
            redis = RedisServer(Path(tmp), appendfsync="everysec").start()
            stack.callback(redis.stop)
            args = ("--redis", redis.url)
        servers = [stack.enter_context(ServerProcess("project", log_dir=log_dir, args=args))
                   for _ in range(count)]
        yield _Nodes(servers, redis)


def scheduling(pids: list[int]) -> tuple[float, int] | None:
    """Seconds the threads of ``pids`` spent runnable but waiting for a CPU, and how
    many times they were given one (Linux only; None elsewhere or without pids)."""
    if not pids:
        return None
    wait_ns = runs = 0
    for pid in pids:
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                _, wait, count = (task / "schedstat").read_text().split()[:3]
                wait_ns, runs = wait_ns + int(wait), runs + int(count)
        except (OSError, ValueError):
            return None
    return wait_ns / 1e9, runs


def _per_event(
    after: tuple[float, int] | None, before: tuple[float, int] | None, events: int,
) -> dict[str, float] | None:
    if after is None or before is None or events <= 0:
        return None
    return {"wait_ms": (after[0] - before[0]) * 1000 / events,
            "runs": (after[1] - before[1]) / events}


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _merge(results: list[LoadResult]) -> dict[str, Any]:
    return {
        "frames": sum(r.frames for r in results),
        "gaps": sum(r.gaps for r in results),
        "last_rx_ns": max(r.last_rx_ns for r in results),
        "latencies_ns": [t for r in results for t in r.latencies_ns],
        "client_cpu_s": sum(r.client_cpu_s for r in results),
        "finished_because": sorted({f for r in results for f in r.finished_because}),
    }


def _measure(
    engine: str, count: int, subscribers: int, plan: Plan, log_dir: Path, *, latency: bool,
    publish: Callable[[list[str], str], Any],
) -> tuple[dict[str, Any], Any, float]:
    """One measurement on fresh nodes; ``merged`` also has the run-queue waits (see above)."""
    marker = "END-" + secrets.token_hex(6)
    with _nodes(engine, count, log_dir) as nodes, ExitStack() as groups:
        loads = [
            groups.enter_context(LoadGroup(url, n, marker=marker, latency=latency,
                                           processes=plan.client_processes,
                                           log_path=log_dir / "loadgen.log"))
            for url, n in zip(nodes.urls, _split(subscribers, count), strict=True)
        ]
        for server, n in zip(nodes.servers, _split(subscribers, count), strict=True):
            server.wait_subscribers(n)
        cpu0, redis0 = nodes.cpu_seconds(), nodes.redis_cpu_seconds()
        pids = {
            "nodes": [s.ps.pid for s in nodes.servers if s.ps is not None],
            "redis": [nodes.redis.pid] if nodes.redis is not None else [],
            "clients": [pid for g in loads for pid in g.pids],
        }
        sched0 = {k: scheduling(v) for k, v in pids.items()}
        timing = publish(nodes.urls, marker)
        sched = {k: scheduling(v) for k, v in pids.items()}
        merged = _merge([g.finish(idle=plan.idle_timeout, deadline=300.0) for g in loads])
        merged["redis_cpu_s"] = nodes.redis_cpu_seconds() - redis0
        merged["scheduling"] = (sched0, sched)
        server_cpu = nodes.cpu_seconds() - cpu0
    return merged, timing, server_cpu


def _burst(engine: str, count: int, plan: Plan, log_dir: Path) -> dict[str, Any]:
    n, events = plan.cluster_subscribers, plan.burst_events
    merged, timing, cpu = _measure(
        engine, count, n, plan, log_dir, latency=False,
        publish=lambda urls, marker: burst(urls, events, batch=plan.burst_batch,
                                           senders=plan.burst_senders, marker=marker),
    )
    elapsed = ((merged["last_rx_ns"] or timing.end_ns) - timing.start_ns) / 1e9
    expected = events * n
    return {
        "frames": merged["frames"],
        "expected_frames": expected,
        "lost_share": 1.0 - merged["frames"] / expected,
        "gaps": merged["gaps"],
        "elapsed_s": elapsed,
        "frames_per_s": merged["frames"] / elapsed if elapsed > 0 else 0.0,
        "server_cpu_s": cpu,
        "redis_cpu_s": merged["redis_cpu_s"],
        "client_cpu_s": merged["client_cpu_s"],
        "finished_because": merged["finished_because"],
    }


def _latency(engine: str, count: int, n: int, plan: Plan, log_dir: Path) -> dict[str, Any]:
    events = plan.latency_events
    started = time.monotonic_ns()
    merged, _, cpu = _measure(
        engine, count, n, plan, log_dir, latency=True,
        publish=lambda urls, marker: steady(urls[0], events, rate=plan.latency_rate,
                                            marker=marker),
    )
    wall = (time.monotonic_ns() - started) / 1e9
    expected = events * n
    return {
        "frames": merged["frames"],
        "expected_frames": expected,
        "lost_share": 1.0 - merged["frames"] / expected,
        **summary_ms(merged["latencies_ns"]),
        "scheduling_per_event": {
            k: _per_event(after, merged["scheduling"][0][k], events)
            for k, after in merged["scheduling"][1].items()
        },
        "server_cpu_s": cpu,
        "wall_s": wall,
        "finished_because": merged["finished_because"],
    }


def run_cluster(engine: str, count: int, plan: Plan, log_dir: Path) -> dict[str, Any]:
    """One setup's row: the burst and the latency, each on fresh nodes."""
    return {
        "engine": engine,
        "nodes": count,
        "subscribers": plan.cluster_subscribers,
        "burst": _burst(engine, count, plan, log_dir),
        "latency": _latency(engine, count, plan.cluster_subscribers, plan, log_dir),
        "path": _latency(engine, count, plan.cluster_path_subscribers, plan, log_dir),
    }
