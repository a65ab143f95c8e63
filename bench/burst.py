"""Figure 1: a burst of events published as fast as possible to N subscribers.

Definition (identical for both servers): N streams are opened on a fresh
server (so there is no replay tail), then ``burst_events`` events are POSTed
as lists of ``burst_batch`` by ``burst_senders`` concurrent connections
(:func:`bench.publisher.burst`); the event carrying the marker is sent last.

* delivered frames/s = data frames received by all streams /
  (last frame received - first POST sent);
* lost = 1 - frames received / (events x N). Gap notices are not frames.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from bench.loadclient import LoadGroup
from bench.plan import Plan
from bench.publisher import burst
from bench.servers import ServerProcess

__all__ = ["run_burst"]


def run_burst(kind: str, subscribers: int, plan: Plan, log_dir: Path) -> dict[str, Any]:
    marker = "END-" + secrets.token_hex(6)
    with ServerProcess(kind, log_dir=log_dir) as server:
        group = LoadGroup(server.url, subscribers, marker=marker,
                          processes=plan.client_processes, log_path=log_dir / "loadgen.log")
        with group:
            server.wait_subscribers(subscribers)
            cpu0 = server.cpu_seconds()
            timing = burst(server.url, plan.burst_events, batch=plan.burst_batch,
                           senders=plan.burst_senders, marker=marker)
            result = group.finish(idle=plan.idle_timeout, deadline=300.0)
            server_cpu = server.cpu_seconds() - cpu0
    expected = plan.burst_events * subscribers
    last = result.last_rx_ns or timing.end_ns
    elapsed = (last - timing.start_ns) / 1e9
    return {
        "subscribers": subscribers,
        "events": plan.burst_events,
        "expected_frames": expected,
        "frames": result.frames,
        "gaps": result.gaps,
        "lost_share": 1.0 - result.frames / expected,
        "elapsed_s": elapsed,
        "frames_per_s": result.frames / elapsed if elapsed > 0 else 0.0,
        "publish_s": (timing.end_ns - timing.start_ns) / 1e9,
        "requests": timing.requests,
        "streams_done": result.done,
        "per_stream_min": result.per_stream_min,
        "per_stream_max": result.per_stream_max,
        "server_cpu_s": server_cpu,
        "client_cpu_s": result.client_cpu_s,
        "finished_because": result.finished_because,
    }
