"""The Host/Origin guard: the ASGI layer in front of every route.

It refuses a foreign ``Host`` (DNS rebinding: a page whose name resolves to
127.0.0.1 still sends its own name) and a foreign ``Origin`` (CSRF and
cross-site reads), before any route, authentication or body is looked at.
See SECURITY.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .responses import error_response

__all__ = ["LOOPBACK_NAMES", "HostOriginGuard", "allowed_hosts"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def allowed_hosts(port: int, extra_hosts: Iterable[str] = ()) -> frozenset[str]:
    """Every ``Host`` value a request to a server on ``port`` may carry."""
    names = {f"{n}:{port}" for n in LOOPBACK_NAMES}
    for host in (h.lower() for h in extra_hosts):
        names.add(host if ":" in host.rsplit("]", 1)[-1] else f"{host}:{port}")
    return frozenset(names)


class HostOriginGuard:
    """Refuse foreign ``Host`` (DNS rebinding) and foreign ``Origin`` (CSRF).

    Allowed hosts are the loopback names with the server's own port, plus
    operator-configured names; an ``Origin``, when present, must be
    ``http://`` one of those.
    """

    def __init__(self, app: ASGIApp, extra_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.extra_hosts = tuple(h.lower() for h in extra_hosts)
        self._allowed: frozenset[str] | None = None

    def allowed(self, port: int) -> frozenset[str]:
        if self._allowed is None:
            self._allowed = allowed_hosts(port, self.extra_hosts)
        return self._allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = scope.get("server") or ("", 0)
        allowed = self.allowed(int(server[1] or 0))
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        if host not in allowed:
            await error_response(403, "forbidden host")(scope, receive, send)
            return
        origin = headers.get("origin")
        if origin is not None and not (
            origin.lower().startswith("http://") and origin[7:].lower() in allowed
        ):
            await error_response(403, "forbidden origin")(scope, receive, send)
            return
        await self.app(scope, receive, send)
