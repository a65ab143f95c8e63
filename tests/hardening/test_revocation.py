"""Revocation reaches open streams (issue 20, item 2).

After ``lattice-rt user remove``, ``user renew`` or ``user revoke -w`` an
already open stream of the old token ends (the client reconnects, and then
gets a 401 or its new scope), on the server that made the change and on every
other node of a cluster: real ``lattice-rt serve`` processes, the change made
by the real CLI, streams read by httpx-sse. Each test waits for the stream to
end (generous deadline); on the code before this fix it kept going.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from lattice_rt_core.engines.redis.engine import read_owner_token as cluster_owner_token
from lattice_rt_core.engines.redis.store import RedisKeys
from lattice_rt_core.paths import read_owner_token
from tests.hardening.helpers import WAIT, ServeProcess, bearer
from tests.redis_server import RedisServer

ENDS = 30.0  # generous: a revoked stream ends within about a second


class OpenStream:
    """``GET /realtime/stream`` on a thread: its frames, and whether (how) it ended."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.frames: queue.Queue[tuple[str, str]] = queue.Queue()
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.status: int | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self.opened.wait(WAIT), "the stream did not open"
        assert self.status == 200, self.status

    def _read(self) -> None:
        try:
            # a read timeout would end the loop with an error, never as a clean end
            with httpx.Client(timeout=httpx.Timeout(WAIT, read=ENDS * 2)) as client:
                with connect_sse(client, "GET", self.url + "/realtime/stream",
                                 headers=self.headers) as source:
                    self.status = source.response.status_code
                    self.opened.set()
                    for sse in source.iter_sse():
                        if sse.data:
                            self.frames.put((sse.event, sse.data))
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc
        finally:
            self.opened.set()
            self.ended.set()

    def wait_for_event(self, event_type: str) -> dict[str, object]:
        while True:
            kind, data = self.frames.get(timeout=WAIT)
            event = json.loads(data)
            if kind == "message" and event.get("event_type") == event_type:
                return dict(event)

    def assert_ends(self) -> None:
        assert self.ended.wait(ENDS), "the stream of the revoked token is still open"
        assert self.error is None, repr(self.error)  # ended by the server, cleanly
        self._thread.join(WAIT)


def cli(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if token is not None:
        env["LATTICE_RT_TOKEN"] = token
    done = subprocess.run([sys.executable, "-m", "lattice_rt_core.cli", *args],
                          capture_output=True, text=True, env=env, timeout=WAIT * 2,
                          check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def publish(url: str, owner: str, workspace: str, event_type: str) -> None:
    answer = httpx.post(url + "/realtime/events", headers=bearer(owner), timeout=WAIT,
                        json={"area": "tests", "event_type": event_type, "payload": {},
                              "workspace_id": workspace})
    assert answer.status_code == 200, answer.text


#: the change, as CLI arguments after ``user``, and what the old token gets afterwards
CHANGES = {
    "remove": (["remove", "ann"], 401),
    "renew": (["renew", "ann"], 401),
    "revoke": (["revoke", "ann", "-w", "ws_b"], 200),
}


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    data = tmp_path / "data"
    serve = ServeProcess("--port", "0", "--data-dir", str(data), "--heartbeat", "1")
    try:
        url = serve.url()
        owner = read_owner_token(data)
        assert owner is not None
        yield url, owner, data
    finally:
        _stop(serve)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_an_open_stream_ends_when_its_token_is_revoked_by_the_local_cli(
    local_server: tuple[str, str, Path], change: str
) -> None:
    url, owner, data = local_server
    token = cli("user", "add", "ann", "-w", "ws_a", "-w", "ws_b", "--data-dir",
                str(data)).stdout.strip()
    bystander = cli("user", "add", "bob", "-w", "ws_b", "--data-dir", str(data)).stdout.strip()
    ann, bob = OpenStream(url, bearer(token)), OpenStream(url, bearer(bystander))
    publish(url, owner, "ws_b", "before")
    ann.wait_for_event("before")  # both streams are live
    bob.wait_for_event("before")
    args, status_after = CHANGES[change]
    cli("user", *args, "--data-dir", str(data))  # the database, from another process
    ann.assert_ends()
    assert not bob.ended.is_set()  # another user's stream goes on
    publish(url, owner, "ws_b", "after")
    assert bob.wait_for_event("after")["event_type"] == "after"
    again = httpx.get(url + "/realtime/feed", headers=bearer(token), timeout=WAIT)
    assert again.status_code == status_after
    if status_after == 200:  # what the narrowed token sees now: not ws_b
        assert all(e.get("workspace_id") != "ws_b" for e in again.json()["events"])


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()  # serve has no key prefix: one each
    try:
        yield server
    finally:
        server.stop()


def _stop(serve: ServeProcess) -> None:
    """SIGTERM (a supervisor stops its workers), then whatever is left."""
    if serve.popen.poll() is None:
        serve.popen.terminate()
        serve.finish()
    serve.close()


def _node(redis: RedisServer, data: Path, *extra: str) -> ServeProcess:
    return ServeProcess("--port", "0", "--data-dir", str(data), "--heartbeat", "1",
                        "--redis", redis.url, *extra)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_through_one_node_ends_the_stream_on_another(
    redis: RedisServer, tmp_path: Path, change: str
) -> None:
    nodes = [_node(redis, tmp_path / "a"), _node(redis, tmp_path / "b")]
    try:
        a, b = (node.url() for node in nodes)
        owner = cluster_owner_token(redis.url, RedisKeys())
        assert owner is not None
        token = cli("user", "add", "ann", "-w", "ws_a", "-w", "ws_b", "--url", a,
                    token=owner).stdout.strip()
        on_b, on_a = OpenStream(b, bearer(token)), OpenStream(a, bearer(token))
        publish(a, owner, "ws_b", "before")
        on_b.wait_for_event("before")
        on_a.wait_for_event("before")
        args, status_after = CHANGES[change]
        cli("user", *args, "--url", a, token=owner)  # through node a's admin route
        on_b.assert_ends()
        on_a.assert_ends()
        assert httpx.get(b + "/realtime/feed", headers=bearer(token),
                         timeout=WAIT).status_code == status_after
    finally:
        for node in nodes:
            _stop(node)


def test_with_several_workers_every_stream_of_a_removed_user_ends(
    redis: RedisServer, tmp_path: Path
) -> None:
    serve = _node(redis, tmp_path / "w", "--workers", "2")
    try:
        url = serve.url()
        owner = cluster_owner_token(redis.url, RedisKeys())
        assert owner is not None
        token = cli("user", "add", "ann", "-w", "ws_a", "--url", url, token=owner).stdout.strip()
        # streams spread over the workers by the kernel (SO_REUSEPORT): several of them
        streams = [OpenStream(url, bearer(token)) for _ in range(6)]
        publish(url, owner, "ws_a", "before")
        for stream in streams:
            stream.wait_for_event("before")
        cli("user", "remove", "ann", "--url", url, token=owner)
        for stream in streams:
            stream.assert_ends()
    finally:
        _stop(serve)
