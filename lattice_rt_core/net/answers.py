"""What an HTTP answer (or its absence) says, in one line: the server's error text, why
a connection failed, how long a wait is, and waking a thread blocked on a stream.

The client's helpers over httpx (:mod:`lattice_rt_core.client` uses them); the parts
without httpx (:func:`error_text`, :func:`reason`) are in :mod:`~lattice_rt_core.net.api`.
"""

from __future__ import annotations

import logging
import socket

import httpx

from lattice_rt_core.net.api import ApiError, answer_error

__all__ = ["abort_response", "duration", "error_from"]

log = logging.getLogger(__name__)


def duration(seconds: float) -> str:
    """``3.9 s`` below a minute, ``4 min`` from there (a refused token waits minutes)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{round(seconds / 60):d} min"


def abort_response(response: httpx.Response) -> None:
    """Wake a thread blocked reading ``response`` (callable from any thread).

    Closing a socket does not interrupt a ``recv`` blocked on it in another
    thread; shutting it down does. Without a socket (a mock transport) the
    stream's own close() is the only lever.
    """
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
        return
    try:
        response.close()
    except Exception:  # noqa: BLE001 - best effort from a foreign thread
        log.debug("closing the stream response failed", exc_info=True)


def error_from(response: httpx.Response) -> ApiError:
    """An ApiError with the server's ``{"error"}`` text (or a short fallback)."""
    try:
        body = response.content
    except httpx.ResponseNotRead:
        body = b""
    return answer_error(response.status_code, body, response.reason_phrase)
