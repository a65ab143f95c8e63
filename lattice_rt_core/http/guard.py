"""The Host/Origin guard: the ASGI layer in front of every route.

It refuses a foreign ``Host`` (DNS rebinding: a page whose name resolves to
127.0.0.1 still sends its own name) and a foreign ``Origin`` (CSRF and
cross-site reads), before any route, authentication or body is looked at.
See SECURITY.md. The rules:

* ``Host`` is a loopback name with the server's own port, or a name the
  operator allowed (``--allow-host``): ``NAME`` allows ``NAME`` as a browser
  sends it to a reverse proxy on its default port (no port) and
  ``NAME:<the server's port>``; ``NAME:PORT`` allows exactly that. Names are
  compared case-insensitively.
* ``Origin``, when present, is ``<scheme>://<an allowed host>``: for a
  loopback name the scheme the request itself came in with (``https`` for a
  server with TLS, or behind a trusted proxy that says so), for an allowed
  name ``http`` or ``https`` (a proxy in front may speak either).
* Every answer over TLS (the request's scheme is ``https``: the server's own
  TLS, or a trusted proxy that says so) carries ``Strict-Transport-Security``
  (:class:`StrictTransport`), except to the name ``localhost``: a browser
  would then refuse plain HTTP to every other program on every port of
  ``localhost``. Browsers ignore it for an IP address (RFC 6797, 8.1).
* A refused ``Host`` is logged in one line naming the peer, the host and the
  flag that would allow it; at most one line per host value per minute and
  ten a minute in all, so a flood cannot fill the log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lattice_rt_core.http.responses import error_response

__all__ = [
    "LOOPBACK_NAMES",
    "REFUSED_KEY",
    "HostOriginGuard",
    "RefusedHostLog",
    "StrictTransport",
    "allowed_hosts",
    "split_host",
]

log = logging.getLogger(__name__)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: scope key the guard sets on what it refuses (metrics count it by this reason)
REFUSED_KEY = "lattice_rt.refused"
#: a year, the value browsers' preload lists ask for; no includeSubDomains (not ours)
HSTS = b"max-age=31536000"
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")


def split_host(host: str) -> tuple[str, str]:
    """``NAME[:PORT]`` (or ``[v6]:PORT``) as (name, port); port "" when there is none."""
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[: end + 1], host[end + 1 :]
        return name, rest[1:] if rest.startswith(":") else rest
    name, _, port = host.partition(":")
    return name, port


def allowed_hosts(port: int, extra_hosts: Iterable[str] = ()) -> frozenset[str]:
    """Every ``Host`` value a request to a server on ``port`` may carry."""
    return frozenset({f"{n}:{port}" for n in LOOPBACK_NAMES} | _named(port, extra_hosts))


def _named(port: int, extra_hosts: Iterable[str]) -> set[str]:
    """The ``Host`` values the ``--allow-host`` names allow (see the module docstring)."""
    names: set[str] = set()
    for host in (h.lower() for h in extra_hosts):
        if split_host(host)[1]:
            names.add(host)
        else:
            names.update((host, f"{host}:{port}"))
    return names


class RefusedHostLog:
    """One warning per refused ``Host`` value per ``interval``, at most ``burst`` per interval.

    Lines left out are counted and the next line says how many. ``clock`` is
    monotonic seconds.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, interval: float = 60.0, burst: int = 10
    ) -> None:
        self._clock = clock
        self._interval = interval
        self._burst = burst
        self._last: dict[str, float] = {}  # host -> when it was last logged
        self._window = (float("-inf"), 0)  # (start, lines logged in it)
        self._suppressed = 0

    def report(self, host: str, peer: str, port: int) -> None:
        now = self._clock()
        start, lines = self._window
        if now - start >= self._interval:
            start, lines = now, 0
            self._last = {h: t for h, t in self._last.items() if now - t < self._interval}
        if lines >= self._burst or now - self._last.get(host, float("-inf")) < self._interval:
            self._window = (start, lines)
            self._suppressed += 1
            return
        self._window = (start, lines + 1)
        self._last[host] = now
        more = f" ({self._suppressed} more refused since the last line)" if self._suppressed else ""
        self._suppressed = 0
        shown = repr(host[:100]) if host else "(none)"
        log.warning("refused a request from %s for Host %s: %s%s", peer, shown,
                    _hint(host, port), more)


def _hint(host: str, port: int) -> str:
    """The flag that would allow ``host``, when it is a plain host name."""
    name, host_port = split_host(host)
    if not _HOST_NAME.fullmatch(name) or not (host_port == "" or host_port.isdigit()):
        return "not a host name this server answers to (see --allow-host)"
    flag = name if host_port in ("", str(port)) else host
    return f"not an allowed host; start the server with --allow-host {flag} to accept it"


class HostOriginGuard:
    """Refuse foreign ``Host`` (DNS rebinding) and foreign ``Origin`` (CSRF); see above.

    A refusal is marked in the ASGI scope (``REFUSED_KEY``: ``forbidden_host``
    or ``forbidden_origin``) for the metrics; ``refusal_log`` reports refused
    hosts.
    """

    def __init__(
        self,
        app: ASGIApp,
        extra_hosts: Iterable[str] = (),
        *,
        refusal_log: RefusedHostLog | None = None,
    ) -> None:
        self.app = app
        self.extra_hosts = tuple(h.lower() for h in extra_hosts)
        self.refusal_log = refusal_log if refusal_log is not None else RefusedHostLog()
        self._allowed: tuple[frozenset[str], frozenset[str]] | None = None

    def allowed(self, port: int) -> frozenset[str]:
        return self._hosts(port)[0]

    def _hosts(self, port: int) -> tuple[frozenset[str], frozenset[str]]:
        """(every allowed host, the ones --allow-host names)."""
        if self._allowed is None:
            self._allowed = (allowed_hosts(port, self.extra_hosts),
                             frozenset(_named(port, self.extra_hosts)))
        return self._allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = scope.get("server") or ("", 0)
        port = int(server[1] or 0)
        allowed, named = self._hosts(port)
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        if host not in allowed:
            client = scope.get("client")
            self.refusal_log.report(host, client[0] if client else "an unknown peer", port)
            await self._refuse(scope, receive, send, "forbidden host")
            return
        origin = headers.get("origin")
        if origin is not None and not self._own_origin(origin.lower(), scope, allowed, named):
            await self._refuse(scope, receive, send, "forbidden origin")
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _own_origin(
        origin: str, scope: Scope, allowed: frozenset[str], named: frozenset[str]
    ) -> bool:
        scheme, sep, host = origin.partition("://")
        if not sep or host not in allowed:
            return False
        if host in named:
            return scheme in ("http", "https")
        return bool(scheme == scope.get("scheme", "http"))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, reason: str) -> None:
        scope[REFUSED_KEY] = reason.replace(" ", "_")
        await error_response(403, reason)(scope, receive, send)


class StrictTransport:
    """ASGI middleware: ``Strict-Transport-Security`` on every answer over TLS (see above)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return
        host = split_host(Headers(scope=scope).get("host", ""))[0].lower().rstrip(".")
        if host == "localhost" or host.endswith(".localhost"):
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"strict-transport-security"]
                message = {**message, "headers": [*headers,
                                                  (b"strict-transport-security", HSTS)]}
            await send(message)

        await self.app(scope, receive, send_with_hsts)
