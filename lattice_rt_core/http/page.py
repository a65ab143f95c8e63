"""The browser's way in: launch codes, the activity page and its static files.

``POST /realtime/launch`` (bearer token only) mints a single-use code, and
the link ``/activity?code=`` carries it. The page's own script exchanges the
code (``POST /realtime/session``) for a session id, keeps it in its origin's
``localStorage`` (scheme, host *and* port: no other local port can read it)
and sends it as ``Authorization: Session <id>``. No cookie is ever set: a
browser sends cookies to every port of a host (issue 20, item 1).

Login CSRF: the page is handed a code (a ``<meta name="lrt-code">``) only
when the browser opened the link itself (``Sec-Fetch-Site: none``: typed,
or launched by ``lattice-rt open`` and the tray) or from this origin. A link
followed from anywhere else (another site, another port, or a browser that
does not say) gets a page that names the account and asks; its button posts
the code back from this origin. The page and its files carry a strict
Content-Security-Policy. See SECURITY.md.
"""

from __future__ import annotations

import html
import re
from importlib import resources
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from lattice_rt_core.auth.access import Refusal, authenticated
from lattice_rt_core.auth.callers import SESSION_TTL, Authenticator
from lattice_rt_core.http.body import object_body
from lattice_rt_core.http.responses import SECURITY_HEADERS, JsonResponse, error_response
from lattice_rt_core.protocol.limits import ApiLimits

__all__ = ["SESSION_PATH", "ActivityPage"]

#: where the page's script exchanges its launch code for a session
SESSION_PATH = "/realtime/session"

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action {form}; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": _CSP.format(form="'none'"),
    "X-Frame-Options": "DENY",
}
# Its form posts here; under "no-referrer" the browser would send "Origin: null".
# "origin" names only this origin, never the page's address (which holds the code).
_CONFIRM_HEADERS = {**_PAGE_HEADERS, "Content-Security-Policy": _CSP.format(form="'self'"),
                    "Referrer-Policy": "origin"}
_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
#: what a launch code looks like (secrets.token_urlsafe): nothing else reaches the page
_CODE = re.compile(r"[A-Za-z0-9_-]{16,128}")
#: the page's placeholder for the code it is handed
_CODE_SLOT = b'<meta name="lrt-code" content="">'
#: a form post of the confirm page: one short field
_MAX_FORM = 1024
#: where a navigation came from, when the browser itself opened the link or this origin did
_OWN_NAVIGATION = ("none", "same-origin")


class ActivityPage:
    """The routes ``/realtime/launch``, ``/realtime/session``, ``/activity`` and
    ``/activity/static/{name}``."""

    def __init__(self, auth: Authenticator, limits: ApiLimits | None = None) -> None:
        self.auth = auth
        self.limits = limits or ApiLimits()

    async def launch(self, request: Request) -> Response:
        # bearer only, never a browser session
        principal = await authenticated(self.auth, request.headers, session=False)
        code = await self.auth.issue_launch_code(principal)
        url = f"{request.url.scheme}://{request.headers['host']}/activity?code={code}"
        return JsonResponse({"code": code, "url": url}, headers=SECURITY_HEADERS)

    async def session(self, request: Request) -> Response:
        """``{"code": ...}`` (once) for ``{"session", "user", "expires_in"}``; 401 if spent."""
        code = (await object_body(request, self.limits)).get("code")
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise Refusal(401, "this sign-in link has expired or was already used")
        holder = await self.auth.code_holder(code)
        session = await self.auth.redeem(code)
        if session is None or holder is None:
            raise Refusal(401, "this sign-in link has expired or was already used")
        return JsonResponse({"session": session, "user": holder.user,
                             "expires_in": SESSION_TTL}, headers=SECURITY_HEADERS)

    async def activity(self, request: Request) -> Response:
        code = request.query_params.get("code")
        if code is None:
            return self._page(None)
        if request.headers.get("sec-fetch-site") in _OWN_NAVIGATION:
            return await self._signing_in(code)
        holder = await self.auth.code_holder(code) if _CODE.fullmatch(code) else None
        if holder is None:
            return _expired()
        return HTMLResponse(_confirm_page(code, holder.user), headers=_CONFIRM_HEADERS)

    async def confirmed(self, request: Request) -> Response:
        """The confirm page's button: ``POST /activity`` with the code, from this origin."""
        # The guard refused a foreign Origin already; a form post always has one.
        if "origin" not in request.headers or request.headers.get(
            "sec-fetch-site", "same-origin"
        ) != "same-origin":
            return error_response(403, "a sign-in must be confirmed on this server's own page")
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return error_response(415, "Content-Type must be application/x-www-form-urlencoded")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > _MAX_FORM:
                return error_response(413, f"body larger than {_MAX_FORM} bytes")
        codes = parse_qs(raw.decode("latin-1")).get("code", [])
        return await self._signing_in(codes[0] if len(codes) == 1 else "")

    async def _signing_in(self, code: str) -> Response:
        """The page, handed ``code`` for its script to exchange (or: the link is spent)."""
        if not _CODE.fullmatch(code) or await self.auth.code_holder(code) is None:
            return _expired()
        return self._page(code)

    def _page(self, code: str | None) -> Response:
        page = _static_bytes("activity.html")
        if page is None:
            return error_response(404, "the activity page is not installed")
        if code is not None:  # a code matches _CODE: nothing in it needs escaping
            page = page.replace(_CODE_SLOT, _CODE_SLOT[:-2] + code.encode() + b'">', 1)
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


def _expired() -> Response:
    return HTMLResponse(
        _page_message("This link has expired",
                      "The sign-in link was already used, or it is too old. If this browser "
                      "is signed in already, <a id=open href=/activity>open the activity "
                      "page</a>.", ways=True),
        status_code=401, headers=_PAGE_HEADERS,
    )


def _confirm_page(code: str, user: str) -> str:
    name = html.escape(user)
    return _page_message(
        "Sign in from a link?",
        f"A link opened from another site or program wants to sign this browser in as "
        f"<strong>{name}</strong>. If you did not ask for this, keep your current "
        "session: whoever made the link would see what you do as that account."
        "<form method=post action=/activity>"
        f"<input type=hidden name=code value='{code}'>"
        f"<button id=confirm type=submit>Sign in as {name}</button> "
        "<a id=keep href=/activity>Keep the current session</a></form>",
    )


#: the lines of the page's own sign-in section that say how to get a link
_WAYS = re.compile(rb"<!-- ways:.*?-->(.*?)<!-- /ways -->", re.S)


def _page_message(title: str, hint: str, *, ways: bool = False) -> str:
    """A page of the server's own in the activity page's look: a title, a line (HTML),
    and with ``ways`` the page's lines on how to get a sign-in link."""
    found = _WAYS.search(_static_bytes("activity.html") or b"") if ways else None
    how = found.group(1).decode() if found else ""
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>Lattice activity</title>"
        "<link rel=stylesheet href=/activity/static/activity.css>"
        "<header class=bar><div class=brand><span class=logo aria-hidden=true></span>"
        "<h1>Lattice activity</h1></div></header>"
        f"<section class=signin><h2>{title}</h2><div class=signin-reason>{hint}</div>"
        f"{how}</section>"
    )
