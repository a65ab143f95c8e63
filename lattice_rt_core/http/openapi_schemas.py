"""The building blocks of the HTTP API's OpenAPI document and its component schemas.

:mod:`.openapi` assembles the document: the routes from these blocks, the
schemas as they are here. Their numbers come from the server's limits and defaults.
"""

from __future__ import annotations

from typing import Any

from lattice_rt_core.protocol.defaults import (
    DEFAULT_STATUS,
    PRESENCE_STATUSES,
    PROTOCOL_VERSION,
)
from lattice_rt_core.protocol.limits import NAME_PATTERN, ApiLimits

__all__ = [
    "errors", "html", "json_body", "name_schema", "nullable_name", "ref", "schemas", "size",
    "status_schema",
]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad parameter or body that is not JSON",
        401: "No or unknown credentials",
        403: "Foreign Host or Origin, not a member of the workspace, or another user's entry",
        404: "Not found (no such route, file or presence entry)",
        409: "The client_id belongs to another user",
        413: "Body, batch or event too large",
        415: "Content-Type is not application/json",
        422: "Well-formed JSON with invalid fields, an invalid client_id, or an "
             "Idempotency-Key that is malformed or was used for a different publish",
        429: "Over a per-user limit (open streams, presence entries), or too many failed "
             "sign-ins from this address (Retry-After says when to try again)",
        503: "Shutting down, the journal cannot write (nothing was published), or a "
             "cluster node cannot reach Redis",
    }
    out: dict[str, Any] = {"403": json_body(ref("Error"), text[403])}
    if 401 in codes:  # a credential is checked, so its guesses are throttled (guesses.py)
        codes = (*codes, 429)
    for code in codes:
        out[str(code)] = json_body(ref("Error"), text[code])
    return out


def size(n: int) -> str:
    """``n`` bytes as people write it: 1 MiB, 64 KiB, 1000 bytes."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def name_schema(description: str, limits: ApiLimits, max_len: int | None = None) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": limits.max_name if max_len is None else max_len,
        "pattern": NAME_PATTERN,
        "description": description,
    }


def nullable_name(
    description: str, limits: ApiLimits, max_len: int | None = None
) -> dict[str, Any]:
    return {"oneOf": [name_schema(description, limits, max_len), {"type": "null"}]}


def status_schema(description: str) -> dict[str, Any]:
    return {"enum": list(PRESENCE_STATUSES), "description": description}


def schemas(limits: ApiLimits) -> dict[str, Any]:
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string", "minLength": 1}},
        },
        "Stats": {
            "type": "object",
            "required": ["version", "subscribers", "presence", "feed_size", "transport", "seq"],
            "properties": {
                "version": {"const": PROTOCOL_VERSION},
                "subscribers": {"type": "integer", "minimum": 0},
                "presence": {"type": "integer", "minimum": 0},
                "feed_size": {"type": "integer", "minimum": 0},
                "transport": {"const": "sse"},
                "seq": {"type": "integer", "minimum": 0},
                "server_version": {"type": "string"},
                "journal": {"enum": ["ok", "degraded", "off"]},
                "presence_ttl": {"type": "number", "exclusiveMinimum": 0},
                "engine": {"enum": ["local", "redis"]},
                "server_id": {"type": "string", "description": "names the server (a cluster: "
                              "all its nodes) whatever URL reaches it"},
                "epoch": {"type": "string", "description": "changes whenever the history "
                          "starts from nothing; a resume point is only valid within one"},
            },
        },
        "Event": {
            "type": "object",
            "description": "An enriched event as the bus delivers it; extra keys are kept.",
            "required": ["seq", "received_at", "area", "event_type", "workspace_id", "payload"],
            "properties": {
                "seq": {"type": "integer", "minimum": 1},
                "received_at": {"type": "string"},
                "area": {"type": "string"},
                "event_type": {"type": "string"},
                "workspace_id": {"type": ["string", "null"]},
                "payload": {},
                "actor": {"type": "string"},
            },
        },
        "EventInput": {
            "type": "object",
            "description": (
                "An event to publish. seq and received_at are set by the server, actor "
                "is the caller; any other key is kept. "
                    f"At most {size(limits.max_event_bytes)} as JSON."
            ),
            "properties": {
                "area": nullable_name("defaults to 'workspace'; 'presence' is owner-only", limits),
                "event_type": nullable_name("defaults to 'event'", limits),
                "workspace_id": nullable_name("required for users who are not the owner", limits),
                "payload": {},
            },
        },
        "PresenceEntry": {
            "type": "object",
            "required": ["client_id", "user", "workspace_id", "joined_at", "last_seen",
                         "status", "status_since"],
            "properties": {
                "client_id": {"type": "string"},
                "user": {"type": "string"},
                "workspace_id": {"type": ["string", "null"]},
                "joined_at": {"type": "string"},
                "last_seen": {"type": "string"},
                "display_name": {"type": "string"},
                "status": status_schema(f"'{DEFAULT_STATUS}' unless the client said otherwise"),
                "status_since": {"type": "string", "description": "when the status changed"},
                "status_text": {"type": "string"},
            },
        },
        "Person": {
            "type": "object",
            "description": "one person (an account under one name) in one workspace",
            "required": ["workspace_id", "workspace", "name", "user", "status", "label",
                         "status_text", "connections", "joined_at", "client_id",
                         "client_ids"],
            "properties": {
                "workspace_id": {"type": ["string", "null"]},
                "workspace": {"type": "string", "description": "its name ('No workspace')"},
                "name": {"type": "string"},
                "user": {"type": "string"},
                "status": status_schema("the most present of their entries' statuses"),
                "label": {"type": "string", "description": "the status in words"},
                "status_text": {"type": ["string", "null"]},
                "connections": {"type": "integer", "minimum": 1},
                "joined_at": {"type": ["string", "null"], "description": "the earliest join"},
                "client_id": {"type": "string", "description": "the entry whose status shows"},
                "client_ids": {"type": "array", "items": {"type": "string"}},
            },
        },
        "JoinRequest": {
            "type": "object",
            "properties": {
                "client_id": nullable_name("generated when omitted", limits),
                "workspace_id": nullable_name("a workspace the caller belongs to", limits),
                "display_name": nullable_name("shown to others", limits),
                "status": {"oneOf": [
                    status_schema(f"with status_text, the entry's state; omitted: kept "
                            f"('{DEFAULT_STATUS}' for a new entry)"),
                    {"type": "null"},
                ]},
                "status_text": nullable_name(
                    "only with status", limits, limits.max_status_text
                ),
            },
        },
        "StatusRequest": {
            "type": "object",
            "required": ["client_id", "status"],
            "properties": {
                "client_id": name_schema("an entry of the caller's", limits),
                "status": status_schema("the new status"),
                "status_text": nullable_name(
                    "a short status line; omitted or null: none", limits,
                    limits.max_status_text,
                ),
            },
        },
        "LeaveRequest": {
            "type": "object",
            "properties": {"client_id": nullable_name("an entry of the caller's", limits)},
        },
    }
