"""The browser's way in: launch codes, the activity page and its static files.

``POST /realtime/launch`` (bearer token only) mints a single-use code;
``GET /activity?code=`` exchanges it for an HttpOnly, SameSite=Strict session
cookie and redirects to ``/activity``, the live page. The page and its files
carry a strict Content-Security-Policy. See SECURITY.md.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from lattice_rt_core.auth.access import authenticated, caller
from lattice_rt_core.auth.callers import SESSION_COOKIE, Authenticator
from lattice_rt_core.http.responses import SECURITY_HEADERS, JsonResponse, error_response

__all__ = ["ActivityPage"]

_PAGE_HEADERS = {
    **SECURITY_HEADERS,
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


class ActivityPage:
    """The routes ``/realtime/launch``, ``/activity`` and ``/activity/static/{name}``."""

    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    async def launch(self, request: Request) -> Response:
        # bearer only, never a cookie
        principal = await authenticated(self.auth, request.headers, {})
        code = await self.auth.issue_launch_code(principal)
        url = f"{request.url.scheme}://{request.headers['host']}/activity?code={code}"
        return JsonResponse({"code": code, "url": url}, headers=SECURITY_HEADERS)

    async def activity(self, request: Request) -> Response:
        code = request.query_params.get("code")
        if code is not None:
            session = await self.auth.redeem(code)
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
        if await caller(self.auth, {}, request.cookies) is None:  # the cookie, never a token
            return HTMLResponse(
                _page_message("Not signed in.",
                              "Run <code>lattice-rt open</code> or use "
                              "<em>Open in browser</em> in the tray menu."),
                status_code=401, headers=_PAGE_HEADERS,
            )
        page = _static_bytes("activity.html")
        if page is None:
            return error_response(404, "the activity page is not installed")
        return Response(page, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    async def static(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        data = _static_bytes(name) if suffix in _STATIC_TYPES and _plain_name(name) else None
        if data is None:
            return error_response(404, "not found")
        return Response(data, media_type=_STATIC_TYPES[suffix], headers=SECURITY_HEADERS)


def _plain_name(name: str) -> bool:
    """A file name of the static folder: no path, no NUL or other control character."""
    return (name not in ("", ".", "..") and not any(c in name for c in "/\\")
            and all(c.isprintable() for c in name))


def _static_bytes(name: str) -> bytes | None:
    try:
        return (resources.files("lattice_rt_core") / "static" / name).read_bytes()
    except (OSError, ValueError):  # ValueError: a name the OS cannot take (a NUL)
        return None


def _page_message(title: str, hint: str) -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>Lattice activity</title>"
        f"<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{hint}</p>"
    )
