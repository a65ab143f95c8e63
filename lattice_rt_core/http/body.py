"""Reading a request's JSON body: its content type, its size while it arrives,
strict JSON. Every route with a body (http/app.py, http/owner.py) reads it here."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from lattice_rt_core.auth.access import Refusal
from lattice_rt_core.protocol.limits import ApiLimits

__all__ = ["json_body", "object_body"]


async def json_body(request: Request, limits: ApiLimits, *, empty: Any = None) -> Any:
    """The body as JSON; ``empty`` when there is none (not when it is ``null``).

    415 unless it is application/json, 413 over the size limit, 400 if not JSON.
    """
    ctype = request.headers.get("content-type", "")
    if ctype.split(";", 1)[0].strip().lower() != "application/json":
        raise Refusal(415, "Content-Type must be application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body:
        raise Refusal(413, f"body larger than {limits.max_body} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body:
            raise Refusal(413, f"body larger than {limits.max_body} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return empty
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise Refusal(400, f"invalid JSON: {exc}") from None


async def object_body(request: Request, limits: ApiLimits) -> dict[str, Any]:
    """A JSON object body; an empty body counts as ``{}``, a JSON ``null`` does not."""
    body = await json_body(request, limits, empty={})
    if not isinstance(body, dict):
        raise Refusal(422, "body must be a JSON object")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
