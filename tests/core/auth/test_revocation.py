"""Revocation (issue 20, item 2): what a token minted dies with it.

A launch code and a browser session carry the credential that minted them
(the SHA-256 of the user's token), so they stop working when that token does
(``user remove``, ``user renew``), also after a user of the same name is added
again. The accounts have a version that every change moves (the servers poll
it to end open streams: tests/hardening/test_revocation.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lattice_rt_core.auth.accounts import Accounts, LocalAccountStore
from lattice_rt_core.auth.callers import Authenticator, MemorySessions, Principal
from lattice_rt_core.auth.redis_accounts import RedisAccounts, RedisSessions
from lattice_rt_core.engines.redis.store import RedisKeys, connect_async
from lattice_rt_core.paths import database_path
from tests.core.redis_nodes import run
from tests.redis_server import RedisServer


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[Accounts]:
    store = Accounts(database_path(tmp_path))
    yield store
    store.close()


def local_auth(accounts: Accounts) -> Authenticator:
    return Authenticator(owner_token="owner-secret", owner_user="root",
                         accounts=LocalAccountStore(accounts), sessions=MemorySessions())


def _remove_and_add_again(accounts: Accounts) -> None:
    accounts.remove_user("ann")
    accounts.add_user("ann", ["ws_a"])  # the same name, a new token: not the old sessions'


CHANGES: dict[str, Callable[[Accounts], object]] = {
    "remove": lambda a: a.remove_user("ann"),
    "renew": lambda a: a.renew("ann"),
    "remove-and-add-again": _remove_and_add_again,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_launch_code_dies_with_the_token_that_minted_it(accounts: Accounts, change: str
                                                          ) -> None:
    token = accounts.add_user("ann", ["ws_a"])
    auth = local_auth(accounts)

    async def scenario() -> tuple[str | None, str | None]:
        ann = await auth.resolve(f"Bearer {token}", None)
        assert ann is not None and ann.credential is not None
        kept, dying = await auth.issue_launch_code(ann), await auth.issue_launch_code(ann)
        before = await auth.redeem(kept)
        CHANGES[change](accounts)
        return before, await auth.redeem(dying)

    before, after = asyncio.run(scenario())
    assert before is not None  # the code worked while its token did
    assert after is None


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_browser_session_dies_with_the_token_that_minted_it(accounts: Accounts, change: str
                                                              ) -> None:
    token = accounts.add_user("ann", ["ws_a"])
    auth = local_auth(accounts)

    async def scenario() -> tuple[Principal | None, Principal | None, Principal | None]:
        ann = await auth.resolve(f"Bearer {token}", None)
        assert ann is not None
        session = await auth.redeem(await auth.issue_launch_code(ann))
        assert session is not None
        before = await auth.resolve(None, session)
        # a stream opened with the session is checked against the minting token
        assert before is not None and before.credential == ann.credential
        CHANGES[change](accounts)
        return before, await auth.resolve(None, session), await auth.recheck(ann)

    before, after, stream = asyncio.run(scenario())
    assert before == Principal("ann", frozenset({"ws_a"}))
    assert after is None
    assert stream is None  # what an open stream of the old token is checked with


def test_a_narrowed_grant_narrows_sessions_and_the_owner_is_never_revoked(
    accounts: Accounts
) -> None:
    token = accounts.add_user("ann", ["ws_a", "ws_b"])
    auth = local_auth(accounts)

    async def scenario() -> list[Principal | None]:
        ann = await auth.resolve(f"Bearer {token}", None)
        owner = await auth.resolve("Bearer owner-secret", None)
        assert ann is not None and owner is not None
        session = await auth.redeem(await auth.issue_launch_code(ann))
        owner_session = await auth.redeem(await auth.issue_launch_code(owner))
        assert session is not None and owner_session is not None
        accounts.revoke("ann", ["ws_b"])
        return [await auth.resolve(None, session), await auth.recheck(ann),
                await auth.recheck(owner), await auth.resolve(None, owner_session)]

    session, stream, owner, owner_session = asyncio.run(scenario())
    assert session == Principal("ann", frozenset({"ws_a"}))
    assert stream == Principal("ann", frozenset({"ws_a"}))
    assert owner is not None and owner.owner
    assert owner_session is not None and owner_session.owner


def test_every_change_moves_the_version_also_one_made_by_another_process(
    accounts: Accounts, tmp_path: Path
) -> None:
    store = LocalAccountStore(accounts)
    other = Accounts(database_path(tmp_path))  # a `lattice-rt user` command, its own connection
    seen: list[int] = []

    async def version() -> None:
        seen.append(await store.version())

    try:
        asyncio.run(version())
        for change in (lambda a: a.add_user("ann", ["ws_a"]), lambda a: a.grant("ann", ["b"]),
                       lambda a: a.revoke("ann", ["b"]), lambda a: a.renew("ann"),
                       lambda a: a.remove_user("ann")):
            change(other)
            asyncio.run(version())
    finally:
        other.close()
    assert len(set(seen)) == len(seen), seen  # each change gave a new version


def test_sessions_die_with_their_token_on_every_node_of_a_cluster(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    keys = RedisKeys(redis_prefix)

    async def scenario() -> list[Any]:
        a_acc = RedisAccounts(connect_async(redis_server.url), keys)
        b_acc = RedisAccounts(connect_async(redis_server.url), keys)
        try:
            nodes = [Authenticator(owner_token="owner-secret", owner_user="root", accounts=acc,
                                   sessions=RedisSessions(acc.client, keys))
                     for acc in (a_acc, b_acc)]
            a, b = nodes
            token = await a_acc.add_user("ann", ["ws_a", "ws_b"])
            ann = await a.resolve(f"Bearer {token}", None)
            assert ann is not None
            code = await a.issue_launch_code(ann)
            session = await a.redeem(await a.issue_launch_code(ann))
            assert session is not None
            versions = [await a_acc.version()]
            await b_acc.revoke("ann", ["ws_b"])
            versions.append(await a_acc.version())
            narrowed = [await b.resolve(None, session), await a.recheck(ann)]
            await b_acc.renew("ann")
            versions.append(await a_acc.version())
            return [narrowed, await b.resolve(None, session), await b.redeem(code),
                    await a.recheck(ann), versions]
        finally:
            await a_acc.client.aclose()
            await b_acc.client.aclose()

    narrowed, session, code, stream, versions = run(scenario())
    assert narrowed == [Principal("ann", frozenset({"ws_a"}))] * 2
    assert session is None and code is None and stream is None
    assert len(set(versions)) == 3, versions
