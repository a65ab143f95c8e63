"""The owner's account routes on a real server (who gets in: tests/hardening)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lattice_rt_core.server import RealtimeServer

ADMIN = "/realtime/admin/users"


def _post(owner: httpx.Client, action: str, **body: Any) -> httpx.Response:
    return owner.post(f"{ADMIN}/{action}", json=body)


def _user(server: RealtimeServer, token: str) -> str | None:
    answer = httpx.get(server.url + "/realtime/health",
                       headers={"Authorization": f"Bearer {token}"}).json()
    user: str | None = answer.get("user")
    return user


def test_add_list_grant_revoke_renew_remove(server: RealtimeServer, owner: httpx.Client) -> None:
    r = _post(owner, "add", user="ada", workspaces=["ws2", "ws1", "ws1"])
    assert r.status_code == 200
    token = r.json()["token"]
    assert r.json() == {"user": "ada", "workspaces": ["ws1", "ws2"], "token": token}
    assert _user(server, token) == "ada"
    assert owner.get(ADMIN).json() == {"users": [{"user": "ada", "workspaces": ["ws1", "ws2"]}]}

    r = _post(owner, "grant", user="ada", workspaces=["ws3"])
    assert r.json() == {"user": "ada", "workspaces": ["ws1", "ws2", "ws3"]}
    r = _post(owner, "revoke", user="ada", workspaces=["ws1", "ws2"])
    assert r.json() == {"user": "ada", "workspaces": ["ws3"]}

    r = _post(owner, "renew", user="ada")
    new = r.json()["token"]
    assert r.json() == {"user": "ada", "token": new} and new != token
    assert _user(server, token) is None and _user(server, new) == "ada"  # at once

    assert _post(owner, "remove", user="ada").json() == {"status": "ok"}
    assert _user(server, new) is None
    assert owner.get(ADMIN).json() == {"users": []}


def test_an_existing_user_is_a_conflict_that_keeps_its_token(
    server: RealtimeServer, owner: httpx.Client
) -> None:
    token = _post(owner, "add", user="ada").json()["token"]
    r = _post(owner, "add", user="ada", workspaces=["ws9"])
    assert (r.status_code, r.json()) == (409, {"error": "user 'ada' already exists"})
    assert _user(server, token) == "ada"
    assert owner.get(ADMIN).json() == {"users": [{"user": "ada", "workspaces": []}]}


@pytest.mark.parametrize("action", ["grant", "revoke", "renew", "remove"])
def test_an_unknown_user_is_404(owner: httpx.Client, action: str) -> None:
    body: dict[str, Any] = {"user": "nobody"}
    if action in ("grant", "revoke"):
        body["workspaces"] = ["ws1"]
    r = _post(owner, action, **body)
    assert (r.status_code, r.json()) == (404, {"error": "no user named 'nobody'"})


@pytest.mark.parametrize(
    ("action", "body", "message"),
    [
        ("add", {}, "'user' is required"),
        ("add", {"user": " "}, "'user' must not be only whitespace"),
        ("add", {"user": "a" * 129}, "'user' must be 1 to 128 characters"),
        ("add", {"user": "ada", "workspaces": "ws1"}, "'workspaces' must be a list"),
        ("add", {"user": "ada", "workspaces": ["ok", "x\ty"]},
         "'workspaces' must not contain control characters"),
        ("grant", {"user": "ada"}, "'workspaces' must be a list of workspace ids, at least one"),
        ("revoke", {"user": "ada", "workspaces": []}, "at least one"),
        ("renew", {"user": 7}, "'user' must be a string"),
    ],
)
def test_bad_fields_are_422_and_change_nothing(
    owner: httpx.Client, action: str, body: dict[str, Any], message: str
) -> None:
    r = _post(owner, action, **body)
    assert r.status_code == 422 and message in r.json()["error"]
    assert owner.get(ADMIN).json() == {"users": []}


def test_too_many_workspaces_is_413(owner: httpx.Client) -> None:
    r = _post(owner, "add", user="ada", workspaces=[f"w{n}" for n in range(1001)])
    assert (r.status_code, r.json()) == (413, {"error": "at most 1000 workspaces per request"})


def _running(code: Any) -> bool:
    """Is some thread executing ``code`` right now (the server runs in this process)?"""
    import sys

    for frame in sys._current_frames().values():  # noqa: SLF001 - observation only
        while frame is not None:
            if frame.f_code is code:
                return True
            frame = frame.f_back  # type: ignore[assignment]
    return False


def test_a_change_waiting_on_a_locked_database_does_not_freeze_the_server(
    server: RealtimeServer, owner: httpx.Client
) -> None:
    # fails without: asyncio.to_thread in LocalAccountStore (issue 20, item 8: the
    # change waited for SQLite's lock on the event loop, and an anonymous health
    # check waited with it, 9 s)
    import sqlite3
    import threading

    from lattice_rt_core.auth.accounts import Accounts
    from lattice_rt_core.paths import database_path
    from tests.hardening.helpers import WAIT, wait_for

    blocker = sqlite3.connect(database_path(server.data_dir), isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another program holds the database
    answer: dict[str, httpx.Response] = {}
    done = threading.Event()

    def change() -> None:
        answer["change"] = _post(owner, "add", user="ada")
        done.set()

    changer = threading.Thread(target=change)
    changer.start()
    try:
        # the change has reached SQLite and waits for the lock there
        wait_for(lambda: _running(Accounts.add_user.__code__), "the change to wait on SQLite")
        health = httpx.get(server.url + "/realtime/health", timeout=WAIT)
        assert health.status_code == 200
        assert not done.is_set(), "the health check waited for the locked change"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        changer.join(WAIT)
    assert answer["change"].status_code == 200, answer["change"].text  # went through after
