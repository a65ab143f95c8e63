"""The requests of a lattice-rt (or Lattice AI) endpoint, synchronous, from any thread.

:class:`ApiRequests` holds what every request sends (its headers, the verifying
TLS context) and the routes as methods, each on :meth:`ApiRequests.request`; it
raises :class:`~lattice_rt_core.net.api.ApiError` with the server's own text
(status 0 when the server cannot be reached); a subclass moves the bytes
(:meth:`ApiRequests._exchange`): :class:`~lattice_rt_core.net.plain.PlainRequests`
over the standard library, and :class:`~lattice_rt_core.client.RealtimeClient`,
which adds the live stream. It also learns what the server is
(:meth:`ApiRequests.hello`, :attr:`ApiRequests.kind`) and says when a route the
server lacks was asked for.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any, Self

from lattice_rt_core.net.api import (
    NO_EVENTS_MESSAGE,
    NO_PAGE_MESSAGE,
    NO_REALTIME_MESSAGE,
    NO_STATUS_MESSAGE,
    ApiError,
    ServerKind,
    accept_language,
    answer_error,
    check_url,
    reason,
)
from lattice_rt_core.net.tls import CaFile, TlsError, client_context
from lattice_rt_core.net.tls import describe as describe_tls
from lattice_rt_core.protocol.defaults import DEFAULT_FEED_LIMIT, FEED_LIMIT
from lattice_rt_core.protocol.events import to_json
from lattice_rt_core.version import __version__

if TYPE_CHECKING:
    import ssl

__all__ = ["MISSING", "REQUEST_TIMEOUT", "SESSION_COOKIE", "Answer", "ApiRequests",
           "request_failure"]

REQUEST_TIMEOUT = 5.0
#: the cookie a Lattice AI server's ``POST /login`` sets: its session token
SESSION_COOKIE = "session_token"
#: answers that mean "no such route"
MISSING = frozenset({404, 405})


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read whole."""

    status: int
    reason_phrase: str
    body: bytes
    set_cookies: tuple[str, ...] = ()  # its Set-Cookie headers


def request_failure(
    base_url: str, exc: Exception, *, connect: bool = False, timeout: bool = False
) -> str:
    """One line for a request that got no answer: TLS, ``connect`` (the connection could
    not be made), ``timeout`` (no answer in time), or anything else."""
    tls_failure = describe_tls(exc, base_url)
    if tls_failure is not None:
        return tls_failure
    if connect:
        return f"cannot connect to {base_url} ({reason(exc)})"
    if timeout:
        return f"{base_url} did not answer in time"
    return f"request to {base_url} failed ({reason(exc)})"


class ApiRequests:
    """One endpoint's routes (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        ca_file: CaFile | None = None,
    ) -> None:
        url = check_url(base_url)
        self.base_url = url
        self.request_timeout = request_timeout
        self._kind: ServerKind | None = None
        headers = {"User-Agent": f"lattice-rt/{__version__}", "Accept-Language": accept_language()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        #: what every request sends
        self._headers = headers
        #: the verifying context of every connection (the system store + ca_file);
        #: none for an http:// URL, which never loads TLS
        self._verify: ssl.SSLContext | None = None
        if url.startswith("https://"):
            try:
                self._verify = client_context(ca_file)
            except TlsError as exc:
                raise ApiError(0, str(exc)) from None

    @property
    def kind(self) -> ServerKind | None:
        """What this client follows, once learned (None: not asked yet)."""
        return self._kind

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One request; the answer's JSON object, or :class:`ApiError` (any route of the API)."""
        sent = dict(headers or {})
        content = None
        if body is not None:
            content = to_json(body).encode()
            sent["Content-Type"] = "application/json"
        answer = self._exchange(
            method, path, content=content, headers=sent, params=dict(params or {}),
            timeout=timeout if timeout is not None else self.request_timeout,
        )
        if answer.status >= 400:
            raise answer_error(answer.status, answer.body, answer.reason_phrase)
        try:
            value = json.loads(answer.body)
        except ValueError as exc:
            raise ApiError(answer.status, f"{path} did not answer JSON") from exc
        if not isinstance(value, dict):
            raise ApiError(answer.status, f"{path} answered an unexpected shape")
        return value

    def close(self) -> None:
        """Release what the requests keep open (nothing here)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _exchange(
        self, method: str, path: str, *, content: bytes | None, headers: dict[str, str],
        params: dict[str, Any], timeout: float,
    ) -> Answer:
        """Send one request and read its answer; :class:`ApiError` (status 0, worded by
        :func:`request_failure`) when none came."""
        raise NotImplementedError

    @staticmethod
    def _field(answer: dict[str, Any], key: str, kind: type, path: str) -> Any:
        value = answer.get(key)
        if not isinstance(value, kind):
            raise ApiError(200, f"{path} answered without {key!r}")
        return value

    def join(
        self,
        workspace_id: str | None = None,
        client_id: str | None = None,
        display_name: str | None = None,
        status: str | None = None,
        status_text: str | None = None,
    ) -> dict[str, Any]:
        """Announce presence; returns the presence entry (with its client_id).

        ``status`` (with ``status_text``) sets the entry's state; without it
        a new entry is ``active`` and a re-join keeps what the entry says.
        """
        body = {
            key: value
            for key, value in (
                ("client_id", client_id),
                ("workspace_id", workspace_id),
                ("display_name", display_name),
                ("status", status),
                ("status_text", status_text),
            )
            if value is not None
        }
        answer = self.request("POST", "/realtime/presence/join", body=body)
        entry: dict[str, Any] = self._field(answer, "presence", dict, "presence/join")
        return entry

    def set_status(
        self, client_id: str, status: str, status_text: str | None = None
    ) -> dict[str, Any]:
        """Change an entry's status and status line (None: no line); returns the entry."""
        body: dict[str, Any] = {"client_id": client_id, "status": status}
        if status_text is not None:
            body["status_text"] = status_text
        try:
            answer = self.request("POST", "/realtime/presence/status", body=body)
        except ApiError as exc:
            raise self.missing_route(exc, NO_STATUS_MESSAGE) from None
        entry: dict[str, Any] = self._field(answer, "presence", dict, "presence/status")
        return entry

    def leave(self, client_id: str, timeout: float = 1.0) -> None:
        self.request(
            "POST", "/realtime/presence/leave", body={"client_id": client_id}, timeout=timeout
        )

    def feed(self, limit: int = DEFAULT_FEED_LIMIT, before: int | None = None) -> dict[str, Any]:
        """The feed (newest first); with ``before``, the events below that seq."""
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params["before"] = before
        return self.request("GET", "/realtime/feed", params=params)

    def history(
        self, before: int | None = None, limit: int = FEED_LIMIT
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of what the server keeps, newest first, and the ``before`` of the
        next older page (None: there is none).

        A server without pages (the Lattice AI server: its feed has no ``before`` and
        answers no ``next_before``) gives its feed as the only page.
        """
        if before is not None and self._kind is ServerKind.LATTICE_AI:
            return [], None
        answer = self.feed(limit, before)
        events = self._field(answer, "events", list, "feed")
        older = answer.get("next_before")
        if not isinstance(older, int) or isinstance(older, bool) or older < 1:
            older = None
        elif before is not None and older >= before:
            older = None  # a server that ignored ``before``: no further back
        return [e for e in events if isinstance(e, dict)], older

    def presence(self) -> dict[str, Any]:
        return self.request("GET", "/realtime/presence")

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/realtime/health")

    def hello(self) -> dict[str, Any]:
        """The server's health, learning what it is (:attr:`kind`) on the way.

        A lattice-rt server answers its health. A server without that route is
        asked for its feed: a Lattice AI server answers it (the result is then
        ``{"kind": "lattice-ai"}``: it has no identity or stats to give); with no
        feed either, the server has no realtime API (an unsupported ApiError).
        """
        try:
            health = self.health()
        except ApiError as exc:
            if exc.status not in MISSING:
                raise
            self._learn()
            return {"kind": ServerKind.LATTICE_AI.value}
        self._kind = ServerKind.LATTICE_RT
        return health

    def _learn(self) -> None:
        """Health is missing: a Lattice AI server, or one without a realtime API (raised)."""
        try:
            self.request("GET", "/realtime/feed", params={"limit": 1})
        except ApiError as exc:
            if exc.status in MISSING:
                self._kind = ServerKind.NO_REALTIME
                raise ApiError(exc.status, NO_REALTIME_MESSAGE, unsupported=True) from None
            if exc.refused:  # the feed is there, for someone signed in: a Lattice AI server
                self._kind = ServerKind.LATTICE_AI
            raise
        self._kind = ServerKind.LATTICE_AI

    def publish(
        self,
        area: str,
        event_type: str,
        payload: Any = None,
        workspace_id: str | None = None,
        *,
        idempotency_key: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Publish one event; returns it enriched (with its seq) once durable.

        ``idempotency_key``: see :meth:`publish_many`.
        """
        event = dict(extra)
        event.update(
            area=area,
            event_type=event_type,
            workspace_id=workspace_id,
            payload=payload if payload is not None else {},
        )
        events = self.publish_many([event], idempotency_key=idempotency_key)
        if len(events) != 1:
            raise ApiError(200, "events answered an unexpected number of events")
        return events[0]

    def publish_many(
        self, events: Iterable[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> list[dict[str, Any]]:
        """Publish ``events`` (all or none); the enriched events once durable.

        Every publish carries an ``Idempotency-Key`` (``idempotency_key``, or a
        new random one), and one whose answer never came (the connection
        failed or timed out: it may have been stored) is sent once more with
        the same key: the server answers a key it knows with the first answer
        and publishes nothing again. Pass your own key to retry later yourself.
        """
        body = [dict(e) for e in events]
        key = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        try:
            try:
                answer = self.request("POST", "/realtime/events", body=body, headers=key)
            except ApiError as exc:
                if exc.status != 0:
                    raise
                answer = self.request("POST", "/realtime/events", body=body, headers=key)
        except ApiError as exc:
            raise self.missing_route(exc, NO_EVENTS_MESSAGE) from None
        published: list[dict[str, Any]] = self._field(answer, "events", list, "events")
        return published

    def missing_route(self, exc: ApiError, message: str) -> ApiError:
        """A 404 explained: a Lattice AI server lacks the route, or there is no realtime API."""
        if exc.status not in MISSING:
            return exc
        if self._kind is None:
            try:
                self.hello()
            except ApiError as other:
                return other if other.unsupported else exc
        if self._kind is ServerKind.LATTICE_AI:
            return ApiError(exc.status, message, unsupported=True)
        return exc

    def sign_in(self, email: str, password: str) -> str:
        """Sign in with a password (a Lattice AI server in auth mode: ``POST /login``);
        returns the session token, which works as this client's bearer token. The
        token is read from the answer's cookie and kept in no cookie jar."""
        answer = self._exchange(
            "POST", "/login", content=to_json({"email": email, "password": password}).encode(),
            headers={"Content-Type": "application/json"}, params={},
            timeout=self.request_timeout,
        )
        if answer.status == 404:
            raise ApiError(404, "this server has no password sign-in (POST /login); "
                                "use a token", unsupported=True)
        if answer.status >= 400:
            raise answer_error(answer.status, answer.body, answer.reason_phrase)
        token = _cookie(answer.set_cookies, SESSION_COOKIE)
        if not token:
            raise ApiError(answer.status, "the server answered the sign-in without a session")
        return token

    def launch_url(self) -> str:
        """A one-time URL that logs a browser into the activity page (60 s)."""
        try:
            answer = self.request("POST", "/realtime/launch", body={})
        except ApiError as exc:
            raise self.missing_route(exc, NO_PAGE_MESSAGE) from None
        url: str = self._field(answer, "url", str, "launch")
        return url


def _cookie(headers: tuple[str, ...], name: str) -> str | None:
    """The value of cookie ``name`` in ``Set-Cookie`` headers (None: not set, or unreadable)."""
    for header in headers:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        morsel = jar.get(name)
        if morsel is not None and morsel.value:
            return morsel.value
    return None
