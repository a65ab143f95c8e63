"""The HTTP adapter: the JSON routes over the bus, and :func:`create_app`.

Each route parses its request, asks ``access`` whether the caller may do it
and then calls the bus. Errors are JSON ``{"error": "..."}`` with a 4xx
status; nothing a client sends reaches the bus unvalidated. The other routes
live with their job: the stream in ``http/stream.py``, the browser's page
and launch codes in ``page.py``; ``guard.py`` stands in front of them all.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp
from starlette.types import Scope as AsgiScope

from lattice_rt_core.auth.access import (
    Refusal,
    authenticated,
    caller,
    check_batch,
    check_event,
    check_join,
    check_leave,
    check_name,
    check_state,
    check_status,
)
from lattice_rt_core.auth.accounts import AccountStore
from lattice_rt_core.auth.callers import Authenticator
from lattice_rt_core.engines.base import (
    Engine,
    Idempotency,
    IdempotencyConflict,
    NotPersisted,
    Unavailable,
)
from lattice_rt_core.http.body import json_body, object_body
from lattice_rt_core.http.guard import (
    REFUSED_KEY,
    HostOriginGuard,
    RefusedHostLog,
    StrictTransport,
)
from lattice_rt_core.http.guesses import GuessLimit, GuessThrottle
from lattice_rt_core.http.metrics import Metrics, RequestMetrics, ServerCounters
from lattice_rt_core.http.openapi import openapi_document
from lattice_rt_core.http.owner import OwnerRoutes
from lattice_rt_core.http.page import SESSION_PATH, ActivityPage
from lattice_rt_core.http.responses import (
    SECURITY_HEADERS,
    JsonResponse,
    error_response,
    refusals_as_json,
)
from lattice_rt_core.http.stream import StreamRoute
from lattice_rt_core.protocol.defaults import (
    AUTH_FAILURE_LIMIT,
    AUTH_FAILURE_WINDOW,
    DEFAULT_FEED_LIMIT,
    IDEMPOTENCY_KEY_MAX,
    REVOCATION_INTERVAL,
)
from lattice_rt_core.protocol.events import to_json
from lattice_rt_core.protocol.limits import ApiLimits
from lattice_rt_core.protocol.people import people_view, presence_summary

__all__ = ["create_app"]

log = logging.getLogger(__name__)

STREAM_PATH = "/realtime/stream"


class _JsonRoutes:
    """Feed, presence, join, leave, status, publish and health."""

    def __init__(
        self, engine: Engine, auth: Authenticator, limits: ApiLimits, version: str
    ) -> None:
        self.engine = engine
        self.auth = auth
        self.limits = limits
        self.version = version

    # ------------------------------------------------------------- helpers
    def name(self, body: dict[str, Any], key: str) -> str | None:
        return check_name(body.get(key), key, self.limits)

    # -------------------------------------------------------------- routes
    async def feed(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers)
        limit = _query_int(request, "limit", DEFAULT_FEED_LIMIT, minimum=0) or 0
        before = _query_int(request, "before", None, minimum=1)
        events, older = self.engine.page_json(limit, principal.scope, before)
        stats = _dumps(await self.engine.current_stats())
        body = (b'{"events":[' + b",".join(events) + b'],"next_before":'
                + _dumps(older) + b',"stats":' + stats + b"}")
        return Response(body, media_type="application/json", headers=SECURITY_HEADERS)

    async def presence(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers)
        listing = await self.engine.presence(principal.scope)
        stats = await self.engine.current_stats()
        # the people and the words, by the one rule the CLI and the tray app use
        # (protocol/people.py): the page shows these instead of a copy of the rule
        body = {"presence": listing, "people": people_view(listing),
                "summary": presence_summary(listing), "stats": stats}
        return JsonResponse(body, headers=SECURITY_HEADERS)

    async def join(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers)
        body = await object_body(request, self.limits)
        client_id = self.name(body, "client_id")
        workspace_id = self.name(body, "workspace_id")
        display_name = self.name(body, "display_name")
        state = check_state(body.get("status"), body.get("status_text"), self.limits,
                            required=False)
        owner = await self.engine.presence_owner(client_id) if client_id else None
        check_join(
            principal, workspace_id,
            holder=owner[0] if owner is not None else None,
            entries=await self.engine.presence_count(principal.user),
            limits=self.limits,
        )
        entry = await self.engine.join(
            user=principal.user,
            client_id=client_id,
            workspace_id=workspace_id,
            display_name=display_name,
            status=state[0] if state else None,
            status_text=state[1] if state else None,
        )
        return JsonResponse({"presence": entry}, headers=SECURITY_HEADERS)

    async def status(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers)
        body = await object_body(request, self.limits)
        client_id = self.name(body, "client_id")
        if client_id is None:
            raise Refusal(422, "'client_id' is required")
        state = check_state(body.get("status"), body.get("status_text"), self.limits,
                            required=True)
        assert state is not None
        owner = await self.engine.presence_owner(client_id)
        check_status(
            principal,
            owner[0] if owner is not None else None,
            owner[1] if owner is not None else None,
        )
        entry = await self.engine.set_status(client_id, *state)
        if entry is None:  # it left between the check and the change
            raise Refusal(404, "no presence entry with that client_id")
        return JsonResponse({"presence": entry}, headers=SECURITY_HEADERS)

    async def leave(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers)
        body = await object_body(request, self.limits)
        client_id = self.name(body, "client_id")
        owner = await self.engine.presence_owner(client_id) if client_id else None
        if client_id is not None and owner is not None:
            check_leave(principal, owner[0])
            await self.engine.leave(client_id, reason="left")
        return JsonResponse({"status": "ok"}, headers=SECURITY_HEADERS)

    async def publish(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers)
        items = check_batch(await json_body(request, self.limits), self.limits)
        events = [
            check_event(item, principal, i, self.limits, auth_enabled=self.auth.enabled)
            for i, item in enumerate(items)
        ]
        idempotency = idempotency_of(request.headers.get("idempotency-key"),
                                     principal.user, events)
        try:  # NotPublished (nothing kept, nothing delivered) is a 503 like any Unavailable
            published = await self.engine.publish_events(events, idempotency)
        except NotPersisted as exc:  # delivered, but its files are gone: say which events
            return JsonResponse(
                {"error": str(exc), "events": exc.events},
                status_code=503,
                headers=SECURITY_HEADERS,
            )
        except IdempotencyConflict as exc:
            raise Refusal(422, str(exc)) from None
        return JsonResponse({"events": published}, headers=SECURITY_HEADERS)

    async def health(self, request: Request) -> Response:
        status = "ok" if self.engine.healthy() else "degraded"
        body: dict[str, Any] = {"status": status, "version": self.version}
        principal = await caller(self.auth, request.headers)
        if principal is not None:
            body["stats"] = await self.engine.current_stats()
            body["user"] = principal.user
            scope = principal.scope
            body["workspaces"] = None if scope is None else sorted(scope)
        return JsonResponse(body, headers=SECURITY_HEADERS)


def idempotency_of(
    header: str | None, user: str, events: list[dict[str, Any]]
) -> Idempotency | None:
    """The publish's ``Idempotency-Key`` bound to its caller, with a digest of the
    events (a 422 for a key that is empty, too long or not printable ASCII)."""
    if header is None:
        return None
    if not 0 < len(header) <= IDEMPOTENCY_KEY_MAX or not all(" " < c < "\x7f" for c in header):
        raise Refusal(422, f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable "
                           "ASCII characters without spaces")
    key = hashlib.sha256(f"{user}\0{header}".encode()).hexdigest()
    return Idempotency(key, hashlib.sha256(to_json(events).encode()).hexdigest())


def _query_int(request: Request, name: str, default: int | None, *, minimum: int) -> int | None:
    """A whole-number query parameter (a 400 naming it when it is not one, or too small)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Refusal(400, f"{name!r} must be an integer") from None
    if value < minimum:
        raise Refusal(400, f"{name!r} must not be negative" if minimum == 0
                      else f"{name!r} must be at least {minimum}")
    return value


def _dumps(value: Any) -> bytes:
    return to_json(value).encode()


def create_app(
    engine: Engine,
    auth: Authenticator,
    *,
    version: str,
    limits: ApiLimits | None = None,
    extra_hosts: Iterable[str] = (),
    sweep_interval: float | None = None,
    write_timeout: float | None = None,
    abort_connection: Callable[[AsgiScope], bool] | None = None,
    accounts: AccountStore | None = None,
    clock: Callable[[], float] = time.monotonic,
    auth_failure_limit: int = AUTH_FAILURE_LIMIT,
    auth_failure_window: float = AUTH_FAILURE_WINDOW,
    revocation_interval: float = REVOCATION_INTERVAL,
) -> ASGIApp:
    """Build the ASGI application over ``engine``.

    The lifespan starts the engine on the server's loop and runs the presence
    sweep every ``sweep_interval`` seconds (default: a third of the TTL, at
    most 5 s).

    ``write_timeout``: a stream whose peer has not taken a chunk for that
    many seconds (its socket buffer is full: the peer stopped reading) is
    ended, and ``abort_connection(asgi_scope)`` asked to drop the connection
    with whatever is still buffered for it. ``None`` never gives up on a peer.

    ``accounts``: what the owner's admin routes change (None: they answer
    503). The answers are counted for ``/metrics`` (metrics.py, which also
    reads ``engine.readings`` when scraped), and the guard's log of refused
    hosts is rate-limited by ``clock``.

    ``auth_failure_limit`` 401s from one client address within
    ``auth_failure_window`` seconds make its requests with a credential 429s
    (guesses.py); a limit of 0 never throttles.

    While streams of user tokens are open, the accounts' version is read every
    ``revocation_interval`` seconds, and a stream whose token was removed or
    renewed, or whose workspaces were narrowed, ends (stream.py).
    """
    if write_timeout is not None and not (math.isfinite(write_timeout) and write_timeout > 0):
        raise ValueError("write timeout must be positive")
    limits = limits or ApiLimits()
    api = _JsonRoutes(engine, auth, limits, version)
    counters = ServerCounters()
    stream = StreamRoute(engine, auth, limits, write_timeout, abort_connection, counters)
    page = ActivityPage(auth, limits)
    owner = OwnerRoutes(auth, accounts, limits, Metrics(engine.readings, counters))
    interval = sweep_interval or min(5.0, engine.presence_ttl / 3)
    if not math.isfinite(interval) or interval <= 0:
        raise ValueError("sweep interval must be positive")

    async def sweeper() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await engine.sweep()
            except Unavailable as exc:
                log.warning("presence sweep skipped: %s", exc)
            except Exception:  # noqa: BLE001 - the sweep must outlive any bug
                log.exception("presence sweep failed")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await engine.start()
        tasks = [asyncio.ensure_future(sweeper())]
        if write_timeout is not None:
            tasks.append(asyncio.ensure_future(stream.watchdog()))
        if auth.enabled:
            tasks.append(asyncio.ensure_future(stream.revocations(revocation_interval)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await engine.stop()

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(404, "not found")

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        response = error_response(405, "method not allowed")
        allow = getattr(exc, "headers", None) or {}
        if "Allow" in allow:  # RFC 9110: a 405 names the methods that are allowed
            response.headers["Allow"] = allow["Allow"]
        return response

    document = to_json(openapi_document(version, limits)).encode("utf-8")

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json", headers=SECURITY_HEADERS)

    routes = [
        Route("/activity", refusals_as_json(page.activity), methods=["GET"]),
        Route("/activity", refusals_as_json(page.confirmed), methods=["POST"]),
        Route("/activity/static/{name}", refusals_as_json(page.static), methods=["GET"]),
        Route(STREAM_PATH, stream, methods=["GET"]),
        Route("/realtime/feed", refusals_as_json(api.feed), methods=["GET"]),
        Route("/realtime/presence", refusals_as_json(api.presence), methods=["GET"]),
        Route("/realtime/presence/join", refusals_as_json(api.join), methods=["POST"]),
        Route("/realtime/presence/leave", refusals_as_json(api.leave), methods=["POST"]),
        Route("/realtime/presence/status", refusals_as_json(api.status), methods=["POST"]),
        Route("/realtime/events", refusals_as_json(api.publish), methods=["POST"]),
        Route("/realtime/health", refusals_as_json(api.health), methods=["GET"]),
        Route("/realtime/launch", refusals_as_json(page.launch), methods=["POST"]),
        Route(SESSION_PATH, refusals_as_json(page.session), methods=["POST"]),
        Route("/realtime/openapi.json", openapi, methods=["GET"]),
        *(Route(path, refusals_as_json(handler), methods=[method])
          for path, method, handler in owner.routes()),
    ]
    counters.name_routes(route.path for route in routes)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    guarded = StrictTransport(
        HostOriginGuard(app, extra_hosts, refusal_log=RefusedHostLog(clock)))
    counted = RequestMetrics(guarded, counters, skip=[STREAM_PATH], reason_key=REFUSED_KEY)
    if auth_failure_limit <= 0:
        return counted
    return GuessThrottle(counted, GuessLimit(auth_failure_limit, auth_failure_window, clock),
                         counters)
