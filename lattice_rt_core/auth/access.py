"""Who may do what: the access decisions (the limits and the name rule are in limits.py).

Plain Python, no HTTP: the routes (``http/app.py``, ``http/stream.py``,
``page.py``) parse a request, ask these functions, and turn a
:class:`Refusal` into ``{"error": message}`` with its status. Each decision
takes the facts it needs as values (the caller, the user holding a client id,
how many entries or streams a user has), so it is tested without a server
(tests/core/auth/test_access.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lattice_rt_core.auth.callers import Authenticator, Principal
from lattice_rt_core.protocol.defaults import PRESENCE_STATUSES
from lattice_rt_core.protocol.events import to_json
from lattice_rt_core.protocol.limits import ApiLimits, name_problem

__all__ = [
    "Refusal",
    "authenticated",
    "caller",
    "check_batch",
    "check_event",
    "check_join",
    "check_leave",
    "check_name",
    "check_owner",
    "check_state",
    "check_status",
    "check_stream",
]


class Refusal(Exception):
    """A request the server refuses: the HTTP status and the one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ------------------------------------------------------------------ names
def check_name(
    value: object, key: str, limits: ApiLimits, max_len: int | None = None
) -> str | None:
    """``value`` of the field ``key`` when it is absent (None) or a good name; else 422.

    ``max_len``: a field with its own length limit (default: ``limits.max_name``).
    """
    if value is None:
        return None
    problem = name_problem(value, limits.max_name if max_len is None else max_len)
    if problem is not None:
        raise Refusal(422, f"'{key}' {problem}")
    assert isinstance(value, str)
    return value


# ----------------------------------------------------------------- caller
async def caller(
    auth: Authenticator, headers: Mapping[str, str], *, session: bool = True
) -> Principal | None:
    """Who sent a request: its ``Authorization`` header (a bearer token, or a
    browser session unless ``session`` is False). Cookies are never looked at."""
    return await auth.resolve(headers.get("authorization"), session=session)


async def authenticated(
    auth: Authenticator, headers: Mapping[str, str], *, session: bool = True
) -> Principal:
    """The caller, or 401. ``session=False`` where only a bearer token may do."""
    principal = await caller(auth, headers, session=session)
    if principal is None:
        raise Refusal(401, "authentication required")
    return principal


def check_owner(principal: Principal) -> None:
    """403 unless the caller holds the owner token (administration, metrics)."""
    if not principal.owner:
        raise Refusal(403, "only the owner token may use this route")


def _membership(principal: Principal, workspace_id: str | None, where: str = "") -> None:
    """403 unless ``principal`` may publish to or join ``workspace_id``.

    An entry or event without a workspace is seen by everyone, so a caller
    limited to some workspaces must name one of them.
    """
    if not principal.may_use(workspace_id):
        if workspace_id is None:
            raise Refusal(403, f"{where}'workspace_id' is required for this user")
        raise Refusal(403, f"{where}not a member of workspace {workspace_id!r}")


# --------------------------------------------------------------- presence
def check_join(
    principal: Principal,
    workspace_id: str | None,
    *,
    holder: str | None,
    entries: int,
    limits: ApiLimits,
) -> None:
    """May ``principal`` join (or re-join) presence in ``workspace_id``?

    ``holder``: the user whose entry the requested client_id is (None: a new
    entry); ``entries``: how many entries ``principal`` has now. 409 for a
    client_id of another user, 403 for a workspace that is not the caller's,
    429 for a new entry over the per-user limit.
    """
    if holder is not None and holder != principal.user:
        raise Refusal(409, "client_id is in use by another user")
    _membership(principal, workspace_id)
    if holder is None and entries >= limits.max_presence_per_user:
        raise Refusal(429, f"at most {limits.max_presence_per_user} presence entries per user")


def check_leave(principal: Principal, holder: str) -> None:
    """403 unless the entry of ``holder`` is the caller's own (the owner may end any)."""
    _own_entry(principal, holder)


def _own_entry(principal: Principal, holder: str) -> None:
    if holder != principal.user and not principal.owner:
        raise Refusal(403, "client_id belongs to another user")


def check_state(
    status: object, status_text: object, limits: ApiLimits, *, required: bool
) -> tuple[str, str | None] | None:
    """The ``status`` and ``status_text`` fields of a request, or 422.

    A status request must name a status (``required``); a join may leave both
    out (None: the entry keeps its state), but a text needs its status. The
    text follows the name rule with its own length limit; None means no text.
    """
    if status is None:
        if required:
            raise Refusal(422, "'status' is required")
        if status_text is not None:
            raise Refusal(422, "'status_text' needs 'status'")
        return None
    if not isinstance(status, str) or status not in PRESENCE_STATUSES:
        raise Refusal(422, f"'status' must be one of {', '.join(PRESENCE_STATUSES)}")
    return status, check_name(status_text, "status_text", limits, limits.max_status_text)


def check_status(principal: Principal, holder: str | None, entry_workspace: str | None) -> None:
    """May ``principal`` change the status of the entry ``holder`` holds?

    ``holder`` None: there is no such entry (404). The entry must be the
    caller's own (the owner may change any; 403 otherwise) and in one of the
    caller's workspaces (403: a status event is published there).
    """
    if holder is None:
        raise Refusal(404, "no presence entry with that client_id")
    _own_entry(principal, holder)
    _membership(principal, entry_workspace)


# ---------------------------------------------------------------- publish
def check_batch(body: Any, limits: ApiLimits) -> list[Any]:
    """The events of a publish body (one event or a list): 422 for none, 413 for too many."""
    items = body if isinstance(body, list) else [body]
    if not items:
        raise Refusal(422, "no events given")
    if len(items) > limits.max_batch:
        raise Refusal(413, f"at most {limits.max_batch} events per request")
    return items


def check_event(
    item: Any, principal: Principal, index: int, limits: ApiLimits, *, auth_enabled: bool
) -> dict[str, Any]:
    """Event ``index`` of a batch as the bus should publish it, or a refusal.

    Its names are checked (422), its size (413) and the caller's right to
    publish to its workspace (403). The ``presence`` area belongs to the
    server unless the caller is the owner (or auth is off). ``seq`` and
    ``received_at`` are the bus's to set; ``actor`` is the caller.
    """
    where = f"event {index}: " if index else ""
    if not isinstance(item, dict):
        raise Refusal(422, f"{where}each event must be a JSON object")
    try:
        area = check_name(item.get("area"), "area", limits)
        check_name(item.get("event_type"), "event_type", limits)
        workspace_id = check_name(item.get("workspace_id"), "workspace_id", limits)
    except Refusal as exc:
        raise Refusal(exc.status, where + exc.message) from None
    if len(to_json(item)) > limits.max_event_bytes:
        raise Refusal(413, f"{where}event larger than {limits.max_event_bytes} bytes")
    _membership(principal, workspace_id, where)
    if area == "presence" and not principal.owner and auth_enabled:
        raise Refusal(403, f"{where}the presence area is reserved for the server")
    event = dict(item)
    event.pop("seq", None)
    event.pop("received_at", None)
    event["actor"] = principal.user
    return event


# ----------------------------------------------------------------- stream
def check_stream(
    principal: Principal, client_ids: list[str], *, open_streams: int, limits: ApiLimits
) -> None:
    """May ``principal`` open one more stream naming ``client_ids``?

    400 for too many client ids, 422 for a bad one, 429 when a user limited
    to some workspaces already has ``max_streams_per_user`` streams open.
    """
    if len(client_ids) > limits.max_client_ids:
        raise Refusal(400, f"at most {limits.max_client_ids} client_id values")
    for cid in client_ids:
        check_name(cid, "client_id", limits)
    if principal.scope is not None and open_streams >= limits.max_streams_per_user:
        raise Refusal(429, f"at most {limits.max_streams_per_user} open streams")
