"""How big each figure is: the full run (``make bench``) and a tiny smoke run."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "SMOKE", "Plan"]


@dataclass(frozen=True)
class Plan:
    name: str
    # 1 burst
    burst_events: int
    burst_subscribers: tuple[int, ...]
    burst_batch: int  # events per POST
    burst_senders: int  # concurrent keep-alive connections posting
    # 2 latency
    latency_subscribers: tuple[int, ...]
    latency_rate: float  # events per second
    latency_events: int
    # 3 scale
    scale_streams: int
    # 4 publish() in-process
    publish_subscribers: tuple[int, ...]
    publish_frame_budget: int  # events x subscribers per measurement
    publish_max_events: int
    # 5 tray app
    tray_starts: int
    tray_idle_seconds: float
    tray_settle_seconds: float  # after joining, before memory and idle CPU are read
    # 6 GUI flood
    flood_events: int
    flood_seconds: float
    flood_runs: int  # with the Activity window shown (one more with it hidden)
    # 8 the command line
    cli_calls: int
    # 7 cluster (burst and latency sizes from 1 and 2)
    cluster_subscribers: int
    cluster_path_subscribers: int  # latency with little fan-out: the publish path itself
    # load generator processes per figure (the machine has 2 cores)
    client_processes: int = 1
    idle_timeout: float = 5.0  # a stream that got nothing for this long is done


FULL = Plan(
    name="full",
    burst_events=2000,
    burst_subscribers=(10, 100, 1000),
    burst_batch=100,
    burst_senders=4,
    latency_subscribers=(10, 100, 1000),
    latency_rate=20.0,
    latency_events=200,
    scale_streams=10_000,
    publish_subscribers=(0, 100, 1000),
    publish_frame_budget=200_000,
    publish_max_events=20_000,
    tray_starts=5,
    tray_idle_seconds=60.0,
    tray_settle_seconds=2.0,
    flood_events=100_000,  # 10,000 events/s for 10 s
    flood_seconds=10.0,
    flood_runs=5,
    cli_calls=20,
    cluster_subscribers=1000,
    cluster_path_subscribers=10,
)

SMOKE = Plan(
    name="smoke",
    burst_events=20,
    burst_subscribers=(3,),
    burst_batch=5,
    burst_senders=2,
    latency_subscribers=(3,),
    latency_rate=50.0,
    latency_events=5,
    scale_streams=20,
    publish_subscribers=(0, 3),
    publish_frame_budget=200,
    publish_max_events=100,
    tray_starts=1,
    tray_idle_seconds=1.0,
    tray_settle_seconds=0.2,
    flood_events=200,
    flood_seconds=0.2,
    flood_runs=1,
    cli_calls=2,
    cluster_subscribers=4,
    cluster_path_subscribers=2,
    idle_timeout=10.0,
)
