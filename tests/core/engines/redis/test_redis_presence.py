"""Presence in a real Redis: global, refreshed from any node, one leave per expiry."""

from __future__ import annotations

import asyncio
from typing import Any

from lattice_rt_core.engines.presence import PresenceRegistry
from lattice_rt_core.engines.redis.engine import RedisEngine
from lattice_rt_core.engines.redis.presence import RedisPresence
from tests.core.redis_nodes import frames, nodes, run
from tests.core.sse_frames import parse
from tests.redis_server import RedisServer


def presence_events(got: list[Any]) -> list[tuple[str, str, str | None]]:
    out = []
    for f in got:
        if f.event == "message" and not f.comment:
            e = f.json()
            if e["area"] == "presence":
                out.append((e["event_type"], e["payload"]["client_id"],
                            e["payload"].get("reason")))
    return out


def test_a_join_on_one_node_is_seen_on_all(redis_server: RedisServer, redis_prefix: str) -> None:
    async def scenario() -> None:
        async with nodes(redis_server.url, redis_prefix, 2) as (a, b):
            sub = b.add_subscriber(None, "", (), 0)
            entry = await a.join(user="ann", client_id="c1", workspace_id="ws",
                                 display_name="Ann")
            assert entry["client_id"] == "c1" and entry["display_name"] == "Ann"
            assert a.recent(1)[0]["event_type"] == "join"  # answered once visible there
            listing = await b.presence({"ws"})
            assert [(p["client_id"], p["user"], p["display_name"]) for p in listing] == [
                ("c1", "ann", "Ann")]
            assert await b.presence({"other"}) == []
            assert await b.presence_owner("c1") == ("ann", "ws")
            assert await b.presence_count("ann") == 1
            again = await b.join(user="ann", client_id="c1", workspace_id="ws",
                                 display_name=None)  # a refresh: no event
            assert again["joined_at"] == entry["joined_at"]
            await b.join(user="ann", client_id="c1", workspace_id="ws2", display_name=None)
            assert await a.leave("c1") is True
            assert await a.leave("c1") is False
            got = await frames(b, sub, 4)
            assert presence_events(got) == [
                ("join", "c1", None), ("leave", "c1", "moved"), ("join", "c1", None),
                ("leave", "c1", "left")]
            assert await a.presence(None) == [] and await a.presence_count("ann") == 0

    run(scenario())


def test_one_expiry_is_one_leave_however_many_nodes_sweep(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> list[Any]:
        async with nodes(redis_server.url, redis_prefix, 3, presence_ttl=0.3) as engines:
            watcher = engines[0].add_subscriber(None, "", (), 0)
            for i in range(5):
                await engines[i % 3].join(user="u", client_id=f"c{i}", workspace_id=None,
                                          display_name=None)

            async def sweeping(engine: RedisEngine) -> int:
                total = 0
                while await engine.presence(None):
                    total += await engine.sweep()
                return total

            counts = await asyncio.gather(*(sweeping(e) for e in engines))
            assert sum(counts) == 5
            await engines[0].publish_events([{"payload": "marker"}])
            return await frames(engines[0], watcher, 11)

    got = run(scenario())
    leaves = [e for e in presence_events(got) if e[0] == "leave"]
    assert sorted(leaves) == [("leave", f"c{i}", "timeout") for i in range(5)]


def test_an_open_stream_holds_presence_on_any_node_only_within_the_hold(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    """Joined through node A, its stream on node B: B's sweeps keep it, for ``hold`` only."""

    async def scenario() -> None:
        async with nodes(redis_server.url, redis_prefix, 2, presence_ttl=0.4,
                         presence_hold=1.5) as (a, b):
            await a.join(user="ann", client_id="held", workspace_id=None, display_name=None)
            await a.join(user="ann", client_id="idle", workspace_id=None, display_name=None)
            stream = await b.open_stream(None, user="ann", client_ids=["held"],
                                         last_event_id=None)
            loop = asyncio.get_running_loop()
            joined = loop.time()

            async def sweep_until_gone(cid: str) -> float:
                while any(p["client_id"] == cid for p in await a.presence(None)):
                    await b.sweep()
                    await a.sweep()
                return loop.time() - joined

            idle_gone = await sweep_until_gone("idle")
            assert any(p["client_id"] == "held" for p in await a.presence(None))
            held_gone = await sweep_until_gone("held")
            # held by B's stream for the hold after the client's last request, then the TTL
            assert held_gone >= 1.5 > idle_gone
            b.unsubscribe(stream)

    run(scenario())


def test_a_dead_nodes_clients_expire(redis_server: RedisServer, redis_prefix: str) -> None:
    async def scenario() -> None:
        async with nodes(redis_server.url, redis_prefix, 1, presence_ttl=0.3) as (survivor,):
            async with nodes(redis_server.url, redis_prefix, 1, presence_ttl=0.3) as (dying,):
                await dying.open_stream(None, user="ann", client_ids=[], last_event_id=None)
                await dying.join(user="ann", client_id="c", workspace_id=None,
                                 display_name=None)
            # the dying node is gone (stopped without a leave): only the survivor sweeps
            while await survivor.presence(None):
                await survivor.sweep()
            assert survivor.recent(1)[0]["payload"]["reason"] == "timeout"

    run(scenario())


def test_presence_writes_refused_while_the_client_id_belongs_to_someone_else(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> None:
        async with nodes(redis_server.url, redis_prefix, 2) as (a, b):
            results = await asyncio.gather(*(
                e.join(user=f"user{i}", client_id="same", workspace_id=None, display_name=None)
                for i, e in enumerate((a, b, a, b))
            ))
            owner = await a.presence_owner("same")
            holder = owner[0] if owner else None
            # every join went through, one after the other: the last one holds it, and
            # the counts follow (one entry, held by one user)
            assert holder in {r["user"] for r in results}
            counts = [await a.presence_count(f"user{i}") for i in range(4)]
            assert sorted(counts) == [0, 0, 0, 1]

    run(scenario())


def status_events(got: list[Any]) -> list[tuple[str, str]]:
    return [(f.json()["payload"]["client_id"], f.json()["payload"]["status"]) for f in got
            if f.event == "message" and f.json()["event_type"] == "status"]


def test_status_changes_are_coalesced_across_nodes_and_the_last_is_published(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> list[Any]:
        async with nodes(redis_server.url, redis_prefix, 2, status_interval=0.3) as (a, b):
            sub = b.add_subscriber(None, "", (), 0)
            joined = await a.join(user="ann", client_id="c", workspace_id="ws",
                                  display_name=None, status="dnd", status_text="Deep")
            assert (joined["status"], joined["status_text"]) == ("dnd", "Deep")
            # within the join's interval, from both nodes: shown at once, published once
            for engine, value in ((a, "idle"), (b, "away"), (a, "active"), (b, "away")):
                entry = await engine.set_status("c", value, None)
                assert entry is not None and entry["status"] == value
                assert [p["status"] for p in await a.presence(None)] == [value]
            assert await a.set_status("nobody", "away", None) is None
            return await frames(b, sub, 2)  # the join, then one status event

    got = run(scenario())
    assert status_events(got) == [("c", "away")]


def test_a_held_status_is_published_by_a_flush_in_the_millisecond_it_is_due(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    # fails without the inclusive bound of presence_due for due times: a node's timer
    # fires in the millisecond the change is due (Redis's clock), the script then left
    # it out as "not yet", and the change waited for a sweep (CI's coalescing failure)
    async def scenario() -> list[int]:
        # an interval long enough that a loaded machine still changes the status inside it
        async with nodes(redis_server.url, redis_prefix, 1, status_interval=0.8) as (a,):
            store, client = a.presence_store, a.log.client
            published = []
            for k in range(8):
                await a.join(user="ann", client_id=f"c{k}", workspace_id=None,
                             display_name=None)
                await a.set_status(f"c{k}", "away", None)  # held: inside the interval
                store.cancel_timer()  # this test is the timer
                due = int((await client.zrange(store.keys.presence[5], 0, 0,
                                               withscores=True))[0][1])
                while True:  # Redis's clock, read until it is the due millisecond
                    secs, micros = await client.time()
                    if secs * 1000 + micros // 1000 >= due:
                        break
                published.append(await store.flush_status())
            return published

    assert run(scenario()) == [1] * 8


def test_a_status_change_left_by_a_dead_node_is_published_by_a_sweep(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> list[Any]:
        async with nodes(redis_server.url, redis_prefix, 1, status_interval=0.3) as (survivor,):
            sub = survivor.add_subscriber(None, "", (), 0)
            async with nodes(redis_server.url, redis_prefix, 1, status_interval=0.3) as (dying,):
                await dying.join(user="ann", client_id="c", workspace_id=None,
                                 display_name=None)
                await dying.set_status("c", "away", "Lunch")  # held back: inside the interval
            got: list[Any] = []
            while not status_events(got):  # the interval passes on Redis's clock
                await survivor.sweep()
                got += parse(survivor.collect(sub))
            return [p for p in await survivor.presence(None)]

    listed = run(scenario())
    assert [(p["status"], p["status_text"]) for p in listed] == [("away", "Lunch")]


def test_a_held_status_is_due_at_the_millisecond_its_timer_names() -> None:
    # fails without: math.ceil in RedisPresence._due and the tolerance of
    # PresenceRegistry._publish_due. Redis's clock is in milliseconds and the due time a
    # float sum: truncated (or compared exactly) it came out a hair early for most
    # milliseconds, the node's timer then published nothing and re-armed nothing, and the
    # change waited for a sweep (seen as a flaky coalescing test on a busy machine)
    for k in range(2000):
        published = (1_765_159_568_000 + k) / 1000
        now = [published]
        rules = PresenceRegistry(clock=lambda now=now: now[0], status_interval=0.3)
        rules.join(user="ann", client_id="c", workspace_id="ws", display_name=None)
        now[0] = published + 0.1
        assert rules.set_status("c", "away", None) == []  # held: inside the interval
        now[0] = RedisPresence._due(rules) / 1000  # the millisecond the timer fires at
        assert [e["payload"]["status"] for e in rules.flush_status()] == ["away"], k
