"""``GET /metrics``: what a running server is doing, in the Prometheus text format.

Counting must not slow down the paths it counts. So nothing here is touched
per frame: where the work happens plain integers are bumped (the bus counts
published events, frames handed to streams and gaps; :class:`ServerCounters`
counts bytes written, slow peers cut off and answered requests, all on the
server's event loop thread), and :class:`MetricsCollector` reads them, with
the bus's gauges, only when the endpoint is scraped. Each server has its own
:class:`Metrics` (and registry, :mod:`.metrics_text`), so several servers in
one process (the tests) never mix. The stream route counts its own requests, so its writes do
not pass through :class:`RequestMetrics`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lattice_rt_core.engines.base import BusReadings

__all__ = [
    "CONTENT_TYPE",
    "Metrics",
    "RequestMetrics",
    "ServerCounters",
]

#: the text format every Prometheus reads (the library's newest, 1.0.0, needs Prometheus 3;
#: for names like these two formats are the same text)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: the reason a refusal is counted under, by status (the guard names its own)
REFUSAL_REASONS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "not_json",
    422: "invalid",
    429: "over_limit",
    503: "unavailable",
}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass
class ServerCounters:
    """Counters of the HTTP layer, bumped on the server's event loop thread only."""

    bytes_delivered: int = 0
    slow_peers_cut: int = 0
    #: requests answered 429 because their address failed to authenticate too often
    auth_throttled: int = 0
    #: told the client address of every 401 (guesses.py counts failed guesses)
    on_unauthenticated: Callable[[str], None] | None = None
    refused: Counter[str] = field(default_factory=Counter)  # by reason
    #: by method, route (its path template) and status
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    _exact: frozenset[str] = frozenset()
    _templates: tuple[tuple[str, str], ...] = ()

    def name_routes(self, paths: Iterable[str]) -> None:
        """The server's route paths (templates such as ``/x/{name}`` included): the
        only values the ``route`` label takes besides ``other``."""
        paths = tuple(paths)
        self._exact = frozenset(p for p in paths if "{" not in p)
        self._templates = tuple((p.split("{", 1)[0], p) for p in paths if "{" in p)

    def route(self, path: str) -> str:
        """``path`` as a bounded label: a route's path or template, else ``other``."""
        if path in self._exact:
            return path
        for prefix, template in self._templates:
            if path.startswith(prefix) and "/" not in path[len(prefix):]:
                return template
        return "other"

    def record(self, scope: Scope, status: int, reason: str | None = None) -> None:
        """One answered request; a 4xx or 5xx is a refusal too, under ``reason``."""
        method = str(scope.get("method", "")).upper()
        self.requests[(method if method in _METHODS else "OTHER",
                       self.route(str(scope.get("path", ""))), status)] += 1
        if status >= 400:
            self.refused[reason or REFUSAL_REASONS.get(status, str(status))] += 1
        if status == 401 and self.on_unauthenticated is not None:
            client = scope.get("client")
            if client:
                self.on_unauthenticated(str(client[0]))


class RequestMetrics:
    """ASGI middleware that records each answered request in :class:`ServerCounters`.

    ``skip``: paths whose route records its own answers (the stream: its
    chunks must not pass through a wrapper); ``reason_key``: a scope key the
    guard sets when it refuses a request (always a 403), naming why.
    """

    def __init__(
        self, app: ASGIApp, counters: ServerCounters, *, skip: Iterable[str] = (),
        reason_key: str = "",
    ) -> None:
        self.app = app
        self.counters = counters
        self.skip = frozenset(skip)
        self.reason_key = reason_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in self.skip:
            await self.app(scope, receive, send)
            reason = scope.get(self.reason_key)
            if reason:  # refused before it reached the route
                self.counters.record(scope, 403, reason)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.counters.record(scope, int(message["status"]), scope.get(self.reason_key))
            await send(message)

        await self.app(scope, receive, counted)


class Metrics:
    """One server's metrics, rendered when scraped.

    The Prometheus library (3.5 MB of an idle endpoint) is imported at the
    first scrape, not when the server starts: most servers are never scraped.
    """

    def __init__(self, bus: BusReadings, counters: ServerCounters) -> None:
        self.bus = bus
        self.counters = counters
        self._registry: Any = None

    def render(self) -> bytes:
        if self._registry is None:
            from lattice_rt_core.http.metrics_text import registry_for

            self._registry = registry_for(self.bus, self.counters)
        from prometheus_client import generate_latest

        return bytes(generate_latest(self._registry))
