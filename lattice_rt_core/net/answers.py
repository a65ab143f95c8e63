"""What an HTTP answer (or its absence) says, in one line: the server's error text, why
a connection failed, how long a wait is, and waking a thread blocked on a stream.

The client's helpers over httpx (:mod:`lattice_rt_core.client` uses them).
"""

from __future__ import annotations

import logging
import socket

import httpx

from lattice_rt_core.net.api import ApiError

__all__ = ["abort_response", "duration", "error_from", "error_text", "reason"]

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
    message = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            message = error_text(body.get("error")) or error_text(body.get("detail"))
    except (ValueError, httpx.ResponseNotRead):
        pass
    if not message:
        try:
            text = response.text.strip()
        except (httpx.ResponseNotRead, UnicodeDecodeError):
            text = ""
        first = text.splitlines()[0] if text else ""
        message = first[:200] if first and not first.lstrip().startswith("<") else ""
    if not message:
        message = response.reason_phrase or "request failed"
    return ApiError(response.status_code, message)


def error_text(value: object) -> str:
    """An error body's text as the server wrote it: ``{"error"}`` (ours), ``{"detail"}``
    (FastAPI: a string, or a list of validation problems, each with a ``msg``)."""
    if isinstance(value, str):
        return value.strip()[:500]
    if isinstance(value, list):
        parts = []
        for item in value[:5]:
            if isinstance(item, dict) and isinstance(item.get("msg"), str):
                where = item.get("loc")
                field = ".".join(str(p) for p in where[1:]) if isinstance(where, list) else ""
                parts.append(f"{field}: {item['msg']}" if field else item["msg"])
        return "; ".join(parts)[:500]
    return ""


def reason(exc: Exception) -> str:
    text = str(exc).strip()
    if "Connection refused" in text:
        return "connection refused"
    return text or type(exc).__name__

