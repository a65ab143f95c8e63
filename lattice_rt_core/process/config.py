"""How a realtime server is configured, and the error it starts with when it cannot.

:class:`ServerConfig` is the one place every server setting and its default
lives (the defaults themselves come from :mod:`~lattice_rt_core.protocol.defaults`); ``lattice-rt
serve``, the tray app and the tests build one and hand it to
:class:`~lattice_rt_core.server.RealtimeServer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lattice_rt_core.engines.redis.store import DEFAULT_PREFIX
from lattice_rt_core.paths import default_data_dir
from lattice_rt_core.protocol.defaults import (
    AUTH_FAILURE_LIMIT,
    AUTH_FAILURE_WINDOW,
    DEFAULT_BACKLOG,
    DEFAULT_HEARTBEAT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_RETENTION,
    DEFAULT_TTL,
    HEAD_TIMEOUT,
    MAX_CLIENT_CONNECTIONS,
    MAX_HEAD_BYTES,
    TLS_HANDSHAKE_TIMEOUT,
)
from lattice_rt_core.protocol.limits import ApiLimits

__all__ = ["ServerConfig", "ServerError"]


class ServerError(RuntimeError):
    """The server cannot start; the message is meant for a person."""


@dataclass
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    heartbeat: float = DEFAULT_HEARTBEAT
    presence_ttl: float = DEFAULT_TTL
    auth: bool = True
    journal_retention: int = DEFAULT_RETENTION
    backlog: int = DEFAULT_BACKLOG
    allowed_hosts: tuple[str, ...] = ()
    owner_user: str = ""
    limits: ApiLimits = field(default_factory=ApiLimits)
    write_server_info: bool = True
    log_level: str = "warning"
    #: seconds a stream may stay blocked on a peer that does not read before
    #: it is closed; None: two heartbeats
    write_timeout: float | None = None
    #: seconds an open stream alone keeps presence after the client's last
    #: request (join, connect); None: one presence TTL. See presence.py.
    presence_hold: float | None = None
    #: log every request (uvicorn's access log); credentials in URLs are redacted
    access_log: bool = False
    #: monotonic seconds; decides presence expiry and launch-code and session lifetimes
    clock: Callable[[], float] = time.monotonic
    #: serve HTTPS with this certificate chain and private key (PEM files)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: addresses (or networks) of reverse proxies whose X-Forwarded-For and
    #: X-Forwarded-Proto are believed; nobody's when empty
    trusted_proxies: tuple[str, ...] = ()
    #: run as a node of the cluster in this Redis (redis://...); None: the local engine
    redis_url: str | None = None
    #: the prefix of every Redis key (one cluster per prefix)
    redis_prefix: str = DEFAULT_PREFIX
    #: seconds between a node's checks of Redis's last seq and epoch
    redis_check_interval: float = 1.0
    #: bind with SO_REUSEPORT, so several processes share the port (--workers)
    reuse_port: bool = False
    #: serve on this inherited listening socket instead of binding (--workers without
    #: SO_REUSEPORT)
    listen_fd: int | None = None
    #: take the data directory's lock (a worker of --workers does not: its
    #: supervisor holds it)
    lock_data_dir: bool = True
    #: bytes a request head may take (431 beyond), seconds it may take to arrive
    max_head_bytes: int = MAX_HEAD_BYTES
    head_timeout: float = HEAD_TIMEOUT
    #: seconds a TLS handshake may take
    tls_handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT
    #: connections one client address may hold at once; 0: no cap
    max_client_connections: int = MAX_CLIENT_CONNECTIONS
    #: failed authentications one client address may have within the window
    #: (seconds) before its requests with a credential are 429s; 0: no limit
    auth_failure_limit: int = AUTH_FAILURE_LIMIT
    auth_failure_window: float = AUTH_FAILURE_WINDOW
    #: seconds between looks at the data directory: one deleted or replaced under
    #: the server is noticed within this long (at once by a publish)
    data_dir_check: float = 1.0

    def effective_write_timeout(self) -> float:
        return self.heartbeat * 2 if self.write_timeout is None else self.write_timeout
