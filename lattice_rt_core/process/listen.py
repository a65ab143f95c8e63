"""The server's listening socket: bound with a clear error, tuned to notice dead peers.

Accepted connections inherit the listening socket's options: TCP keepalive
and, on Linux, ``TCP_USER_TIMEOUT`` of two heartbeats, so a peer whose network
vanished is dropped by the kernel (see SECURITY.md).
"""

from __future__ import annotations

import errno
import logging
import socket

from lattice_rt_core.process.config import PortInUse, ServerError
from lattice_rt_core.protocol.defaults import DEFAULT_HEARTBEAT

__all__ = ["bind_socket"]

log = logging.getLogger(__name__)


def _detect_dead_peers(sock: socket.socket, heartbeat: float) -> None:
    """TCP keepalive, and on Linux a user timeout of two heartbeats.

    Set on the listening socket; accepted connections inherit them. A peer
    whose network vanished stops acknowledging the heartbeats: after
    ``TCP_USER_TIMEOUT`` the kernel aborts the connection and the stream ends.
    Keepalive probes cover a connection with nothing to send.
    """
    idle = max(1, int(heartbeat))
    options = [
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPIDLE", None), idle),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPINTVL", None), max(1, idle // 3)),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPCNT", None), 3),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_USER_TIMEOUT", None), int(heartbeat * 2000)),
    ]
    for level, option, value in options:
        if option is None:
            continue
        try:
            sock.setsockopt(level, option, value)
        except OSError as exc:  # not every platform has every knob
            log.debug("socket option %s not set: %s", option, exc)


def bind_socket(
    host: str,
    port: int,
    heartbeat: float = DEFAULT_HEARTBEAT,
    *,
    reuse_port: bool = False,
    listen: bool = True,
) -> socket.socket:
    """A TCP socket on ``host:port`` with the dead-peer options; a clear error if not.

    ``reuse_port``: SO_REUSEPORT, so processes of one user share the port and
    the kernel spreads connections over them; ``listen`` False only reserves
    the port (a supervisor whose workers listen).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        _detect_dead_peers(sock, heartbeat)
        sock.bind((host, port))
        if listen:
            sock.listen(2048)
        sock.set_inheritable(True)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {host} is already in use: is another lattice-rt running?"
            ) from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ServerError(f"not allowed to listen on {host}:{port}: {exc.strerror}") from exc
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock
