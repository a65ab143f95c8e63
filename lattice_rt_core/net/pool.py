"""The requests of an endpoint over an httpx connection pool, and the password sign-in.

:class:`PooledRequests` moves the bytes of
:class:`~lattice_rt_core.net.requests.ApiRequests` over one httpx pool (whose
``transport`` tests replace); :class:`~lattice_rt_core.client.RealtimeClient`
adds the live stream.
"""

from __future__ import annotations

from typing import Any

import httpx

from lattice_rt_core.net.answers import error_from
from lattice_rt_core.net.api import ApiError
from lattice_rt_core.net.requests import REQUEST_TIMEOUT, Answer, ApiRequests, request_failure
from lattice_rt_core.net.tls import CaFile

__all__ = ["SESSION_COOKIE", "PooledRequests"]

#: the cookie a Lattice AI server's ``POST /login`` sets: its session token
SESSION_COOKIE = "session_token"


class PooledRequests(ApiRequests):
    """One endpoint's requests over one httpx connection pool."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        ca_file: CaFile | None = None,
    ) -> None:
        super().__init__(base_url, token, request_timeout=request_timeout, ca_file=ca_file)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=request_timeout,
            transport=transport, verify=self._verify,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def _exchange(
        self, method: str, path: str, *, content: bytes | None, headers: dict[str, str],
        params: dict[str, Any], timeout: float,
    ) -> Answer:
        try:
            response = self._http.request(method, path, content=content, headers=headers,
                                          params=params or None, timeout=timeout)
        except httpx.HTTPError as exc:
            raise ApiError(0, self._request_failure(exc)) from exc
        return Answer(response.status_code, response.reason_phrase, response.content)

    def _request_failure(self, exc: httpx.HTTPError) -> str:
        return request_failure(self.base_url, exc, connect=isinstance(exc, httpx.ConnectError),
                               timeout=isinstance(exc, httpx.TimeoutException))

    def sign_in(self, email: str, password: str) -> str:
        """Sign in with a password (a Lattice AI server in auth mode: ``POST /login``);
        returns the session token, which works as this client's bearer token."""
        try:
            response = self._http.post("/login", json={"email": email, "password": password})
        except httpx.HTTPError as exc:
            raise ApiError(0, self._request_failure(exc)) from exc
        token = response.cookies.get(SESSION_COOKIE)
        self._http.cookies.clear()  # the token goes in Authorization, never a cookie jar
        if response.status_code == 404:
            raise ApiError(404, "this server has no password sign-in (POST /login); "
                                "use a token", unsupported=True)
        if response.status_code >= 400:
            raise error_from(response)
        if not token:
            raise ApiError(response.status_code, "the server answered the sign-in without a "
                                                 "session")
        return token
