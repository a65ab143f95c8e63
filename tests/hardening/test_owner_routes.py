"""The owner's routes (administration, metrics): nobody else gets in.

Every route the OpenAPI document marks as owner-only is tried with no token,
a user's token and the owner's own browser session: all are refused, and
nothing changes. Host and Origin are covered for them by test_access.py,
which walks every route of the document. Each test names the line whose
removal makes it fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.http.openapi import openapi_document
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.hardening.helpers import add_users, bearer

OWNER_ROUTES = [
    (method.upper(), path)
    for path, ops in openapi_document("test")["paths"].items()
    for method, op in ops.items()
    if op.get("security") == [{"bearer": []}] and path != "/realtime/launch"
]
BODY = {"user": "mallory", "workspaces": ["ws_a"]}


def _call(server: RealtimeServer, method: str, path: str, **kwargs: object) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        if method == "POST":
            kwargs.setdefault("json", BODY)
        return client.request(method, path, **kwargs)  # type: ignore[arg-type]


def test_the_document_names_every_owner_route() -> None:
    assert sorted(path for _, path in OWNER_ROUTES) == [
        "/metrics", "/realtime/admin/users", "/realtime/admin/users/add",
        "/realtime/admin/users/grant", "/realtime/admin/users/remove",
        "/realtime/admin/users/renew", "/realtime/admin/users/revoke",
    ]


def test_every_owner_route_refuses_a_user_token(server: RealtimeServer) -> None:
    # fails without: the `if not principal.owner:` check in access.check_owner
    token = add_users(server.data_dir, {"ann": ["ws_a"]})["ann"]
    for method, path in OWNER_ROUTES:
        r = _call(server, method, path, headers=bearer(token))
        assert (r.status_code, r.json()) == (
            403, {"error": "only the owner token may use this route"}), (method, path)
        r = _call(server, method, path)
        assert (r.status_code, r.json()) == (401, {"error": "authentication required"})
    with RealtimeClient(server.url, server.owner_token) as owner:
        users = owner.request("GET", "/realtime/admin/users")["users"]
    assert users == [{"user": "ann", "workspaces": ["ws_a"]}]  # nothing changed


def test_an_owner_browser_session_cannot_administer(server: RealtimeServer) -> None:
    # fails without: session=False in owner.OwnerRoutes._owner
    with RealtimeClient(server.url, server.owner_token) as owner:
        code = owner.launch_url().rsplit("code=", 1)[1]
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        answer = browser.post("/realtime/session", json={"code": code})
        assert answer.status_code == 200 and answer.json()["user"] == "owner"
        session = {"Authorization": f"Session {answer.json()['session']}"}
        assert browser.get("/realtime/feed", headers=session).status_code == 200
        for method, path in OWNER_ROUTES:
            kwargs: dict[str, object] = {"json": BODY} if method == "POST" else {}
            r = browser.request(method, path, headers=session, **kwargs)  # type: ignore[arg-type]
            assert r.status_code == 401, (method, path, r.status_code)


@pytest.fixture
def open_server(data_dir: Path) -> Iterator[RealtimeServer]:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, auth=False))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_without_authentication_nobody_administers(open_server: RealtimeServer) -> None:
    """--no-auth: everyone reads and publishes, but there is no owner to administer."""
    for method, path in OWNER_ROUTES:
        r = _call(open_server, method, path)
        assert r.status_code == 403, (method, path, r.status_code)


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_admin_changes_need_application_json(server: RealtimeServer, ctype: str | None) -> None:
    headers = {**bearer(server.owner_token), **({"Content-Type": ctype} if ctype else {})}
    for method, path in OWNER_ROUTES:
        if method == "POST":
            r = _call(server, method, path, content=b'{"user": "ann"}', headers=headers)
            assert r.status_code == 415, (path, ctype)
    r = _call(server, "GET", "/realtime/admin/users", headers=bearer(server.owner_token))
    assert r.json() == {"users": []}
