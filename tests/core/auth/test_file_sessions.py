"""Browser sessions that survive a restart of the local server (issue 22, item 4).

Unit tests of :class:`FileSessions` with a fake wall clock, then real servers
on loopback ports, one after the other on the same data directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.auth.accounts import Accounts
from lattice_rt_core.auth.callers import SESSION_TTL, Principal
from lattice_rt_core.auth.file_sessions import MAX_SESSIONS, SESSIONS_FILE, FileSessions
from lattice_rt_core.paths import OWNER_TOKEN_FILE, database_path
from lattice_rt_core.server import RealtimeServer, ServerConfig


class Wall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


ANN = Principal("ann", frozenset({"ws_a"}), credential="c" * 64)
OWNER = Principal("root", None, owner=True)


def put(store: FileSessions, key: str, who: Principal, ttl: float = 60.0) -> None:
    asyncio.run(store.put("session", key, who, ttl))


def get(store: FileSessions, key: str, kind: str = "session") -> Principal | None:
    return asyncio.run(store.get(kind, key, consume=False))


def test_a_session_outlives_the_store_and_the_file_holds_no_usable_secret(tmp_path: Path
                                                                         ) -> None:
    wall, path = Wall(), tmp_path / SESSIONS_FILE
    put(FileSessions(path, "owner-secret", wall), "ann-session-id", ANN)
    put(FileSessions(path, "owner-secret", wall), "owner-session-id", OWNER)
    again = FileSessions(path, "owner-secret", wall)
    found = get(again, "ann-session-id")
    assert found is not None and found.user == "ann" and found.credential == ANN.credential
    assert found.scope == frozenset()  # read again from the accounts on every use
    assert get(again, "owner-session-id") == OWNER
    assert get(again, "another-id") is None
    text = path.read_text()
    assert "ann-session-id" not in text and "owner-session-id" not in text
    assert "owner-secret" not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_expiry_is_wall_clock_time_also_after_a_restart(tmp_path: Path) -> None:
    wall, path = Wall(), tmp_path / SESSIONS_FILE
    put(FileSessions(path, None, wall), "s1", ANN, ttl=100.0)
    wall.now += 99.0
    assert get(FileSessions(path, None, wall), "s1") is not None
    wall.now += 1.0
    assert get(FileSessions(path, None, wall), "s1") is None
    assert json.loads(path.read_text())["sessions"] == {}  # an expired one is not kept


def test_a_new_owner_token_ends_the_owners_sessions_only(tmp_path: Path) -> None:
    wall, path = Wall(), tmp_path / SESSIONS_FILE
    first = FileSessions(path, "old-owner-token", wall)
    put(first, "owner-s", OWNER)
    put(first, "ann-s", ANN)
    renewed = FileSessions(path, "new-owner-token", wall)
    assert get(renewed, "owner-s") is None
    assert get(renewed, "ann-s") is not None


def test_launch_codes_stay_in_memory_and_are_single_use(tmp_path: Path) -> None:
    path = tmp_path / SESSIONS_FILE
    store = FileSessions(path, None, Wall())

    async def scenario() -> tuple[Principal | None, Principal | None]:
        await store.put("code", "the-code", ANN, 60.0)
        return (await store.get("code", "the-code", consume=True),
                await store.get("code", "the-code", consume=True))

    assert asyncio.run(scenario()) == (ANN, None)
    assert not path.exists()


def test_the_file_keeps_the_newest_sessions_only(tmp_path: Path) -> None:
    wall, path = Wall(), tmp_path / SESSIONS_FILE
    store = FileSessions(path, None, wall)
    for n in range(MAX_SESSIONS + 5):
        put(store, f"s{n}", ANN, ttl=SESSION_TTL)
        wall.now += 1.0
    again = FileSessions(path, None, wall)
    assert len(json.loads(path.read_text())["sessions"]) == MAX_SESSIONS
    assert get(again, "s0") is None and get(again, f"s{MAX_SESSIONS + 4}") is not None


@pytest.mark.parametrize("content", ["{not json", '{"format": 99, "sessions": {}}', "[]",
                                     '{"format": 1, "sessions": {"x": {"user": 5}}}'])
def test_a_broken_file_starts_afresh_with_a_warning(tmp_path: Path, content: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / SESSIONS_FILE
    path.write_text(content)
    store = FileSessions(path, None, Wall())
    assert get(store, "x") is None
    whole_file = not content.startswith('{"format": 1')
    assert (str(path) in caplog.text) is whole_file  # a bad entry alone is dropped quietly
    put(store, "s1", ANN)  # and it works from there
    assert get(FileSessions(path, None, Wall()), "s1") is not None


def test_a_file_that_cannot_be_written_keeps_the_session_for_this_process(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "gone" / SESSIONS_FILE  # its directory does not exist: every write fails
    store = FileSessions(path, None, Wall())
    put(store, "s1", ANN)
    assert get(store, "s1") is not None
    assert "browser sessions signed in now end when this server stops" in caplog.text
    assert not list(path.parent.parent.glob("**/*.tmp"))


def sign_in(server: RealtimeServer, bearer: str) -> dict[str, str]:
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        code = client.post("/realtime/launch",
                           headers={"Authorization": f"Bearer {bearer}"}).json()["code"]
        session = client.post("/realtime/session", json={"code": code}).json()["session"]
    return {"Authorization": f"Session {session}"}


def feed_status(server: RealtimeServer, headers: dict[str, str]) -> int:
    return httpx.get(f"{server.url}/realtime/feed", headers=headers, timeout=10.0).status_code


def test_a_browser_session_survives_a_restart_and_still_dies_with_its_token(data_dir: Path
                                                                           ) -> None:
    # fails without: FileSessions in server._local_engine (a restart signed every page out)
    accounts = Accounts(database_path(data_dir))
    ann_token = accounts.add_user("ann", ["ws_a"])
    config = ServerConfig(port=0, data_dir=data_dir, owner_user="owner")
    first = RealtimeServer(config)
    first.start()
    try:
        assert first.owner_token is not None
        owner_page, ann_page = sign_in(first, first.owner_token), sign_in(first, ann_token)
        assert feed_status(first, owner_page) == feed_status(first, ann_page) == 200
    finally:
        first.stop()
    second = RealtimeServer(config)
    second.start()
    try:
        assert feed_status(second, owner_page) == feed_status(second, ann_page) == 200
        accounts.renew("ann")  # revocation ends the kept session at once
        assert feed_status(second, ann_page) == 401
        assert feed_status(second, owner_page) == 200
    finally:
        second.stop()
        accounts.close()
    (data_dir / OWNER_TOKEN_FILE).unlink()  # a new owner token ends the owner's sessions
    third = RealtimeServer(config)
    third.start()
    try:
        assert feed_status(third, owner_page) == 401
    finally:
        third.stop()
