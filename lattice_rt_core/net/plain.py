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
from lattice_rt_core.net.proxy import ProxyError, proxy_for
from lattice_rt_core.net.requests import REQUEST_TIMEOUT, Answer, ApiRequests, request_failure
from lattice_rt_core.net.tls import CaFile

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
        """The start of the answer (an error's body, which only needs its first line):
        a server that sends without end cannot hold the reader."""
        return self._response.read(STREAM_READ)

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
    """One endpoint's routes, a new connection for each request, and its event stream;
    through the environment's HTTP proxy for that URL (:mod:`~lattice_rt_core.net.proxy`)."""

    def __init__(self, base_url: str, token: str | None = None, *,
                 request_timeout: float = REQUEST_TIMEOUT, ca_file: CaFile | None = None) -> None:
        super().__init__(base_url, token, request_timeout=request_timeout, ca_file=ca_file)
        self._parts = urlsplit(self.base_url)
        try:
            self._proxy = proxy_for(self.base_url)
        except ProxyError as exc:
            raise ApiError(0, str(exc)) from None
        #: the proxy forwards each request itself (plain http://: whole URLs, its credentials
        #: on every request); for https:// it only tunnels (its credentials at CONNECT)
        self._forwarded = self._proxy is not None and self._parts.scheme == "http"

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        """A connection made (through the proxy's tunnel and the TLS handshake too), or
        :class:`ApiError` (status 0)."""
        host, port, proxy = self._parts.hostname or "", self._parts.port, self._proxy
        to_host, to_port = (proxy.host, proxy.port) if proxy else (host, port)
        connection: http.client.HTTPConnection
        if self._parts.scheme == "https":
            connection = http.client.HTTPSConnection(to_host, to_port, timeout=timeout,
                                                     context=self._verify)
            if proxy:
                connection.set_tunnel(host, port, headers=dict(proxy.headers))
        else:
            connection = http.client.HTTPConnection(to_host, to_port, timeout=timeout)
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise ApiError(0, self._via(request_failure(self.base_url, exc, timeout=True))) \
                from exc
        except OSError as exc:  # the TLS failures are OSErrors too
            connection.close()
            raise ApiError(0, self._via(request_failure(self.base_url, exc, connect=True))) \
                from exc
        return connection

    def _via(self, text: str) -> str:
        return f"{text} through the proxy {self._proxy.url}" if self._proxy else text

    def _target(self, path: str, params: dict[str, Any] | list[tuple[str, str]]) -> str:
        """``path`` under the URL's own path (a server behind a proxy's prefix), with a query;
        the whole URL when a proxy forwards the request."""
        query = urlencode(params, doseq=True)
        origin = f"http://{self._parts.netloc}" if self._forwarded else ""
        return origin + self._parts.path + path + (f"?{query}" if query else "")

    def _sent(self, headers: dict[str, str]) -> dict[str, str]:
        """What a request sends: the common headers, and the proxy's credentials when it
        forwards the request."""
        if self._forwarded and self._proxy is not None:
            return {**self._headers, **self._proxy.headers, **headers}
        return {**self._headers, **headers}

    def _exchange(
        self, method: str, path: str, *, content: bytes | None, headers: dict[str, str],
        params: dict[str, Any], timeout: float,
    ) -> Answer:
        connection = self._connect(timeout)
        try:
            connection.request(method, self._target(path, params), body=content,
                               headers=self._sent(headers))
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
            connection.request("GET", self._target(path, params), headers=self._sent({
                "Accept": "text/event-stream", "Cache-Control": "no-store", **headers}))
            sock.settimeout(read_timeout)
            response = connection.getresponse()
        except TimeoutError as exc:
            connection.close()
            raise ApiError(0, f"no answer from {self.base_url} for {read_timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise ApiError(0, request_failure(self.base_url, exc)) from exc
        return PlainStream(connection, sock, response)
