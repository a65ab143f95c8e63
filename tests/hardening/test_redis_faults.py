"""A Redis node when Redis goes away, comes back, or comes back empty.

Redis stopped: streams stay open with heartbeats, writes answer 503 (never a
500), health says degraded. Redis back: the node resubscribes and fills what
it missed by itself, and nothing acknowledged is lost (the AOF is on, fsync
always). Redis flushed: open streams get ``event: reset``.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from httpx_sse import connect_sse

from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.hardening.helpers import WAIT, bearer, wait_for
from tests.redis_server import RedisServer, unique_prefix


@pytest.fixture
def persistent_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", persistent=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def node(tmp_path: Path, persistent_redis: RedisServer) -> Iterator[RealtimeServer]:
    srv = RealtimeServer(ServerConfig(
        port=0, data_dir=tmp_path / "data", owner_user="owner", heartbeat=0.3,
        redis_url=persistent_redis.url, redis_prefix=unique_prefix(),
        redis_check_interval=0.2,
    ))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def sse_frames(srv: RealtimeServer, **headers: str) -> tuple[queue.Queue[tuple[str, str, str]],
                                                             threading.Event]:
    """Frames of a stream read on a thread: (event, id, data), and comments as ("comment")."""
    out: queue.Queue[tuple[str, str, str]] = queue.Queue()
    done = threading.Event()

    def run() -> None:
        with httpx.Client(base_url=srv.url, headers={**bearer(srv.owner_token), **headers},
                          timeout=WAIT) as client:
            with connect_sse(client, "GET", "/realtime/stream") as source:
                event, ident, data = "message", "", []
                for line in source.response.iter_lines():
                    if done.is_set():
                        return
                    if line.startswith(":"):
                        out.put(("comment", "", line))
                    elif line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("id: "):
                        ident = line[4:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
                    elif line == "" and data:
                        out.put((event, ident, "\n".join(data)))
                        event, ident, data = "message", "", []

    threading.Thread(target=run, daemon=True).start()
    return out, done


def take(frames: queue.Queue[tuple[str, str, str]], count: int,
         kinds: tuple[str, ...] = ("message",)) -> list[tuple[str, str, str]]:
    got: list[tuple[str, str, str]] = []
    while sum(1 for f in got if f[0] in kinds) < count:
        got.append(frames.get(timeout=WAIT))
    return got


def seqs(got: list[tuple[str, str, str]]) -> list[int]:
    return [json.loads(data)["seq"] for event, _, data in got if event == "message"]


def test_redis_stopped_then_back_loses_nothing_acknowledged(
    node: RealtimeServer, persistent_redis: RedisServer
) -> None:
    owner = httpx.Client(base_url=node.url, headers=bearer(node.owner_token), timeout=WAIT)
    frames, done = sse_frames(node, **{"Last-Event-ID": "0"})
    try:
        first = owner.post("/realtime/events", json=[{"payload": {"i": i}} for i in range(5)])
        assert first.status_code == 200
        assert seqs(take(frames, 5)) == [1, 2, 3, 4, 5]

        persistent_redis.stop()
        refused = owner.post("/realtime/events", json={"payload": "while away"})
        assert refused.status_code == 503 and "Redis" in refused.json()["error"]
        assert owner.post("/realtime/presence/join", json={}).status_code == 503
        wait_for(lambda: owner.get("/realtime/health").json()["status"] == "degraded",
                 "health to say degraded")
        health = owner.get("/realtime/health").json()
        assert health["stats"]["journal"] == "degraded"
        assert owner.get("/realtime/feed").status_code == 200  # what this node holds
        beats = take(frames, 2, ("comment",))  # the stream stays open, with heartbeats
        assert [f for f in beats if f[0] == "message"] == []

        persistent_redis.start()
        wait_for(lambda: owner.get("/realtime/health").json()["status"] == "ok",
                 "the node to reconnect by itself")
        again = owner.post("/realtime/events", json={"payload": "back"})
        assert again.status_code == 200 and again.json()["events"][0]["seq"] == 6
        assert seqs(take(frames, 1)) == [6]
        feed = owner.get("/realtime/feed").json()["events"]
        assert [e["seq"] for e in feed] == [6, 5, 4, 3, 2, 1]
    finally:
        done.set()
        owner.close()


def test_events_published_while_a_node_was_cut_off_are_filled_when_it_is_back(
    node: RealtimeServer, persistent_redis: RedisServer
) -> None:
    """Another node publishes while this one cannot subscribe: filled on reconnect."""
    owner = httpx.Client(base_url=node.url, headers=bearer(node.owner_token), timeout=WAIT)
    frames, done = sse_frames(node, **{"Last-Event-ID": "0"})
    admin = redis.Redis.from_url(persistent_redis.url)
    try:
        assert owner.post("/realtime/events", json={}).status_code == 200
        assert seqs(take(frames, 1)) == [1]
        # the node's subscriber is refused for a while: its pub/sub loses what follows
        admin.config_set("client-output-buffer-limit", "pubsub 1 1 0")
        for i in range(20):
            assert owner.post("/realtime/events", json=[{"payload": {"i": i}}] * 10
                              ).status_code == 200
        admin.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")
        assert seqs(take(frames, 200)) == list(range(2, 202))
    finally:
        done.set()
        owner.close()


def test_a_flushed_redis_resets_open_streams(
    node: RealtimeServer, persistent_redis: RedisServer
) -> None:
    owner = httpx.Client(base_url=node.url, headers=bearer(node.owner_token), timeout=WAIT)
    frames, done = sse_frames(node, **{"Last-Event-ID": "0"})
    try:
        epoch = owner.get("/realtime/health").json()["stats"]["epoch"]
        assert owner.post("/realtime/events", json=[{}, {}, {}]).status_code == 200
        assert seqs(take(frames, 3)) == [1, 2, 3]
        redis.Redis.from_url(persistent_redis.url).flushall()
        got = take(frames, 1, ("reset",))
        reset = [f for f in got if f[0] == "reset"][0]
        assert reset[1] == "3" and json.loads(reset[2])["reason"] == "epoch"
        stats = owner.get("/realtime/health").json()["stats"]
        assert stats["epoch"] != epoch
        out = owner.post("/realtime/events", json={})
        assert out.status_code == 200 and out.json()["events"][0]["seq"] == 4
        assert seqs(take(frames, 1)) == [4]
        # the owner token survives: the node wrote its own back into the new epoch
        assert owner.get("/realtime/feed").status_code == 200
    finally:
        done.set()
        owner.close()
