"""The endpoint's routes and its event stream over the standard library's :mod:`http.client`.

:class:`PlainRequests` moves the bytes of
:class:`~lattice_rt_core.net.requests.ApiRequests` over one connection per
request, with the same headers, the same verifying TLS context (the system
store plus the CA file) and the same one-line failures for every caller: the
CLI's one-shot commands and :class:`~lattice_rt_core.client.RealtimeClient`
(the tray app, ``tail``), which adds the live stream over :meth:`open_stream`.

No third-party HTTP stack: importing httpx (and its 200 modules) took longer than
a command's requests and 6 MB of the tray app's memory; and no TLS context (the
system's trust store) is built for an ``http://`` URL, such as the tray app's own
endpoint on loopback.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

from lattice_rt_core.net.api import ApiError
from lattice_rt_core.net.requests import Answer, ApiRequests, request_failure

__all__ = ["STREAM_READ", "PlainRequests", "PlainStream"]

#: the most one read of a stream takes at once
STREAM_READ = 64 * 1024


class PlainStream:
    """One open ``GET`` of an event stream: its status, its bytes as they come, and a way
    to wake the thread that reads them from any other thread (:meth:`abort`)."""

    def __init__(
        self, connection: http.client.HTTPConnection, sock: socket.socket,
        response: http.client.HTTPResponse,
    ) -> None:
        self._connection = connection
        self._sock = sock  # the connection lets go of it when the answer ends the connection
        self._response = response
        self.status = response.status
        self.reason = response.reason
        #: the media type alone (``text/event-stream``), lower case
        self.content_type = (response.getheader("Content-Type") or "").partition(";")[0] \
            .strip().lower()

    def body(self) -> bytes:
        """The whole answer (an error's body: it ends)."""
        return self._response.read()

    def chunks(self) -> Iterator[bytes]:
        """The stream's bytes as they arrive, until the server ends it.

        Raises what the socket raises: ``TimeoutError`` after the read timeout
        with no byte, ``OSError`` or ``http.client.HTTPException`` for a lost
        connection.
        """
        read = self._response.read1
        while chunk := read(STREAM_READ):
            yield chunk

    def abort(self) -> None:
        """Wake a thread blocked reading (callable from any thread).

        Closing a socket does not interrupt a ``recv`` blocked on it in another
        thread; shutting it down does.
        """
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed

    def close(self) -> None:
        self._response.close()
        self._connection.close()
        self._sock.close()


class PlainRequests(ApiRequests):
    """One endpoint's routes, a new connection for each request, and its event stream."""

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        """A connection made (the TLS handshake too), or :class:`ApiError` (status 0)."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(host, parts.port, timeout=timeout,
                                                     context=self._verify)
        else:
            connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise ApiError(0, request_failure(self.base_url, exc, timeout=True)) from exc
        except OSError as exc:  # the TLS failures are OSErrors too
            connection.close()
            raise ApiError(0, request_failure(self.base_url, exc, connect=True)) from exc
        return connection

    def _target(self, path: str, params: dict[str, Any] | list[tuple[str, str]]) -> str:
        """``path`` under the URL's own path (a server behind a proxy's prefix), with a query."""
        query = urlencode(params, doseq=True)
        return urlsplit(self.base_url).path + path + (f"?{query}" if query else "")

    def _exchange(
        self, method: str, path: str, *, content: bytes | None, headers: dict[str, str],
        params: dict[str, Any], timeout: float,
    ) -> Answer:
        connection = self._connect(timeout)
        try:
            connection.request(method, self._target(path, params), body=content,
                               headers={**self._headers, **headers})
            response = connection.getresponse()
            return Answer(response.status, response.reason, response.read(),
                          tuple(response.headers.get_all("Set-Cookie") or ()))
        except TimeoutError as exc:
            raise ApiError(0, request_failure(self.base_url, exc, timeout=True)) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ApiError(0, request_failure(self.base_url, exc)) from exc
        finally:
            connection.close()

    def open_stream(
        self, path: str, params: list[tuple[str, str]], headers: dict[str, str],
        read_timeout: float,
    ) -> PlainStream:
        """``GET path`` as an event stream, its answer's head read: the caller reads the
        rest (:meth:`PlainStream.chunks`) and closes it. :class:`ApiError` (status 0) when
        the server cannot be reached or sends no answer within ``read_timeout``."""
        connection = self._connect(self.request_timeout)
        sock = connection.sock
        assert sock is not None  # connected above
        try:
            connection.request("GET", self._target(path, params), headers={
                **self._headers, "Accept": "text/event-stream", "Cache-Control": "no-store",
                **headers})
            sock.settimeout(read_timeout)
            response = connection.getresponse()
        except TimeoutError as exc:
            connection.close()
            raise ApiError(0, f"no answer from {self.base_url} for {read_timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise ApiError(0, request_failure(self.base_url, exc)) from exc
        return PlainStream(connection, sock, response)
