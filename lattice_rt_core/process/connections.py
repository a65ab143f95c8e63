"""What one TCP connection may cost before it has said what it wants.

uvicorn's HTTP protocols (httptools, or h11 without it) keep reading an
unfinished request head for as long as it comes and without a size limit, and
any number of connections may wait there. :func:`guarded_protocol` wraps the
protocol uvicorn chose in three bounds (see SECURITY.md, "Slow, dead and
flapping peers"):

* a request head (request line and headers) larger than ``max_head_bytes`` is
  answered ``431`` and the connection closed, before more of it is read;
* a head not complete within ``head_timeout`` seconds of its first byte (or of
  the connection, for one that sends nothing) closes the connection;
* one client address holds at most ``per_client`` connections at once; one
  more is answered ``429`` and closed. Connections from the reverse proxies
  named by ``--trust-proxy`` are not counted (every client comes through them).

The TLS handshake's own deadline is asyncio's ``ssl_handshake_timeout``
(server.py passes it): a protocol sees a TLS connection only once it is made.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ConnectionLimits", "PeerCounts", "guarded_protocol"]

log = logging.getLogger(__name__)

#: seconds between two log lines about refused connections (a flood logs a count)
LOG_INTERVAL = 60.0
_HEAD_END = b"\r\n\r\n"


@dataclass(frozen=True)
class ConnectionLimits:
    max_head_bytes: int
    head_timeout: float
    #: connections one client address may hold at once; 0: no cap
    per_client: int
    #: addresses or networks whose connections are not counted (reverse proxies)
    exempt: tuple[str, ...] = ()


@dataclass
class PeerCounts:
    """Open connections per client address, and the rate-limited log of refusals."""

    limits: ConnectionLimits
    clock: Callable[[], float] = time.monotonic
    open: Counter[str] = field(default_factory=Counter)
    refused: int = 0  # since the last log line
    _logged_at: float | None = None
    _exempt: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._exempt = [ipaddress.ip_network(n, strict=False) for n in self.limits.exempt]

    def counted(self, host: str) -> bool:
        if not self._exempt:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return True
        return not any(address in network for network in self._exempt)

    def admit(self, host: str) -> bool:
        """Count a new connection from ``host``; False: over the cap (not counted)."""
        cap = self.limits.per_client
        if cap and self.open[host] >= cap:
            self._refused(host)
            return False
        self.open[host] += 1
        return True

    def release(self, host: str) -> None:
        self.open[host] -= 1
        if self.open[host] <= 0:
            del self.open[host]

    def _refused(self, host: str) -> None:
        self.refused += 1
        now = self.clock()
        if self._logged_at is None or now - self._logged_at >= LOG_INTERVAL:
            log.warning("refused %d connection(s): %s holds %d, the most one client may "
                        "(max_client_connections)", self.refused, host, self.limits.per_client)
            self.refused = 0
            self._logged_at = now


def _plain_answer(status: str, text: str) -> bytes:
    body = text.encode("ascii") + b"\n"
    return (f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode("ascii") + body


TOO_MANY = _plain_answer("429 Too Many Requests", "too many connections from this address")
TOO_LARGE = _plain_answer("431 Request Header Fields Too Large",
                          "the request head is too large")


def guarded_protocol(base: type[asyncio.Protocol], counts: PeerCounts) -> type[asyncio.Protocol]:
    """``base`` (uvicorn's HTTP protocol) with the bounds of the module docstring.

    It reads uvicorn's ``transport`` and ``cycle`` (the request in progress, or
    the last one: ``response_complete``, ``more_body``); tests/core/test_server.py
    fails naming them if they move.
    """
    limits = counts.limits

    class Guarded(base):  # type: ignore[valid-type, misc]
        _peer: str | None = None
        _head_bytes = 0
        _tail = b""
        _head_timer: asyncio.TimerHandle | None = None
        _refused = False

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            peer = transport.get_extra_info("peername")
            host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            if host and counts.counted(host):
                if not counts.admit(host):
                    self._refused = True
                    transport.write(TOO_MANY)
                    transport.close()
                    return
                self._peer = host
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            if self._peer is not None:
                counts.release(self._peer)
                self._peer = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            waiting = self._waiting_for_head()
            if waiting:
                if self._head_timer is None:
                    self._arm_head_timer()
                if self._head_bytes + len(data) > limits.max_head_bytes:
                    end = (self._tail + data).find(_HEAD_END)
                    in_head = end + len(_HEAD_END) - len(self._tail) if end >= 0 else len(data)
                    if self._head_bytes + in_head > limits.max_head_bytes:
                        self._too_large()
                        return
            super().data_received(data)
            if self._refused or not waiting:
                return
            if self._waiting_for_head():  # still in the head: count what came
                self._head_bytes += len(data)
                self._tail = (self._tail + data)[-3:]
            else:
                self._head_done()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._head_done()  # a next head gets its own deadline from its first byte

        def _unsupported_upgrade_warning(self) -> None:
            # the servers serve no WebSocket (ws="none"), so an Upgrade is answered as the
            # plain request it also is; uvicorn's two warnings (install a WebSocket
            # library) would be wrong advice, logged for every such request anyone sends
            log.debug("an Upgrade request was served as plain HTTP")

        def _waiting_for_head(self) -> bool:
            # no request yet, or the last one answered and its body read (an
            # answer may come before the body, e.g. a 413)
            cycle = getattr(self, "cycle", None)
            return cycle is None or (bool(cycle.response_complete) and not cycle.more_body)

        def _head_done(self) -> None:
            self._head_bytes = 0
            self._tail = b""
            self._cancel_head_timer()

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            loop = asyncio.get_running_loop()
            self._head_timer = loop.call_later(limits.head_timeout, self._head_expired)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_expired(self) -> None:
            self._head_timer = None
            if self._waiting_for_head() and self.transport is not None:
                self.transport.close()

        def _too_large(self) -> None:
            self._refused = True
            self._cancel_head_timer()
            self.transport.write(TOO_LARGE)
            self.transport.close()

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded
