"""Scripted answers on a real loopback port: an httpx transport served over HTTP/1.1.

The client under test speaks real HTTP over a real socket; what the server says
is written as an httpx handler (``httpx.MockTransport(handler)``, or any
``httpx.BaseTransport``), which is a convenient way to script it: each request
arrives as an ``httpx.Request`` (path, query, headers and body as sent) and the
``httpx.Response`` returned is written back, its body chunk by chunk (chunked
encoding, each chunk flushed), so a streamed body that blocks is a stream that
stays open. A handler that raises ``httpx.TimeoutException`` is a server that
never answers (until :meth:`MockHttp.close`); any other ``httpx.TransportError``
is a server that closes the connection without an answer. When the client hangs
up, the response is closed (a stream blocked in its handler ends).
"""

from __future__ import annotations

import http.server
import select
import socket
import threading
from typing import Any

import httpx

__all__ = ["MockHttp"]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = httpx.Request(self.command, f"{self.server.url}{self.path}",
                                headers=list(self.headers.items()),
                                content=self.rfile.read(length) if length else b"")
        try:
            response = self.server.transport.handle_request(request)
        except httpx.TimeoutException:
            self.server.closing.wait()
            self.close_connection = True
            return
        except httpx.TransportError:
            self.close_connection = True
            return
        self.server.track(response)
        threading.Thread(target=self._watch_peer, args=(response,), daemon=True).start()
        try:
            self.send_response(response.status_code, response.reason_phrase)
            for name, value in response.headers.multi_items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in response.stream:  # type: ignore[union-attr]
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:  # the client went away
            self.close_connection = True
        finally:
            response.close()

    def _watch_peer(self, response: httpx.Response) -> None:
        """Close ``response`` when the client hangs up (a stream blocked in its handler
        then ends, as a real server's does when its peer goes away)."""
        try:
            select.select([self.connection], [], [])
            if not self.connection.recv(1, socket.MSG_PEEK):
                response.close()
        except OSError:
            response.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - the stdlib's names

    def log_message(self, *args: Any) -> None:
        """Quiet."""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, transport: httpx.BaseTransport) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.transport = transport
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._open: list[httpx.Response] = []

    def track(self, response: httpx.Response) -> None:
        with self._lock:
            self._open.append(response)

    def close_all(self) -> None:
        self.closing.set()
        with self._lock:
            responses, self._open = self._open, []
        for response in responses:  # a stream blocked in its handler ends
            response.close()


class MockHttp:
    """``transport`` answering on ``http://127.0.0.1:<port>`` (:attr:`url`) until closed."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._server = _Server(transport)
        self.url = self._server.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="mock-http")
        self._thread.start()

    def close(self) -> None:
        self._server.close_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server.transport.close()

    def __enter__(self) -> MockHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
