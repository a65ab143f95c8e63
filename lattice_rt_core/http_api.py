"""The HTTP adapter: Starlette routes over the bus (no logic of its own).

Every route authenticates, validates and then calls the bus. Errors are JSON
``{"error": "..."}`` with a 4xx status; nothing a client sends reaches the bus
unvalidated. ``GET /realtime/stream`` is a plain ASGI endpoint so frames go
out without per-frame framework overhead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import Authenticator, Principal
from .bus import RealtimeBus
from .events import to_json
from .journal import JournalError
from .openapi import openapi_document

__all__ = ["ApiLimits", "HostOriginGuard", "create_app"]

log = logging.getLogger(__name__)

SESSION_COOKIE = "lrt_session"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_PAGE_HEADERS = {
    **_SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
}
_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True, slots=True)
class ApiLimits:
    max_body: int = 1024 * 1024
    max_batch: int = 1000
    max_event_bytes: int = 64 * 1024
    max_name: int = 128  # ids, names, area and event type
    max_streams_per_user: int = 64
    max_presence_per_user: int = 64
    max_client_ids: int = 16


class ApiError(HTTPException):
    pass


class _Json(JSONResponse):
    """A JSON answer encoded like the frames: never raises, always valid UTF-8.

    Starlette's encoder fails on what a JSON body may legally carry (a lone
    surrogate escape such as ``"\\ud800"``) and would turn it into a 500.
    """

    def render(self, content: Any) -> bytes:
        return to_json(content).encode("utf-8")


def _error(status: int, message: str) -> _Json:
    return _Json({"error": message}, status_code=status, headers=_SECURITY_HEADERS)


class HostOriginGuard:
    """Refuse foreign ``Host`` (DNS rebinding) and foreign ``Origin`` (CSRF).

    Allowed hosts are the loopback names with the server's own port, plus
    operator-configured names; an ``Origin``, when present, must be
    ``http://`` one of those.
    """

    def __init__(self, app: ASGIApp, extra_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.extra_hosts = tuple(h.lower() for h in extra_hosts)
        self._allowed: frozenset[str] | None = None

    def allowed(self, port: int) -> frozenset[str]:
        if self._allowed is None:
            names = {f"{n}:{port}" for n in LOOPBACK_NAMES}
            for host in self.extra_hosts:
                names.add(host if ":" in host.rsplit("]", 1)[-1] else f"{host}:{port}")
            self._allowed = frozenset(names)
        return self._allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = scope.get("server") or ("", 0)
        allowed = self.allowed(int(server[1] or 0))
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        if host not in allowed:
            await _error(403, "forbidden host").__call__(scope, receive, send)
            return
        origin = headers.get("origin")
        if origin is not None and not (
            origin.lower().startswith("http://") and origin[7:].lower() in allowed
        ):
            await _error(403, "forbidden origin").__call__(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _Outbox:
    """One open stream's write in progress, for the stalled-peer watchdog."""

    __slots__ = ("scope", "since", "stalled", "task")

    def __init__(self, scope: Scope, task: asyncio.Task[Any]) -> None:
        self.scope = scope
        self.task = task
        self.since = 0.0  # loop time the current write started; 0.0 when not writing
        self.stalled = False


class _Api:
    def __init__(
        self,
        bus: RealtimeBus,
        auth: Authenticator,
        limits: ApiLimits,
        version: str,
        write_timeout: float | None = None,
        abort_connection: Callable[[Scope], bool] | None = None,
    ) -> None:
        self.bus = bus
        self.auth = auth
        self.limits = limits
        self.version = version
        self.write_timeout = write_timeout
        self.abort_connection = abort_connection
        self.streams: Counter[str] = Counter()
        self.outboxes: set[_Outbox] = set()

    # ------------------------------------------------------------- helpers
    def principal(self, headers: Headers, cookies: Mapping[str, str]) -> Principal:
        principal = self.auth.resolve(headers.get("authorization"), cookies.get(SESSION_COOKIE))
        if principal is None:
            raise ApiError(401, "authentication required")
        return principal

    async def body(self, request: Request) -> Any:
        ctype = request.headers.get("content-type", "")
        if ctype.split(";", 1)[0].strip().lower() != "application/json":
            raise ApiError(415, "Content-Type must be application/json")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limits.max_body:
            raise ApiError(413, f"body larger than {self.limits.max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.limits.max_body:
                raise ApiError(413, f"body larger than {self.limits.max_body} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            return None
        try:
            return json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, f"invalid JSON: {exc}") from None

    async def object_body(self, request: Request) -> dict[str, Any]:
        """A JSON object body; an empty body counts as ``{}``."""
        body = await self.body(request)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(422, "body must be a JSON object")
        return body

    def name(self, body: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
        value = body.get(key)
        if value is None:
            if required:
                raise ApiError(422, f"'{key}' is required")
            return None
        if not isinstance(value, str):
            raise ApiError(422, f"'{key}' must be a string")
        if not value or len(value) > self.limits.max_name:
            raise ApiError(422, f"'{key}' must be 1 to {self.limits.max_name} characters")
        if any(ord(c) < 32 or c == "\x7f" for c in value):
            raise ApiError(422, f"'{key}' must not contain control characters")
        if not _valid_unicode(value):
            raise ApiError(422, f"'{key}' must be valid Unicode text (no lone surrogates)")
        return value

    def stats(self) -> dict[str, Any]:
        return self.bus.stats()

    async def settle(self) -> None:
        """Wait until what this request published (presence events) is visible.

        Read-your-writes: after a join or leave is answered, the feed and new
        streams show its event. A journal that cannot write does not block it.
        """
        waiter = self.bus.durable(self.bus.last_seq)
        if waiter is not None:
            try:
                await waiter
            except JournalError:
                pass

    # -------------------------------------------------------------- routes
    async def feed(self, request: Request) -> Response:
        principal = self.principal(request.headers, request.cookies)
        raw = request.query_params.get("limit", "50")
        try:
            limit = int(raw)
        except ValueError:
            raise ApiError(400, "'limit' must be an integer") from None
        if limit < 0:
            raise ApiError(400, "'limit' must not be negative")
        events = self.bus.recent_json(min(limit, self.bus.feed_limit), principal.scope)
        body = b'{"events":[' + b",".join(events) + b'],"stats":' + _dumps(self.stats()) + b"}"
        return Response(body, media_type="application/json", headers=_SECURITY_HEADERS)

    async def presence(self, request: Request) -> Response:
        principal = self.principal(request.headers, request.cookies)
        return _Json(
            {"presence": self.bus.presence(principal.scope), "stats": self.stats()},
            headers=_SECURITY_HEADERS,
        )

    async def join(self, request: Request) -> Response:
        principal = self.principal(request.headers, request.cookies)
        body = await self.object_body(request)
        client_id = self.name(body, "client_id")
        workspace_id = self.name(body, "workspace_id")
        display_name = self.name(body, "display_name")
        if client_id is not None:
            existing = self.bus.presence_entry(client_id)
            if existing is not None and existing.user != principal.user:
                raise ApiError(409, "client_id is in use by another user")
            new = existing is None
        else:
            new = True
        if not principal.may_use(workspace_id):
            # as for publishing: an entry without a workspace is seen by everyone
            if workspace_id is None:
                raise ApiError(403, "'workspace_id' is required for this user")
            raise ApiError(403, f"not a member of workspace {workspace_id!r}")
        if new and self.bus.presence_count(principal.user) >= self.limits.max_presence_per_user:
            raise ApiError(
                429, f"at most {self.limits.max_presence_per_user} presence entries per user"
            )
        entry = self.bus.join(
            user=principal.user,
            client_id=client_id,
            workspace_id=workspace_id,
            display_name=display_name,
        )
        await self.settle()
        return _Json({"presence": entry}, headers=_SECURITY_HEADERS)

    async def leave(self, request: Request) -> Response:
        principal = self.principal(request.headers, request.cookies)
        body = await self.object_body(request)
        client_id = self.name(body, "client_id")
        if client_id is not None:
            existing = self.bus.presence_entry(client_id)
            if existing is not None:
                if existing.user != principal.user and not principal.owner:
                    raise ApiError(403, "client_id belongs to another user")
                if self.bus.leave(client_id, reason="left"):
                    await self.settle()
        return _Json({"status": "ok"}, headers=_SECURITY_HEADERS)

    async def publish(self, request: Request) -> Response:
        principal = self.principal(request.headers, request.cookies)
        body = await self.body(request)
        items = body if isinstance(body, list) else [body]
        if not items:
            raise ApiError(422, "no events given")
        if len(items) > self.limits.max_batch:
            raise ApiError(413, f"at most {self.limits.max_batch} events per request")
        events = [self.check_event(item, principal, i) for i, item in enumerate(items)]
        published = [self.bus.publish(e) for e in events]
        if any(e.get("seq") is None for e in published):
            return _error(503, "the bus could not publish the event (see the server log)")
        waiter = self.bus.durable(published[-1]["seq"])
        if waiter is not None:
            try:
                await waiter
            except JournalError as exc:
                return _Json(
                    {"error": f"published but not persisted: {exc}", "events": published},
                    status_code=503,
                    headers=_SECURITY_HEADERS,
                )
        return _Json({"events": published}, headers=_SECURITY_HEADERS)

    def check_event(self, item: Any, principal: Principal, index: int) -> dict[str, Any]:
        where = f"event {index}: " if index else ""
        if not isinstance(item, dict):
            raise ApiError(422, f"{where}each event must be a JSON object")
        try:
            area = self.name(item, "area")
            self.name(item, "event_type")
            workspace_id = self.name(item, "workspace_id")
        except ApiError as exc:
            raise ApiError(exc.status_code, where + str(exc.detail)) from None
        if len(to_json(item)) > self.limits.max_event_bytes:
            raise ApiError(413, f"{where}event larger than {self.limits.max_event_bytes} bytes")
        if not principal.may_use(workspace_id):
            if workspace_id is None:
                raise ApiError(403, f"{where}'workspace_id' is required for this user")
            raise ApiError(403, f"{where}not a member of workspace {workspace_id!r}")
        if area == "presence" and not principal.owner and self.auth.enabled:
            raise ApiError(403, f"{where}the presence area is reserved for the server")
        event = dict(item)
        event.pop("seq", None)
        event.pop("received_at", None)
        event["actor"] = principal.user
        return event

    async def health(self, request: Request) -> Response:
        body: dict[str, Any] = {"status": "ok", "version": self.version}
        principal = self.auth.resolve(
            request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE)
        )
        if principal is not None:
            body["stats"] = self.stats()
            body["user"] = principal.user
        return _Json(body, headers=_SECURITY_HEADERS)

    async def launch(self, request: Request) -> Response:
        principal = self.principal(request.headers, {})  # bearer only, never a cookie
        code = self.auth.issue_launch_code(principal)
        url = f"{request.url.scheme}://{request.headers['host']}/activity?code={code}"
        return _Json({"code": code, "url": url}, headers=_SECURITY_HEADERS)

    async def activity(self, request: Request) -> Response:
        code = request.query_params.get("code")
        if code is not None:
            session = self.auth.redeem(code)
            if session is None:
                return HTMLResponse(
                    _page_message("This link has expired or was already used.",
                                  "Run <code>lattice-rt open</code> for a fresh one."),
                    status_code=401, headers=_PAGE_HEADERS,
                )
            response = RedirectResponse("/activity", status_code=303, headers=_PAGE_HEADERS)
            response.set_cookie(
                SESSION_COOKIE, session, httponly=True, samesite="strict", path="/"
            )
            return response
        principal = self.auth.resolve(None, request.cookies.get(SESSION_COOKIE))
        if principal is None:
            return HTMLResponse(
                _page_message("Not signed in.",
                              "Run <code>lattice-rt open</code> or use "
                              "<em>Open in browser</em> in the tray menu."),
                status_code=401, headers=_PAGE_HEADERS,
            )
        page = _static_bytes("activity.html")
        if page is None:
            return _error(404, "the activity page is not installed")
        return Response(page, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    async def static(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        data = _static_bytes(name) if suffix in _STATIC_TYPES and "/" not in name else None
        if data is None:
            return _error(404, "not found")
        return Response(data, media_type=_STATIC_TYPES[suffix], headers=_SECURITY_HEADERS)

    # ---------------------------------------------------------------- stream
    async def stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        try:
            principal = self.principal(request.headers, request.cookies)
            last_event_id = self.last_event_id(request)
            client_ids = request.query_params.getlist("client_id")
            if len(client_ids) > self.limits.max_client_ids:
                raise ApiError(400, f"at most {self.limits.max_client_ids} client_id values")
            for cid in client_ids:
                self.name({"client_id": cid}, "client_id")
            if (
                principal.scope is not None
                and self.streams[principal.user] >= self.limits.max_streams_per_user
            ):
                raise ApiError(429, f"at most {self.limits.max_streams_per_user} open streams")
            sub = self.bus.subscribe(
                principal.scope,
                user=principal.user,
                client_ids=client_ids,
                last_event_id=last_event_id,
            )
        except ApiError as exc:
            await _error(exc.status_code, str(exc.detail))(scope, receive, send)
            return
        except RuntimeError:
            await _error(503, "server is shutting down")(scope, receive, send)
            return
        self.streams[principal.user] += 1
        task = asyncio.current_task()
        assert task is not None
        box = _Outbox(scope, task)
        self.outboxes.add(box)
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        watcher.add_done_callback(lambda _: sub.close())
        frames = self.bus.stream(sub)
        try:
            await send({
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                    (b"connection", b"keep-alive"),
                    (b"x-content-type-options", b"nosniff"),
                ],
            })
            async for chunk in frames:
                message = {"type": "http.response.body", "body": chunk, "more_body": True}
                if not await self.send_watched(box, send, message):
                    await self.drop_stalled(scope, watcher)
                    return
            end = {"type": "http.response.body", "body": b"", "more_body": False}
            if not await self.send_watched(box, send, end):
                await self.drop_stalled(scope, watcher)
        except OSError:
            pass  # the peer went away mid-write
        finally:
            self.outboxes.discard(box)
            watcher.cancel()
            await frames.aclose()
            self.bus.unsubscribe(sub)
            self.streams[principal.user] -= 1
            if self.streams[principal.user] <= 0:
                del self.streams[principal.user]

    async def send_watched(self, box: _Outbox, send: Send, message: Message) -> bool:
        """Send ``message``; False when the watchdog found the peer stalled.

        ``send`` only blocks while the connection's write buffer is above its
        high-water mark, i.e. when the peer stopped reading. Instead of a timer
        per write (costly at thousands of streams), the write is stamped and
        :meth:`watchdog` ends the ones that stay blocked too long.
        """
        box.since = asyncio.get_running_loop().time()
        try:
            await send(message)
        except asyncio.CancelledError:
            if not box.stalled:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            box.since = 0.0
        return not box.stalled

    async def watchdog(self, timeout: float) -> None:
        """End streams whose current write has been blocked for ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(timeout / 4)
            deadline = loop.time() - timeout
            for box in list(self.outboxes):
                if box.since and box.since <= deadline:
                    if box.stalled:  # aborting did not unblock the write: cancel it
                        box.task.cancel()
                        continue
                    box.stalled = True
                    if self.abort_connection is None or not self.abort_connection(box.scope):
                        box.task.cancel()

    async def drop_stalled(self, scope: Scope, watcher: asyncio.Future[None]) -> None:
        """Abort a stream whose peer stopped reading (its buffered frames are discarded)."""
        client = scope.get("client")
        log.info(
            "closing a stream that read nothing for %g s (peer %s)", self.write_timeout,
            f"{client[0]}:{client[1]}" if client else "unknown",
        )
        if self.abort_connection is not None and self.abort_connection(scope):
            # the transport reports the loss on its next turn; wait for it so
            # the server sees a disconnected peer, not an unfinished response
            await asyncio.wait({watcher}, timeout=1.0)

    def last_event_id(self, request: Request) -> int | None:
        raw = request.headers.get("last-event-id")
        if raw is None:
            raw = request.query_params.get("last_event_id")
        if raw is None or raw.strip() == "":
            return None
        try:
            value = int(raw.strip())
        except ValueError:
            raise ApiError(400, "Last-Event-ID must be a non-negative integer") from None
        if value < 0:
            raise ApiError(400, "Last-Event-ID must be a non-negative integer")
        return value


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _dumps(value: Any) -> bytes:
    return to_json(value).encode()


def _static_bytes(name: str) -> bytes | None:
    try:
        return (resources.files("lattice_rt_core") / "static" / name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, OSError):
        return None


def _page_message(title: str, hint: str) -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>Lattice activity</title>"
        f"<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{hint}</p>"
    )


class _AsgiEndpoint:
    """Wraps a bound method so Starlette treats it as a raw ASGI app."""

    def __init__(self, handler: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


def _json_errors(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return _error(exc.status_code, str(exc.detail))

    return wrapped


def create_app(
    bus: RealtimeBus,
    auth: Authenticator,
    *,
    version: str,
    limits: ApiLimits | None = None,
    extra_hosts: Iterable[str] = (),
    sweep_interval: float | None = None,
    write_timeout: float | None = None,
    abort_connection: Callable[[Scope], bool] | None = None,
) -> HostOriginGuard:
    """Build the ASGI application for ``bus``.

    The lifespan binds the bus to the server's loop and runs the presence
    sweep every ``sweep_interval`` seconds (default: a third of the TTL, at
    most 5 s).

    ``write_timeout``: a stream whose peer has not taken a chunk for that
    many seconds (its socket buffer is full: the peer stopped reading) is
    ended, and ``abort_connection(scope)`` asked to drop the connection with
    whatever is still buffered for it. ``None`` never gives up on a peer.
    """
    if write_timeout is not None and not (math.isfinite(write_timeout) and write_timeout > 0):
        raise ValueError("write timeout must be positive")
    api = _Api(bus, auth, limits or ApiLimits(), version, write_timeout, abort_connection)
    interval = sweep_interval or min(5.0, bus.presence_ttl / 3)
    if not math.isfinite(interval) or interval <= 0:
        raise ValueError("sweep interval must be positive")

    async def sweeper() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                bus.sweep()
            except Exception:  # noqa: BLE001 - the sweep must outlive any bug
                log.exception("presence sweep failed")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bus.attach_loop(asyncio.get_running_loop())
        tasks = [asyncio.ensure_future(sweeper())]
        if write_timeout is not None:
            tasks.append(asyncio.ensure_future(api.watchdog(write_timeout)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            bus.close()

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, "not found")

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        response = _error(405, "method not allowed")
        allow = getattr(exc, "headers", None) or {}
        if "Allow" in allow:  # RFC 9110: a 405 names the methods that are allowed
            response.headers["Allow"] = allow["Allow"]
        return response

    document = to_json(openapi_document(version)).encode("utf-8")

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json", headers=_SECURITY_HEADERS)

    routes = [
        Route("/activity", _json_errors(api.activity), methods=["GET"]),
        Route("/activity/static/{name}", _json_errors(api.static), methods=["GET"]),
        Route("/realtime/stream", _AsgiEndpoint(api.stream), methods=["GET"]),
        Route("/realtime/feed", _json_errors(api.feed), methods=["GET"]),
        Route("/realtime/presence", _json_errors(api.presence), methods=["GET"]),
        Route("/realtime/presence/join", _json_errors(api.join), methods=["POST"]),
        Route("/realtime/presence/leave", _json_errors(api.leave), methods=["POST"]),
        Route("/realtime/events", _json_errors(api.publish), methods=["POST"]),
        Route("/realtime/health", _json_errors(api.health), methods=["GET"]),
        Route("/realtime/launch", _json_errors(api.launch), methods=["POST"]),
        Route("/realtime/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    return HostOriginGuard(app, extra_hosts)
