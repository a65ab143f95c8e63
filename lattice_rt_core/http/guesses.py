"""Guessing tokens is throttled per client address (issue 20, item 8).

Every 401 counts as one failed guess for the request's client address (after
``--trust-proxy``, the address the proxy names). An address with ``limit``
failures within the last ``window`` seconds gets ``429`` for every request
that carries a credential (a bearer token, a browser session, a launch code),
without the credential being checked, until its oldest failure in the window
has aged out. Requests without one (the anonymous health check, the page's
files) are answered as usual.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from lattice_rt_core.http.metrics import ServerCounters
from lattice_rt_core.http.responses import error_response

__all__ = ["GuessLimit", "GuessThrottle"]

#: client addresses remembered at most (the oldest is forgotten first)
MAX_ADDRESSES = 10_000
THROTTLED = "auth_throttled"
#: the routes that take a launch code in their body (http/page.py)
_CODE_POSTS = ("/realtime/session", "/activity")


class GuessLimit:
    """Failed authentications per client address in a sliding window."""

    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def failed(self, address: str) -> None:
        now = self.clock()
        times = self._recent(address, now)
        if times is None:
            times = self._failures[address] = deque(maxlen=max(1, self.limit))
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(address)
        times.append(now)

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try again; 0 when it may now."""
        if self.limit <= 0:
            return 0.0
        now = self.clock()
        times = self._recent(address, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.window - now)


def _has_credential(scope: Scope) -> bool:
    for name, _ in scope.get("headers", ()):
        if name == b"authorization":
            return True
    if scope.get("method") == "POST" and scope.get("path") in _CODE_POSTS:
        return True  # a launch code in the body
    query: bytes = scope.get("query_string", b"")
    return query.startswith(b"code=") or b"&code=" in query


class GuessThrottle:
    """ASGI middleware: the 429 of the module docstring (failures counted in
    
    :meth:`ServerCounters.record`, through ``counters.on_unauthenticated``)."""

    def __init__(self, app: ASGIApp, guesses: GuessLimit, counters: ServerCounters) -> None:
        self.app = app
        self.guesses = guesses
        self.counters = counters
        counters.on_unauthenticated = guesses.failed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_credential(scope):
            client = scope.get("client")
            wait = self.guesses.retry_after(client[0]) if client else 0.0
            if wait > 0:
                self.counters.auth_throttled += 1
                self.counters.record(scope, 429, THROTTLED)
                response = error_response(
                    429, f"too many failed sign-ins from this address; try again in "
                         f"{max(1, round(wait))} s")
                response.headers["Retry-After"] = str(max(1, round(wait)))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
