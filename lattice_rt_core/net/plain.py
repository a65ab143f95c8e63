"""The endpoint's routes over the standard library's :mod:`http.client`.

A ``lattice-rt`` command other than ``tail`` makes one to three requests and
exits, and importing httpx takes longer than those requests (tens of ms, the
largest part of such a call). :class:`PlainRequests` has the routes of
:class:`~lattice_rt_core.net.requests.ApiRequests` over one connection per request:
the same headers, the same verifying TLS context (the system store plus the
CA file), the same answers and the same one-line failures as httpx's
:class:`~lattice_rt_core.net.requests.ApiRequests`. It has no stream and no
password sign-in (those stay with :class:`~lattice_rt_core.client.RealtimeClient`).
"""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlencode, urlsplit

from lattice_rt_core.net.api import ApiError
from lattice_rt_core.net.requests import Answer, ApiRequests, request_failure

__all__ = ["PlainRequests"]


class PlainRequests(ApiRequests):
    """One endpoint's routes, a new connection for each request."""

    def _exchange(
        self, method: str, path: str, *, content: bytes | None, headers: dict[str, str],
        params: dict[str, Any], timeout: float,
    ) -> Answer:
        parts = urlsplit(self.base_url)  # its path: a server behind a proxy's prefix
        target = parts.path + path + (f"?{urlencode(params, doseq=True)}" if params else "")
        host = parts.hostname or ""
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(host, parts.port, timeout=timeout,
                                                     context=self._verify)
        else:
            connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
        try:
            try:
                connection.connect()  # the TLS handshake too
            except TimeoutError as exc:
                raise ApiError(0, request_failure(self.base_url, exc, timeout=True)) from exc
            except OSError as exc:
                raise ApiError(0, request_failure(self.base_url, exc, connect=True)) from exc
            try:
                connection.request(method, target, body=content,
                                   headers={**self._headers, **headers})
                response = connection.getresponse()
                return Answer(response.status, response.reason, response.read())
            except TimeoutError as exc:
                raise ApiError(0, request_failure(self.base_url, exc, timeout=True)) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise ApiError(0, request_failure(self.base_url, exc)) from exc
        finally:
            connection.close()
