"""Figure 2: publish-to-receive latency at a steady event rate.

N streams are opened on a fresh server; then ``latency_events`` single-event
POSTs are sent at ``latency_rate`` per second, each carrying ``bench_t`` (the
publisher's ``time.monotonic_ns()`` just before the POST is sent). Every data
frame every stream receives is one sample: receive time - ``bench_t``. So the
latency includes the POST itself, the server's work (for the project: making
the event durable before it is sent) and the load generator reaching that
socket among N others.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from bench.loadclient import LoadGroup
from bench.plan import Plan
from bench.publisher import steady
from bench.servers import ServerProcess
from bench.stats import summary_ms

__all__ = ["run_latency"]


def run_latency(kind: str, subscribers: int, plan: Plan, log_dir: Path) -> dict[str, Any]:
    marker = "END-" + secrets.token_hex(6)
    with ServerProcess(kind, log_dir=log_dir) as server:
        group = LoadGroup(server.url, subscribers, marker=marker, latency=True,
                          processes=plan.client_processes, log_path=log_dir / "loadgen.log")
        with group:
            server.wait_subscribers(subscribers)
            cpu0 = server.cpu_seconds()
            timing = steady(server.url, plan.latency_events, rate=plan.latency_rate,
                            marker=marker)
            result = group.finish(idle=plan.idle_timeout, deadline=120.0)
            server_cpu = server.cpu_seconds() - cpu0
            # CPU shares are over the whole run: publishing, then draining
            wall = (time.monotonic_ns() - timing.start_ns) / 1e9
    expected = plan.latency_events * subscribers
    return {
        "subscribers": subscribers,
        "events": plan.latency_events,
        "rate": plan.latency_rate,
        "expected_frames": expected,
        "frames": result.frames,
        "lost_share": 1.0 - result.frames / expected,
        **summary_ms(result.latencies_ns),
        "server_cpu_share": server_cpu / wall if wall > 0 else 0.0,
        "client_cpu_share": result.client_cpu_s / wall if wall > 0 else 0.0,
        "finished_because": result.finished_because,
    }
