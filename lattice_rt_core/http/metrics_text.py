"""The Prometheus families of one server's numbers (imported at the first scrape).

:class:`MetricsCollector` reads the bus's and the HTTP layer's numbers
(:mod:`.metrics`) only when ``GET /metrics`` asks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from lattice_rt_core.engines.base import BusReadings

__all__ = ["GAP_REASONS", "JOURNAL_STATES", "MetricsCollector", "registry_for"]

#: what ``stats()["journal"]`` can say
JOURNAL_STATES = ("ok", "degraded", "off")
#: why a stream got a gap frame (bus.py)
GAP_REASONS = ("lost", "overflow", "retention")


class ServerCounters(Protocol):
    """What :class:`~.metrics.ServerCounters` counts (that module imports this one)."""

    bytes_delivered: int
    slow_peers_cut: int
    auth_throttled: int
    refused: Counter[str]
    requests: Counter[tuple[str, str, int]]


class MetricsCollector(Collector):
    """Turns the bus's and the HTTP layer's numbers into metric families, when scraped."""

    def __init__(self, bus: BusReadings, counters: ServerCounters) -> None:
        self._bus = bus
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        bus, c = self._bus, self._counters
        stats = bus.stats()
        yield GaugeMetricFamily("lattice_rt_streams_open", "Open event streams.",
                                value=stats["subscribers"])
        yield GaugeMetricFamily("lattice_rt_presence_entries", "Presence entries held.",
                                value=stats["presence"])
        yield GaugeMetricFamily("lattice_rt_visible_seq",
                                "The last seq streams may see (committed).", value=stats["seq"])
        yield CounterMetricFamily("lattice_rt_events_published",
                                  "Events published since the server started.",
                                  value=bus.published)
        yield CounterMetricFamily("lattice_rt_frames_delivered",
                                  "Event, gap and reset frames handed to streams.",
                                  value=bus.frames_sent)
        yield CounterMetricFamily("lattice_rt_bytes_delivered",
                                  "Bytes written to streams (frames and heartbeats).",
                                  value=c.bytes_delivered)
        gaps = CounterMetricFamily("lattice_rt_gaps", "Gap frames sent to streams, by reason.",
                                   labels=["reason"])
        for reason in sorted(set(GAP_REASONS) | set(bus.gaps)):
            gaps.add_metric([reason], bus.gaps.get(reason, 0))
        yield gaps
        yield CounterMetricFamily("lattice_rt_slow_peers_cut",
                                  "Streams ended because the peer stopped reading.",
                                  value=c.slow_peers_cut)
        yield CounterMetricFamily("lattice_rt_auth_throttled",
                                  "Requests refused (429) because their address failed to "
                                  "authenticate too often.", value=c.auth_throttled)
        journal = GaugeMetricFamily("lattice_rt_journal_state",
                                    "The journal's state: 1 for the current one.",
                                    labels=["state"])
        for state in JOURNAL_STATES:
            journal.add_metric([state], 1 if stats.get("journal") == state else 0)
        yield journal
        refused = CounterMetricFamily("lattice_rt_requests_refused",
                                      "Requests refused, by reason.", labels=["reason"])
        for reason, count in sorted(c.refused.items()):
            refused.add_metric([reason], count)
        yield refused
        requests = CounterMetricFamily("lattice_rt_requests",
                                       "Requests answered, by method, route and status.",
                                       labels=["method", "route", "status"])
        for (method, route, status), count in sorted(c.requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests


def registry_for(bus: BusReadings, counters: ServerCounters) -> CollectorRegistry:
    """A registry of this server's metrics alone (not the process-wide default one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(bus, counters))
    return registry
