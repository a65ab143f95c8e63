"""Accounts, launch codes and sessions of a cluster, in a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lattice_rt_core.auth.callers import Authenticator, Principal
from lattice_rt_core.auth.redis_accounts import NoSuchUser, RedisAccounts, RedisSessions, UserExists
from lattice_rt_core.engines.redis.store import RedisKeys, connect_async
from tests.core.redis_nodes import run
from tests.redis_server import RedisServer

OPEN: list[RedisAccounts] = []


def accounts(redis_server: RedisServer, prefix: str) -> RedisAccounts:
    made = RedisAccounts(connect_async(redis_server.url), RedisKeys(prefix))
    OPEN.append(made)
    return made


def run_closing(coro: Any) -> Any:
    """Run ``coro``, then close every client it made (on the same loop)."""

    async def main() -> Any:
        try:
            return await coro
        finally:
            while OPEN:
                await OPEN.pop().client.aclose()

    return run(main())


def test_users_are_added_changed_and_removed_with_the_local_rules(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> None:
        a = accounts(redis_server, redis_prefix)
        other = accounts(redis_server, redis_prefix)  # another node
        token = await a.add_user("ann", ["ws_b", "ws_a", "ws_a"])
        assert len(token) == 64
        assert await other.lookup_token(token) == ("ann", frozenset({"ws_a", "ws_b"}))
        assert await other.lookup_token("nope") is None
        with pytest.raises(UserExists):
            await other.add_user("ann")
        assert await other.lookup_token(token) is not None  # re-adding left the token alone
        assert await other.grant("ann", ["ws_c"]) == {"ws_a", "ws_b", "ws_c"}
        assert await a.revoke("ann", ["ws_a", "ws_x"]) == {"ws_b", "ws_c"}
        assert await a.scopes_of("ann") == frozenset({"ws_b", "ws_c"})
        renewed = await other.renew("ann")
        assert await a.lookup_token(token) is None  # the old token stops at once
        assert (await a.lookup_token(renewed) or ("",))[0] == "ann"
        await a.add_user("bob")
        assert await a.users() == {"ann": {"ws_b", "ws_c"}, "bob": set()}
        await other.remove_user("ann")
        assert await a.lookup_token(renewed) is None and await a.scopes_of("ann") == frozenset()
        for call in (a.remove_user("ann"), a.renew("ann"), a.grant("ann", ["w"])):
            with pytest.raises(NoSuchUser):
                await call
        for bad in ("", " ", "a\nb", "x" * 129):
            with pytest.raises(ValueError):
                await a.add_user(bad)
            with pytest.raises(ValueError):
                await a.add_user("eve", [bad])
        assert set(await a.users()) == {"bob"}

    run_closing(scenario())


def test_concurrent_grants_from_many_nodes_all_hold(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> set[str]:
        nodes = [accounts(redis_server, redis_prefix) for _ in range(4)]
        await nodes[0].add_user("ann")
        await asyncio.gather(*(n.grant("ann", [f"ws{i}"]) for i, n in enumerate(nodes * 5)))
        return await nodes[0].scopes_of("ann")

    assert run_closing(scenario()) == {f"ws{i}" for i in range(20)}


def test_a_launch_code_from_one_node_is_redeemed_once_on_another(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> list[Any]:
        keys = RedisKeys(redis_prefix)
        a_acc, b_acc = accounts(redis_server, redis_prefix), accounts(redis_server, redis_prefix)
        token = await a_acc.add_user("ann", ["ws_a"])

        def node(acc: RedisAccounts) -> Authenticator:
            return Authenticator(owner_token="owner-secret", owner_user="root", accounts=acc,
                                 sessions=RedisSessions(acc.client, keys))

        a, b = node(a_acc), node(b_acc)
        ann = await a.resolve(f"Bearer {token}")
        assert ann == Principal("ann", frozenset({"ws_a"}))
        code = await a.issue_launch_code(ann)
        session = await b.redeem(code)
        assert session is not None and await a.redeem(code) is None  # single use
        await b_acc.grant("ann", ["ws_new"])  # memberships are read again per request
        assert await a.code_holder(code) is None  # spent, on every node
        seen = await a.resolve(f"Session {session}")
        owner_code = await b.issue_launch_code(await b.resolve("Bearer owner-secret"))
        assert await a.code_holder(owner_code) == Principal("root", None, owner=True)
        owner_session = await a.redeem(owner_code)
        keys_in_redis = [k.decode() for k in await a_acc.client.keys(f"{redis_prefix}:*")]
        return [seen, await b.resolve(f"Session {owner_session}"), keys_in_redis, code, session]

    seen, owner, keys_in_redis, code, session = run_closing(scenario())
    assert seen == Principal("ann", frozenset({"ws_a", "ws_new"}))
    assert owner is not None and owner.owner
    assert not any(code in k or session in k for k in keys_in_redis)  # only their hashes


def test_a_user_name_that_reads_like_an_existing_one_is_refused_on_every_node(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    # fails without: check_unlike in RedisAccounts.add_user (issue 20, item 7)
    async def scenario() -> None:
        a = accounts(redis_server, redis_prefix)
        other = accounts(redis_server, redis_prefix)  # another node
        await a.add_user("alice", ["ws"])
        for lookalike in ("Alice", "\uff41lice", "alice\u200b"):
            with pytest.raises(UserExists, match="cannot be told from the existing user 'alice'"):
                await other.add_user(lookalike)
        for name in ("\u202enimda", "\u200b\ufeff", "bob\u009b"):
            with pytest.raises(ValueError, match="^user name must not"):
                await other.add_user(name)
        await other.add_user("bob")
        assert await a.users() == {"alice": {"ws"}, "bob": set()}

    run_closing(scenario())


def test_concurrent_adds_of_lookalike_names_keep_one(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    # the comparison and the change are one step: a user added meanwhile is seen
    async def scenario() -> list[Any]:
        nodes = [accounts(redis_server, redis_prefix) for _ in range(4)]
        names = ["carol", "Carol", "CAROL", "\uff43arol"]
        adds = (n.add_user(name) for n, name in zip(nodes, names, strict=True))
        return await asyncio.gather(*adds, return_exceptions=True)

    results = run_closing(scenario())
    assert sum(isinstance(r, str) for r in results) == 1, results
    assert all(isinstance(r, (str, UserExists)) for r in results), results
