"""What every route answers with: JSON that never fails to encode, the JSON
error shape ``{"error": message}`` and the headers every answer carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lattice_rt_core.auth.access import Refusal
from lattice_rt_core.engines.base import Unavailable
from lattice_rt_core.protocol.events import to_json

__all__ = ["SECURITY_HEADERS", "JsonResponse", "error_response", "refusals_as_json"]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class JsonResponse(JSONResponse):
    """A JSON answer encoded like the frames: never raises, always valid UTF-8.

    Starlette's encoder fails on what a JSON body may legally carry (a lone
    surrogate escape such as ``"\\ud800"``) and would turn it into a 500.
    """

    def render(self, content: Any) -> bytes:
        return to_json(content).encode("utf-8")


def error_response(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


def refusals_as_json(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` with every :class:`Refusal` answered as its JSON error.

    An engine whose store is unreachable (:class:`Unavailable`) is a 503.
    """

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Refusal as exc:
            return error_response(exc.status, exc.message)
        except Unavailable as exc:
            return error_response(503, str(exc))

    return wrapped
