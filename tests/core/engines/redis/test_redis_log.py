"""The global log in a real Redis: one seq, every node in order, holes filled, epochs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis

from lattice_rt_core.engines.base import Idempotency, IdempotencyConflict
from lattice_rt_core.engines.redis.log import encode_for_script, parse_message
from lattice_rt_core.engines.redis.store import RedisKeys, safe_url
from lattice_rt_core.protocol.events import enrich, to_json
from tests.core.redis_nodes import frames, make_engine, nodes, run, seqs
from tests.redis_server import RedisServer


# ------------------------------------------------------------------- pure parts
def test_the_script_gets_the_json_after_seq_and_puts_the_seq_back() -> None:
    event = enrich({"workspace_id": "ws\u2028x", "payload": {"a": "\n"}}, 0, "t")
    workspace, tail = encode_for_script(event)
    assert workspace == "ws\u2028x"
    assert '{"seq":41' + tail == to_json(enrich(event, 41, "t"))
    assert encode_for_script(enrich({}, 0, "t"))[0] == ""


def test_a_message_is_parsed_by_lengths_not_by_separators() -> None:
    raw = b"e1 7\n2:a:{\"seq\":7}\n0:{\"seq\":8}\n5:x\ny:z{\"seq\":9}"
    assert parse_message(raw) == ("e1", 7, [(b"a:", b'{"seq":7}'), (b"", b'{"seq":8}'),
                                            (b"x\ny:z", b'{"seq":9}')])


def test_urls_lose_their_password_in_messages() -> None:
    assert safe_url("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert safe_url("redis://u:s3cret@h/1") == "redis://u:***@h/1"
    assert safe_url("redis://h:6379") == "redis://h:6379"


# ----------------------------------------------------------------- the real one
def test_one_seq_and_every_node_delivers_in_order(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> tuple[list[list[int]], list[int]]:
        async with nodes(redis_server.url, redis_prefix, 3) as engines:
            subs = [e.add_subscriber(None, "", (), 0) for e in engines]

            async def publish(engine: Any, n: int) -> list[int]:
                out = []
                for i in range(20):
                    got = await engine.publish_events([{"payload": {"n": n, "i": i}}] * 3)
                    out += [e["seq"] for e in got]
                return out

            acks = await asyncio.gather(*(publish(e, n) for n, e in enumerate(engines)))
            got = [seqs(await frames(e, s, 180)) for e, s in zip(engines, subs, strict=True)]
            return got, sorted(s for ack in acks for s in ack)

    got, acked = run(scenario())
    assert acked == list(range(1, 181))
    for each in got:
        assert each == list(range(1, 181))


def test_an_idempotency_key_publishes_once_on_every_node_and_expires_after_its_window(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    # fails without: the publish_once script (a retry published the events again)
    key = Idempotency("k" * 64, "fp")

    async def scenario() -> None:
        async with nodes(redis_server.url, redis_prefix, 2) as (a, b):
            sub = a.add_subscriber(None, "", (), 0)
            first = await a.publish_events([{"payload": 1}, {"payload": 2}], key)
            assert [e["seq"] for e in first] == [1, 2]
            tries = await asyncio.gather(a.publish_events([{"payload": 1}, {"payload": 2}], key),
                                         b.publish_events([{"payload": 1}, {"payload": 2}], key))
            assert tries == [first, first]
            with pytest.raises(IdempotencyConflict):
                await b.publish_events([{"payload": 3}], Idempotency(key.key, "other"))
            marker = await b.publish_events([{"payload": "marker"}])
            assert seqs(await frames(a, sub, 3)) == [1, 2, marker[0]["seq"]] == [1, 2, 3]
            ttl = redis.Redis.from_url(redis_server.url).pttl(
                RedisKeys(redis_prefix).idempotency(key.key))
            assert 0 < ttl <= a.log.idempotency_window * 1000

    run(scenario())


def test_a_publish_is_answered_once_stored_and_shown_by_its_node(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> None:
        async with nodes(redis_server.url, redis_prefix, 1) as (engine,):
            out = await engine.publish_events([{"area": "graph", "workspace_id": "w"}])
            assert out[0]["seq"] == 1 and out[0]["area"] == "graph"
            assert engine.recent(1)[0] == out[0]  # read-your-writes on the same node
            stored = redis.Redis.from_url(redis_server.url).xrange(RedisKeys(redis_prefix).log)
            assert stored[0][0] == b"1-0" and stored[0][1][b"w"] == b"w"

    run(scenario())


def test_a_jump_is_filled_from_the_stream_before_anything_past_it(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    """A message for seq 5 while 1-4 never arrived: 1-4 come from the stream, first."""

    async def scenario() -> list[int]:
        writer = make_engine(redis_server.url, redis_prefix)
        await writer.start()
        reader = make_engine(redis_server.url, redis_prefix)
        await reader.log.sync()  # loaded, but not following: pub/sub "loses" everything
        reader.attach_loop()
        sub = reader.add_subscriber(None, "", (), 0)
        for i in range(5):
            await writer.publish_events([{"payload": {"i": i}}])
        raw = (b"%s 5\n0:" % reader.log.epoch.encode()
               + writer.recent_json(1, None)[0])
        await reader.log._on_message(raw)
        got = seqs(await frames(reader, sub, 5))
        await writer.stop()
        await reader.stop()
        return got

    assert run(scenario()) == [1, 2, 3, 4, 5]


def test_duplicates_are_dropped(redis_server: RedisServer, redis_prefix: str) -> None:
    async def scenario() -> list[int]:
        async with nodes(redis_server.url, redis_prefix, 1) as (engine,):
            sub = engine.add_subscriber(None, "", (), 0)
            await engine.publish_events([{}, {}])
            raw = b"%s 1\n0:%s\n0:%s" % (engine.log.epoch.encode(), *engine.recent_json(2)[::-1])
            await engine.log._on_message(raw)
            await engine.log.fill(2)
            await engine.publish_events([{}])
            return seqs(await frames(engine, sub, 3))

    assert run(scenario()) == [1, 2, 3]


def test_what_the_stream_no_longer_holds_is_a_retention_gap(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> list[Any]:
        writer = make_engine(redis_server.url, redis_prefix, retention=10)
        await writer.start()
        reader = make_engine(redis_server.url, redis_prefix, retention=10, backlog=16)
        await reader.log.sync()
        reader.attach_loop()
        sub = reader.add_subscriber(None, "", (), 0)
        sub.live = True  # a live stream: the loss is not its own overflow
        redis.Redis.from_url(redis_server.url).xtrim(RedisKeys(redis_prefix).log, maxlen=0)
        for i in range(300):
            await writer.publish_events([{"payload": {"i": i}}])
        await reader.log.fill(300)
        got = await frames(reader, sub, 1, ("gap",))
        await writer.stop()
        await reader.stop()
        return got

    got = run(scenario())
    gap = got[0].json()
    assert got[0].event == "gap" and gap["from_seq"] == 1 and gap["reason"] == "retention"
    assert seqs(got) == list(range(gap["to_seq"] + 1, 301))


def test_a_dropped_subscription_is_refilled(redis_server: RedisServer, redis_prefix: str) -> None:
    """Redis drops the node's pub/sub connection mid-burst: nothing is lost or repeated."""

    async def scenario() -> list[int]:
        # checks far apart: only the refill on resubscribing can bring what was lost
        async with nodes(redis_server.url, redis_prefix, 2, check_interval=60) as (writer,
                                                                                  reader):
            sub = reader.add_subscriber(None, "", (), 0)
            admin = redis.Redis.from_url(redis_server.url)
            for i in range(40):
                await writer.publish_events([{"payload": {"i": i}}] * 5)
                if i in (10, 25):
                    assert admin.client_kill_filter(_type="pubsub") >= 1
            return seqs(await frames(reader, sub, 200))

    assert run(scenario()) == list(range(1, 201))


def test_a_lost_last_message_is_found_by_the_periodic_check(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> list[int]:
        async with nodes(redis_server.url, redis_prefix, 1) as (engine,):
            sub = engine.add_subscriber(None, "", (), 0)
            keys = RedisKeys(redis_prefix)
            admin = redis.Redis.from_url(redis_server.url)
            # an event stored the way the script stores it, but never published
            epoch = admin.hget(keys.meta, "epoch")
            admin.xadd(keys.log, {"w": "", "d": '{"seq":1,"payload":{}}'}, id="1-0")
            admin.hset(keys.meta, "seq", 1)
            assert epoch is not None
            return seqs(await frames(engine, sub, 1))

    assert run(scenario()) == [1]


# ----------------------------------------------------------------------- epochs
def test_a_flushed_redis_starts_a_new_epoch_above_every_seen_seq_and_resets_streams(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> tuple[list[Any], list[Any], str, str]:
        async with nodes(redis_server.url, redis_prefix, 2) as (a, b):
            sub = b.add_subscriber(None, "", (), 0)
            await a.publish_events([{}] * 7)
            await frames(b, sub, 7)
            old = a.log.epoch
            keys = RedisKeys(redis_prefix)
            redis.Redis.from_url(redis_server.url).delete(keys.meta, keys.log)
            out = await a.publish_events([{"payload": "after"}])
            got = await frames(b, sub, 1)
            return out, got, old, b.log.epoch

    out, got, old, new = run(scenario())
    assert new != old and out[0]["seq"] == 8  # above everything a client may hold
    reset = got[0]
    assert reset.event == "reset" and reset.id == "7"
    assert reset.json() == {"last_event_id": 7, "server_seq": 8, "reason": "epoch"}
    assert seqs(got) == [8]


def test_a_resume_from_an_older_epoch_gets_a_reset(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> list[Any]:
        async with nodes(redis_server.url, redis_prefix, 1) as (engine,):
            await engine.publish_events([{}] * 4)
            keys = RedisKeys(redis_prefix)
            redis.Redis.from_url(redis_server.url).delete(keys.meta, keys.log)
            await engine.publish_events([{}, {}])  # seqs 5, 6 in the new epoch
            sub = await engine.open_stream(None, user="", client_ids=(), last_event_id=3)
            fresh = await engine.open_stream(None, user="", client_ids=(), last_event_id=5)
            return [await frames(engine, sub, 2), await frames(engine, fresh, 1)]

    old, fresh = run(scenario())
    assert old[0].event == "reset" and old[0].json()["reason"] == "epoch"
    assert old[0].id == "4" and seqs(old) == [5, 6]
    assert seqs(fresh) == [6] and all(f.event == "message" for f in fresh)


def test_redis_going_back_below_what_a_node_saw_is_a_new_epoch(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    """An older snapshot restored under the same epoch: the seqs must not be reused."""

    async def scenario() -> tuple[int, str, str]:
        async with nodes(redis_server.url, redis_prefix, 1) as (engine,):
            await engine.publish_events([{}] * 5)
            old = engine.log.epoch
            redis.Redis.from_url(redis_server.url).hset(RedisKeys(redis_prefix).meta, "seq", 2)
            out = await engine.publish_events([{}])
            return out[0]["seq"], old, engine.log.epoch

    seq, old, new = run(scenario())
    assert seq == 6 and new != old


def test_a_node_that_lags_waits_for_an_id_it_has_not_seen(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def scenario() -> list[Any]:
        async with nodes(redis_server.url, redis_prefix, 1) as (engine,):
            await engine.publish_events([{}] * 3)
            ahead = await engine.open_stream(None, user="", client_ids=(), last_event_id=99)
            reader = make_engine(redis_server.url, redis_prefix)
            reader.attach_loop()
            lagging = await reader.open_stream(None, user="", client_ids=(), last_event_id=2)
            assert reader.visible_seq == 0 and lagging.cursor == 2
            await reader.log.sync()
            got = await frames(reader, lagging, 1)
            await reader.stop()
            return [await frames(engine, ahead, 3), got]

    ahead, lagging = run(scenario())
    assert ahead[0].event == "reset" and ahead[0].json()["reason"] == "ahead"
    assert seqs(lagging) == [3]


@pytest.mark.parametrize("count", [1, 3])
def test_stats_name_the_cluster(redis_server: RedisServer, redis_prefix: str, count: int) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with nodes(redis_server.url, redis_prefix, count) as engines:
            return [await e.current_stats() for e in engines]

    stats = run(scenario())
    assert {(s["engine"], s["server_id"], s["epoch"]) for s in stats} == {
        ("redis", stats[0]["server_id"], stats[0]["epoch"])
    }
    assert stats[0]["journal"] == "ok" and len(stats[0]["server_id"]) == 32
