"""The HTTP adapter: the JSON routes over the bus, and :func:`create_app`.

Each route parses its request, asks ``access`` whether the caller may do it
and then calls the bus. Errors are JSON ``{"error": "..."}`` with a 4xx
status; nothing a client sends reaches the bus unvalidated. The other routes
live with their job: the stream in ``stream_route.py``, the browser's page
and launch codes in ``page.py``; ``guard.py`` stands in front of them all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp
from starlette.types import Scope as AsgiScope

from .access import (
    ApiLimits,
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
from .auth import Authenticator
from .defaults import DEFAULT_FEED_LIMIT
from .engine import Engine, NotPersisted, Unavailable
from .events import to_json
from .guard import HostOriginGuard
from .openapi import openapi_document
from .page import ActivityPage
from .responses import SECURITY_HEADERS, JsonResponse, error_response, refusals_as_json
from .stream_route import StreamRoute

__all__ = ["create_app"]

log = logging.getLogger(__name__)


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
    async def body(self, request: Request, *, empty: Any = None) -> Any:
        """The JSON body; ``empty`` when there is none (not when it is ``null``)."""
        ctype = request.headers.get("content-type", "")
        if ctype.split(";", 1)[0].strip().lower() != "application/json":
            raise Refusal(415, "Content-Type must be application/json")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limits.max_body:
            raise Refusal(413, f"body larger than {self.limits.max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.limits.max_body:
                raise Refusal(413, f"body larger than {self.limits.max_body} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            return empty
        try:
            return json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise Refusal(400, f"invalid JSON: {exc}") from None

    async def object_body(self, request: Request) -> dict[str, Any]:
        """A JSON object body; an empty body counts as ``{}``, a JSON ``null`` does not."""
        body = await self.body(request, empty={})
        if not isinstance(body, dict):
            raise Refusal(422, "body must be a JSON object")
        return body

    def name(self, body: dict[str, Any], key: str) -> str | None:
        return check_name(body.get(key), key, self.limits)

    # -------------------------------------------------------------- routes
    async def feed(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers, request.cookies)
        raw = request.query_params.get("limit", str(DEFAULT_FEED_LIMIT))
        try:
            limit = int(raw)
        except ValueError:
            raise Refusal(400, "'limit' must be an integer") from None
        if limit < 0:
            raise Refusal(400, "'limit' must not be negative")
        events = self.engine.recent_json(min(limit, self.engine.feed_limit), principal.scope)
        stats = _dumps(await self.engine.stats())
        body = b'{"events":[' + b",".join(events) + b'],"stats":' + stats + b"}"
        return Response(body, media_type="application/json", headers=SECURITY_HEADERS)

    async def presence(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers, request.cookies)
        listing = await self.engine.presence(principal.scope)
        return JsonResponse(
            {"presence": listing, "stats": await self.engine.stats()}, headers=SECURITY_HEADERS
        )

    async def join(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers, request.cookies)
        body = await self.object_body(request)
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
        principal = await authenticated(self.auth, request.headers, request.cookies)
        body = await self.object_body(request)
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
        principal = await authenticated(self.auth, request.headers, request.cookies)
        body = await self.object_body(request)
        client_id = self.name(body, "client_id")
        owner = await self.engine.presence_owner(client_id) if client_id else None
        if client_id is not None and owner is not None:
            check_leave(principal, owner[0])
            await self.engine.leave(client_id, reason="left")
        return JsonResponse({"status": "ok"}, headers=SECURITY_HEADERS)

    async def publish(self, request: Request) -> Response:
        principal = await authenticated(self.auth, request.headers, request.cookies)
        items = check_batch(await self.body(request), self.limits)
        events = [
            check_event(item, principal, i, self.limits, auth_enabled=self.auth.enabled)
            for i, item in enumerate(items)
        ]
        try:
            published = await self.engine.publish_events(events)
        except NotPersisted as exc:
            return JsonResponse(
                {"error": str(exc), "events": exc.events},
                status_code=503,
                headers=SECURITY_HEADERS,
            )
        return JsonResponse({"events": published}, headers=SECURITY_HEADERS)

    async def health(self, request: Request) -> Response:
        status = "ok" if self.engine.healthy() else "degraded"
        body: dict[str, Any] = {"status": status, "version": self.version}
        principal = await caller(self.auth, request.headers, request.cookies)
        if principal is not None:
            body["stats"] = await self.engine.stats()
            body["user"] = principal.user
        return JsonResponse(body, headers=SECURITY_HEADERS)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


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
) -> ASGIApp:
    """Build the ASGI application over ``engine``.

    The lifespan starts the engine on the server's loop and runs the presence
    sweep every ``sweep_interval`` seconds (default: a third of the TTL, at
    most 5 s).

    ``write_timeout``: a stream whose peer has not taken a chunk for that
    many seconds (its socket buffer is full: the peer stopped reading) is
    ended, and ``abort_connection(asgi_scope)`` asked to drop the connection
    with whatever is still buffered for it. ``None`` never gives up on a peer.
    """
    if write_timeout is not None and not (math.isfinite(write_timeout) and write_timeout > 0):
        raise ValueError("write timeout must be positive")
    limits = limits or ApiLimits()
    api = _JsonRoutes(engine, auth, limits, version)
    stream = StreamRoute(engine, auth, limits, write_timeout, abort_connection)
    page = ActivityPage(auth)
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
        Route("/activity/static/{name}", refusals_as_json(page.static), methods=["GET"]),
        Route("/realtime/stream", stream, methods=["GET"]),
        Route("/realtime/feed", refusals_as_json(api.feed), methods=["GET"]),
        Route("/realtime/presence", refusals_as_json(api.presence), methods=["GET"]),
        Route("/realtime/presence/join", refusals_as_json(api.join), methods=["POST"]),
        Route("/realtime/presence/leave", refusals_as_json(api.leave), methods=["POST"]),
        Route("/realtime/presence/status", refusals_as_json(api.status), methods=["POST"]),
        Route("/realtime/events", refusals_as_json(api.publish), methods=["POST"]),
        Route("/realtime/health", refusals_as_json(api.health), methods=["GET"]),
        Route("/realtime/launch", refusals_as_json(page.launch), methods=["POST"]),
        Route("/realtime/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    return HostOriginGuard(app, extra_hosts)
