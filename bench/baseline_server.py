"""The reference design's HTTP side (Starlette ``StreamingResponse``) under uvicorn.

Routes follow the reference (``/realtime/stream``, ``/feed``, ``/presence``,
``/presence/join``, ``/presence/leave``), local mode without auth (scope
``None``). Two additions exist only so the load generator can drive this
server and the project's the same way:

* ``POST /realtime/events`` publishes one event object or a list of them
  (the project's API has the same route and body);
* ``?scope=ws_a,ws_b`` on the stream stands in for the reference's scope
  resolver, so the filtering path can be exercised.

Run: ``python -m bench.baseline_server --port 8766``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bench.baseline_bus import HEARTBEAT, BaselineBus, Scope

__all__ = ["create_app", "main"]

MAX_BATCH = 1000
_STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "Connection": "keep-alive",
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _scope_of(request: Request) -> Scope:
    raw = request.query_params.get("scope")
    if not raw:
        return None
    return frozenset(part for part in raw.split(",") if part)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    return json.loads(raw)


def create_app(bus: BaselineBus, *, heartbeat: float = HEARTBEAT) -> Starlette:
    async def stream(request: Request) -> Response:
        sub = bus.subscribe(_scope_of(request))

        async def frames() -> AsyncIterator[str]:
            async for frame in bus.stream(sub, heartbeat=heartbeat):
                if await request.is_disconnected():
                    break
                yield frame

        return StreamingResponse(
            frames(), media_type="text/event-stream", headers=_STREAM_HEADERS
        )

    async def feed(request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", "50"))
        except ValueError:
            return _error(400, "limit must be an integer")
        scope = _scope_of(request)
        return JSONResponse({"events": bus.recent(limit, scope), "stats": bus.stats()})

    async def presence(request: Request) -> Response:
        return JSONResponse({"presence": bus.presence(_scope_of(request)), "stats": bus.stats()})

    async def join(request: Request) -> Response:
        try:
            body = await _json_body(request)
        except ValueError:
            return _error(400, "body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "body must be an object")
        entry = bus.join(client_id=body.get("client_id"), workspace_id=body.get("workspace_id"))
        return JSONResponse({"presence": entry})

    async def leave(request: Request) -> Response:
        try:
            body = await _json_body(request)
        except ValueError:
            return _error(400, "body is not JSON")
        if isinstance(body, dict) and body.get("client_id"):
            bus.leave(str(body["client_id"]))
        return JSONResponse({"status": "ok"})

    async def events(request: Request) -> Response:
        try:
            body = await _json_body(request)
        except ValueError:
            return _error(400, "body is not JSON")
        items = body if isinstance(body, list) else [body]
        if len(items) > MAX_BATCH or not all(isinstance(i, dict) for i in items):
            return _error(400, f"expected an event object or a list of at most {MAX_BATCH}")
        return JSONResponse({"events": [bus.publish(item) for item in items]})

    return Starlette(
        routes=[
            Route("/realtime/stream", stream),
            Route("/realtime/feed", feed),
            Route("/realtime/presence", presence),
            Route("/realtime/presence/join", join, methods=["POST"]),
            Route("/realtime/presence/leave", leave, methods=["POST"]),
            Route("/realtime/events", events, methods=["POST"]),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The reference realtime design, for benchmarks")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--heartbeat", type=float, default=HEARTBEAT)
    args = parser.parse_args(argv)
    if args.heartbeat <= 0:
        parser.error("--heartbeat must be positive")

    import uvicorn

    app = create_app(BaselineBus(), heartbeat=args.heartbeat)
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="warning", access_log=False,
        lifespan="off", backlog=4096,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
