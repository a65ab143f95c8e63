"""The owner's routes in the OpenAPI document: account administration and metrics.

Kept apart from openapi.py (the realtime API) and merged into the same
document by :func:`~lattice_rt_core.http.openapi.openapi_document`, so the
hardening tests (Host/Origin on every route, tokens refused, the fuzzing)
cover these routes too.
"""

from __future__ import annotations

from typing import Any

from lattice_rt_core.protocol.defaults import ADMIN_PREFIX
from lattice_rt_core.protocol.limits import NAME_PATTERN, ApiLimits

__all__ = ["owner_paths", "owner_schemas"]

_ERROR = {"$ref": "#/components/schemas/Error"}
_OWNER_ONLY: list[dict[str, list[str]]] = [{"bearer": []}]  # the owner token, no session
_REFUSALS = {
    401: "No or unknown token",
    403: "Foreign Host or Origin, or a token that is not the owner's",
    404: "No user of that name",
    409: "A user of that name exists (it keeps its token)",
    413: "Body too large, or too many workspaces",
    415: "Content-Type is not application/json",
    422: "Invalid JSON fields: a name that breaks the name rule, no workspaces",
    400: "Body that is not JSON",
    503: "The server has no accounts, or cannot change them",
    429: "Too many failed sign-ins from this address (Retry-After says when to try again)",
}


def _answer(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _refusals(*codes: int) -> dict[str, Any]:
    return {str(code): _answer(_ERROR, _REFUSALS[code]) for code in (401, 403, 429, 503, *codes)}


def _name(limits: ApiLimits) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limits.max_name,
            "pattern": NAME_PATTERN}


def owner_schemas(limits: ApiLimits) -> dict[str, Any]:
    workspaces = {"type": "array", "items": _name(limits), "maxItems": limits.max_batch}
    return {
        "User": {
            "type": "object",
            "required": ["user", "workspaces"],
            "properties": {"user": {"type": "string"},
                           "workspaces": {"type": "array", "items": {"type": "string"}}},
        },
        "UserRequest": {
            "type": "object",
            "required": ["user"],
            "properties": {"user": _name(limits)},
        },
        "NewUserRequest": {
            "type": "object",
            "required": ["user"],
            "properties": {"user": _name(limits), "workspaces": workspaces},
        },
        "WorkspacesRequest": {
            "type": "object",
            "required": ["user", "workspaces"],
            "properties": {"user": _name(limits), "workspaces": {**workspaces, "minItems": 1}},
        },
        "Status": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"const": "ok"}},
        },
        "Token": {
            "type": "object",
            "required": ["user", "token"],
            "properties": {"user": {"type": "string"}, "workspaces": {"type": "array"},
                           "token": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
        },
    }


def _change(operation: str, summary: str, request: str, answer: str,
            *codes: int) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation,
            "summary": summary,
            "security": _OWNER_ONLY,
            "requestBody": {
                "required": True,
                "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{request}"}}},
            },
            "responses": {
                "200": _answer({"$ref": f"#/components/schemas/{answer}"}, "Done"),
                **_refusals(400, 413, 415, 422, *codes),
            },
        }
    }


def owner_paths() -> dict[str, Any]:
    users = f"{ADMIN_PREFIX}/users"
    return {
        users: {
            "get": {
                "operationId": "users",
                "summary": "Every user and its workspaces (owner token)",
                "security": _OWNER_ONLY,
                "responses": {
                    "200": _answer({"type": "object", "required": ["users"], "properties": {
                        "users": {"type": "array",
                                  "items": {"$ref": "#/components/schemas/User"}}}},
                        "The users"),
                    **_refusals(),
                },
            }
        },
        f"{users}/add": _change("add_user", "Create a user; its token is in the answer, once",
                                "NewUserRequest", "Token", 409),
        f"{users}/grant": _change("grant", "Add workspaces to a user", "WorkspacesRequest",
                                  "User", 404),
        f"{users}/revoke": _change("revoke", "Take workspaces from a user",
                                   "WorkspacesRequest", "User", 404),
        f"{users}/renew": _change("renew", "A new token for a user; the old one stops at once",
                                  "UserRequest", "Token", 404),
        f"{users}/remove": _change("remove_user", "Delete a user and its token", "UserRequest",
                                   "Status", 404),
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "The server's metrics in the Prometheus text format (owner token)",
                "security": _OWNER_ONLY,
                "responses": {
                    "200": {"description": "Prometheus text exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}}},
                    **{k: v for k, v in _refusals().items() if k != "503"},
                },
            }
        },
    }
