"""``GET /metrics``: what a running server is doing, in the Prometheus text format.

Counting must not slow down the paths it counts. So nothing here is touched
per frame: the places where the work happens bump plain integers
(:class:`ServerCounters` on the event loop's thread; the bus's own counters
under the lock it already holds), and :class:`MetricsCollector` reads them,
and the bus's gauges, only when the endpoint is scraped. Each server has its
own registry, so several servers in one process (the tests) never mix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

__all__ = ["CONTENT_TYPE", "JOURNAL_STATES", "MetricsCollector", "ServerCounters", "render"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: what ``stats()["journal"]`` can say
JOURNAL_STATES = ("ok", "degraded", "off")
#: why a stream got a gap frame (bus.py)
GAP_REASONS = ("overflow", "retention")


class BusReadings(Protocol):
    """What the collector reads from the bus at scrape time."""

    @property
    def published(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def subscriber_count(self) -> int: ...

    def presence_total(self) -> int: ...
    def stats(self) -> dict[str, object]: ...


@dataclass
class ServerCounters:
    """Counters of the HTTP layer, bumped on the server's event loop thread only.

    Plain ints and :class:`collections.Counter` lookups: no lock, no object
    per event. Read by :class:`MetricsCollector` on the same thread.
    """

    frames_delivered: int = 0
    bytes_delivered: int = 0
    slow_peers_cut: int = 0
    gaps: Counter[str] = field(default_factory=Counter)  # by reason
    refused: Counter[str] = field(default_factory=Counter)  # by reason
    #: by method, route (its path template) and status
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)


class MetricsCollector(Collector):
    """Turns the bus's and the HTTP layer's numbers into metric families, when scraped."""

    def __init__(self, bus: BusReadings, counters: ServerCounters) -> None:
        self._bus = bus
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        bus, c = self._bus, self._counters
        yield GaugeMetricFamily("lattice_rt_streams_open", "Open event streams.",
                                value=bus.subscriber_count)
        yield GaugeMetricFamily("lattice_rt_presence_entries", "Presence entries held.",
                                value=bus.presence_total())
        yield GaugeMetricFamily("lattice_rt_last_seq", "The last seq handed out.",
                                value=bus.last_seq)
        yield CounterMetricFamily("lattice_rt_events_published",
                                  "Events published since the server started.",
                                  value=bus.published)
        yield CounterMetricFamily("lattice_rt_frames_delivered",
                                  "Event, gap and reset frames written to streams.",
                                  value=c.frames_delivered)
        yield CounterMetricFamily("lattice_rt_bytes_delivered",
                                  "Bytes written to streams (frames and heartbeats).",
                                  value=c.bytes_delivered)
        gaps = CounterMetricFamily("lattice_rt_gaps", "Gap frames sent to streams, by reason.",
                                   labels=["reason"])
        for reason in sorted(set(GAP_REASONS) | set(c.gaps)):
            gaps.add_metric([reason], c.gaps[reason])
        yield gaps
        yield CounterMetricFamily("lattice_rt_slow_peers_cut",
                                  "Streams ended because the peer stopped reading.",
                                  value=c.slow_peers_cut)
        journal = GaugeMetricFamily("lattice_rt_journal_state",
                                    "The journal's state: 1 for the current one.",
                                    labels=["state"])
        current = bus.stats().get("journal")
        for state in JOURNAL_STATES:
            journal.add_metric([state], 1 if state == current else 0)
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
    """A registry of this server's metrics alone (no process-wide default registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(bus, counters))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return bytes(generate_latest(registry))
