"""Figure 3: many idle streams held; memory per stream; one broadcast to all.

On a fresh server, a warm-up group of streams is opened first (so imports,
caches and the first-connection costs are not counted), the server's RSS is
read, then ``scale_streams`` more streams are opened and held idle, and RSS is
read again once the server itself counts them all:

* memory per stream = (RSS with all streams - RSS after warm-up) / streams;
* broadcast = one event POSTed; time from sending the POST until the last
  stream received it (and the median stream).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from bench.loadclient import LoadGroup
from bench.plan import Plan
from bench.publisher import make_event, post
from bench.servers import ServerProcess
from bench.stats import percentile

__all__ = ["run_scale"]

WARMUP_STREAMS = 20


def run_scale(kind: str, plan: Plan, log_dir: Path) -> dict[str, Any]:
    streams = plan.scale_streams
    marker = "END-" + secrets.token_hex(6)
    log_path = log_dir / "loadgen.log"
    with ServerProcess(kind, log_dir=log_dir) as server:
        warm = LoadGroup(server.url, WARMUP_STREAMS, marker=marker, log_path=log_path)
        with warm:
            post(server.url, make_event(-1))  # one event through every code path
            server.wait_subscribers(WARMUP_STREAMS)
            rss0 = server.rss()
            group = LoadGroup(server.url, streams, marker=marker,
                              processes=plan.client_processes, log_path=log_path)
            opened = time.monotonic()
            with group:
                connect_s = time.monotonic() - opened
                held = server.wait_subscribers(WARMUP_STREAMS + streams) - WARMUP_STREAMS
                rss1 = server.rss()
                start = time.monotonic_ns()
                post(server.url, make_event(0, marker=marker))
                result = group.finish(idle=plan.idle_timeout, deadline=120.0)
    reached = sorted(t - start for t in result.marker_ns)
    return {
        "streams": streams,
        "held": held,
        "connect_s": connect_s,
        "rss_before_mb": rss0 / 2**20,
        "rss_after_mb": rss1 / 2**20,
        "kb_per_stream": (rss1 - rss0) / 1024 / streams,
        "reached": len(reached),
        "broadcast_all_ms": reached[-1] / 1e6 if len(reached) == streams else None,
        "broadcast_median_ms": percentile(reached, 50) / 1e6 if reached else None,
        "client_cpu_s": result.client_cpu_s,
        "finished_because": result.finished_because,
    }
