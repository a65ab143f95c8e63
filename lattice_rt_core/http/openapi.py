"""The HTTP API described as an OpenAPI 3.1 document (written by hand).

Served at ``GET /realtime/openapi.json`` without authentication (it holds no
secret) and used to fuzz the running server with schemathesis
(tests/hardening/test_openapi_fuzz.py). Every route, its parameters, request
and response bodies, and every 4xx it can answer are listed; a route or an
answer missing here is a failing test there. The owner's routes
(administration, metrics) are described in openapi_owner.py, the building blocks and the
component schemas in openapi_schemas.py. Its numbers (name length, body,
batch and event sizes, client ids per stream, feed limit, protocol version,
launch code lifetime) come from the server's limits and defaults.
"""

from __future__ import annotations

from typing import Any

from lattice_rt_core.auth.callers import LAUNCH_CODE_TTL
from lattice_rt_core.http.openapi_owner import owner_paths, owner_schemas
from lattice_rt_core.http.openapi_schemas import (
    errors,
    html,
    json_body,
    name_schema,
    ref,
    schemas,
    size,
)
from lattice_rt_core.protocol.defaults import (
    DEFAULT_FEED_LIMIT,
    DEFAULT_RETRY_MS,
    FEED_LIMIT,
    IDEMPOTENCY_KEY_MAX,
    IDEMPOTENCY_WINDOW,
    REPLAY_TAIL,
    STATUS_INTERVAL,
)
from lattice_rt_core.protocol.limits import ApiLimits

__all__ = ["openapi_document"]


_JSON_BODY_ERRORS = (400, 401, 413, 415, 422)


def _paths(limits: ApiLimits) -> dict[str, Any]:
    stats = ref("Stats")
    return {
        "/realtime/stream": {
            "get": {
                "operationId": "stream",
                "summary": "The live event stream (Server-Sent Events)",
                "description": (
                    f"retry: {DEFAULT_RETRY_MS}, then id:/data: frames, ': heartbeat' comments, "
                    "and the named frames 'gap' and 'reset'. Replays what follows "
                    f"Last-Event-ID (header or query), else the last {REPLAY_TAIL} in-scope "
                    "events."
                ),
                "parameters": [
                    {
                        "name": "last_event_id",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                    {
                        "name": "client_id",
                        "in": "query",
                        "style": "form",
                        "explode": True,
                        "schema": {
                            "type": "array",
                            "maxItems": limits.max_client_ids,
                            "items": name_schema("presence entry this stream keeps fresh", limits),
                        },
                    },
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "An endless text/event-stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **errors(400, 401, 422, 429, 503),
                },
            }
        },
        "/realtime/feed": {
            "get": {
                "operationId": "feed",
                "summary": f"Recent in-scope events, newest first (at most {FEED_LIMIT} a page)",
                "description": (
                    f"Without 'before': the newest of the last {FEED_LIMIT} events. With it: "
                    "the in-scope events below that seq which the server still holds (its "
                    "journal's retention, or more while it runs), newest first. Page back "
                    "by passing each answer's 'next_before' as 'before' until it is null."
                ),
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "description": f"events at most (more is taken as {FEED_LIMIT})",
                        "schema": {
                            "type": "integer", "minimum": 0, "default": DEFAULT_FEED_LIMIT,
                        },
                    },
                    {
                        "name": "before",
                        "in": "query",
                        "description": "only events with a lower seq (an earlier answer's "
                                       "'next_before')",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["events", "next_before", "stats"],
                            "properties": {
                                "events": {"type": "array", "items": ref("Event")},
                                "next_before": {
                                    "type": ["integer", "null"], "minimum": 1,
                                    "description": "'before' for the next, older page; "
                                                   "null: the server holds nothing older",
                                },
                                "stats": stats,
                            },
                        },
                        "Events and stats",
                    ),
                    **errors(400, 401),
                },
            }
        },
        "/realtime/presence": {
            "get": {
                "operationId": "presence",
                "summary": "Who is present, in the caller's workspaces",
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["presence", "people", "summary", "stats"],
                            "properties": {
                                "presence": {"type": "array", "items": ref("PresenceEntry")},
                                "people": {
                                    "type": "array",
                                    "description": "the entries as people, per workspace, "
                                                   "with the status each shows in words",
                                    "items": ref("Person"),
                                },
                                "summary": {
                                    "type": "string",
                                    "description": "e.g. '3 people online in 2 workspaces "
                                                   "· 1 away' (online: present, not away)",
                                },
                                "stats": stats,
                            },
                        },
                        "Presence entries, people and stats",
                    ),
                    **errors(401),
                },
            }
        },
        "/realtime/presence/join": {
            "post": {
                "operationId": "join",
                "summary": "Announce or refresh presence (re-join every TTL/3 to stay)",
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": ref("JoinRequest")}},
                },
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["presence"],
                            "properties": {"presence": ref("PresenceEntry")},
                        },
                        "The entry",
                    ),
                    **errors(*_JSON_BODY_ERRORS, 409, 429),
                },
            }
        },
        "/realtime/presence/leave": {
            "post": {
                "operationId": "leave",
                "summary": "Remove one of the caller's presence entries",
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": ref("LeaveRequest")}},
                },
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["status"],
                            "properties": {"status": {"const": "ok"}},
                        },
                        "Done (also when there was no such entry)",
                    ),
                    **errors(*_JSON_BODY_ERRORS),
                },
            }
        },
        "/realtime/presence/status": {
            "post": {
                "operationId": "status",
                "summary": "Change the status and status line of one of the caller's entries",
                "description": (
                    "Shown in GET /realtime/presence at once; published as a presence/status "
                    f"event at most once per {STATUS_INTERVAL:g} s per entry, the latest "
                    "state when the interval is over."
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("StatusRequest")}},
                },
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["presence"],
                            "properties": {"presence": ref("PresenceEntry")},
                        },
                        "The entry with its new state",
                    ),
                    **errors(*_JSON_BODY_ERRORS, 404),
                },
            }
        },
        "/realtime/events": {
            "post": {
                "operationId": "publish",
                "summary": "Publish events; answered once they are durable",
                "description": (
                    "All or none: the events are stored and delivered together, or a 503 "
                    "says they were not published (nothing of them is delivered, and "
                    "their seqs are never used). With an Idempotency-Key, a retry within "
                    f"{int(IDEMPOTENCY_WINDOW // 3600)} h answers what the first publish "
                    "answered and publishes nothing; the key is the caller's own, and one "
                    "reused for a different publish is a 422."
                ),
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "schema": {"type": "string",
                                   "pattern": f"^[!-~]{{1,{IDEMPOTENCY_KEY_MAX}}}$"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    ref("EventInput"),
                                    {
                                        "type": "array",
                                        "minItems": 1,
                                        "maxItems": limits.max_batch,
                                        "items": ref("EventInput"),
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["events"],
                            "properties": {
                                "events": {"type": "array", "items": ref("Event")},
                            },
                        },
                        "The enriched events, with their seq",
                    ),
                    **errors(*_JSON_BODY_ERRORS, 503),
                },
            }
        },
        "/realtime/health": {
            "get": {
                "operationId": "health",
                "summary": (
                    "Liveness; stats, user and workspaces only for an authenticated caller"
                ),
                "security": [{}, {"bearer": []}, {"session": []}],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["status", "version"],
                            "properties": {
                                "status": {"enum": ["ok", "degraded"]},
                                "version": {"type": "string"},
                                "stats": stats,
                                "user": {"type": "string"},
                                "workspaces": {
                                    "type": ["array", "null"],
                                    "items": {"type": "string"},
                                    "description": "the caller's workspaces, sorted; null: "
                                    "every workspace (the owner, or a server without auth)",
                                },
                            },
                        },
                        "The server is up",
                    ),
                    **errors(),
                },
            }
        },
        "/realtime/launch": {
            "post": {
                "operationId": "launch",
                "summary": f"A single-use code ({LAUNCH_CODE_TTL:g} s) that logs a browser in",
                "security": [{"bearer": []}],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["code", "url"],
                            "properties": {
                                "code": {"type": "string", "minLength": 32},
                                "url": {"type": "string"},
                            },
                        },
                        "The code and the URL to open",
                    ),
                    **errors(401),
                },
            }
        },
        "/realtime/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [{}],
                "responses": {
                    "200": json_body({"type": "object"}, "OpenAPI 3.1"),
                    **errors(),
                },
            }
        },
        "/realtime/session": {
            "post": {
                "operationId": "session",
                "summary": "The page's script: a launch code (once) for a browser session id, "
                           "sent as 'Authorization: Session <id>'",
                "security": [{}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["code"],
                    "properties": {"code": {"type": "string"}}}}}},
                "responses": {
                    "200": json_body(
                        {"type": "object", "required": ["session", "user", "expires_in"],
                         "properties": {"session": {"type": "string"},
                                        "user": {"type": "string"},
                                        "expires_in": {"type": "number"}}},
                        "The session id, whom it signs in, and for how many seconds"),
                    **errors(400, 401, 413, 415, 422),
                },
            }
        },
        "/activity": {
            "get": {
                "operationId": "activity",
                "summary": "The activity page. With ?code=: the page with the code for its "
                           "script when the browser opened the link itself (Sec-Fetch-Site "
                           "none or same-origin), else a page that asks first",
                "security": [{}],
                "parameters": [{"name": "code", "in": "query", "schema": {"type": "string"}}],
                "responses": {
                    "200": html("The page, or the page that asks to confirm a sign-in"),
                    "401": html("An unknown, used or expired code"),
                    **errors(404, 429),
                },
            },
            "post": {
                "operationId": "activity_confirmed",
                "summary": "The confirm page's button (a form post from this origin only)",
                "security": [{}],
                "requestBody": {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": {
                        "type": "object", "required": ["code"],
                        "properties": {"code": {"type": "string"}}}}}},
                "responses": {
                    "200": html("The page, with the code for its script"),
                    "401": html("An unknown, used or expired code"),
                    **errors(404, 413, 429),
                    "415": json_body(ref("Error"), "Not a form post"),
                },
            },
        },
        "/activity/static/{name}": {
            "get": {
                "operationId": "static",
                "summary": "The page's script, style and images",
                "security": [{}],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "The file",
                        "content": {
                            "text/javascript": {"schema": {"type": "string"}},
                            "text/css": {"schema": {"type": "string"}},
                            "image/svg+xml": {"schema": {"type": "string"}},
                            "image/png": {"schema": {"type": "string"}},
                        },
                    },
                    **errors(404),
                },
            }
        },
    }


def openapi_document(version: str, limits: ApiLimits | None = None) -> dict[str, Any]:
    """The whole document for server version ``version`` and ``limits`` (a fresh dict)."""
    limits = limits or ApiLimits()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lattice realtime endpoint",
            "version": version,
            "description": (
                "Local-first realtime bus: activity events and presence over SSE. "
                "Every request needs a loopback Host with the server's port (or a "
                "configured name) and no foreign Origin; POST bodies are "
                f"application/json of at most {size(limits.max_body)}. See SECURITY.md."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {**_paths(limits), **owner_paths()},
        "components": {
            "schemas": {**schemas(limits), **owner_schemas(limits)},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "header", "name": "Authorization",
                            "description": "'Session <id>', the id from /realtime/session"},
            },
        },
    }
