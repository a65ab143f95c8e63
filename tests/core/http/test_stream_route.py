"""GET /realtime/stream: over a real server, and the stalled-peer watchdog driven
directly (a fake ASGI peer whose writes block until the test says)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import httpx
import pytest

from lattice_rt_core.auth.callers import Authenticator
from lattice_rt_core.engines.local.bus import RealtimeBus
from lattice_rt_core.engines.local.engine import LocalEngine
from lattice_rt_core.http.stream import StreamRoute
from lattice_rt_core.protocol.limits import ApiLimits
from lattice_rt_core.server import RealtimeServer
from tests.core.http_helpers import bearer, events, read_stream

HANG = 10.0  # bound on a wait that should end "soon": a hang fails instead of blocking


# --------------------------------------------------------- over a real server
def test_stream_headers_ids_and_tail(server: RealtimeServer, owner: httpx.Client) -> None:
    events(owner, *[{"payload": {"i": i}} for i in range(15)])
    with owner.stream("GET", "/realtime/stream") as r:
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        first = next(r.iter_bytes())
    assert first.startswith(b"retry: 3000\n\n")
    got = read_stream(server, bearer(server.owner_token), 10)
    assert [int(i) for _, i, _ in got] == list(range(6, 16))


def test_stream_resume_by_header_and_query(server: RealtimeServer, owner: httpx.Client) -> None:
    events(owner, *[{"payload": {"i": i}} for i in range(30)])
    by_header = read_stream(server, {**bearer(server.owner_token), "Last-Event-ID": "3"}, 27)
    assert [int(i) for _, i, _ in by_header] == list(range(4, 31))
    by_query = read_stream(server, bearer(server.owner_token), 2, params={"last_event_id": 28})
    assert [int(i) for _, i, _ in by_query] == [29, 30]


def test_stream_live_event(server: RealtimeServer, owner: httpx.Client) -> None:
    ready = threading.Event()
    result: list[list[tuple[str, str, str]]] = []
    t = threading.Thread(
        target=lambda: result.append(
            read_stream(server, bearer(server.owner_token), 1, ready=ready)
        )
    )
    t.start()
    assert ready.wait(10)
    events(owner, {"area": "plugins", "event_type": "plugin_enabled"})
    t.join(10)
    assert '"plugin_enabled"' in result[0][0][2]


@pytest.mark.parametrize("value", ["abc", "-4"])
def test_stream_bad_last_event_id(owner: httpx.Client, value: str) -> None:
    r = owner.get("/realtime/stream", headers={"Last-Event-ID": value})
    assert r.status_code == 400 and "Last-Event-ID" in r.json()["error"]


# ---------------------------------------------------------- the watchdog
class StalledPeer:
    """An ASGI peer that takes the response head and then stops reading.

    Every body write blocks until :meth:`unblock` (what aborting the
    connection does to a real transport); ``receive`` reports the disconnect
    once the connection is gone.
    """

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.blocked = asyncio.Event()
        self.gone = asyncio.Event()
        self.aborted: list[Any] = []
        self.asgi_scope: dict[str, Any] = {
            "type": "http",
            "method": "GET",
            "path": "/realtime/stream",
            "query_string": b"",
            "headers": [(b"authorization", b"Bearer secret")],
            "client": ("192.0.2.7", 40000),
        }

    def unblock(self) -> None:
        self.gone.set()

    async def receive(self) -> Any:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Any) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body":
            self.blocked.set()
            await self.gone.wait()

    def abort(self, asgi_scope: Any, *, works: bool = True) -> bool:
        self.aborted.append(asgi_scope)
        if works:
            self.unblock()
        return True


def run_stalled(abort: str) -> tuple[StalledPeer, StreamRoute, asyncio.Task[None]]:
    """Serve one stream to a peer that stops reading; returns once the route ended.

    ``abort``: "works" (aborting the connection wakes the write), "fails"
    (the connection is aborted but the write stays blocked) or "none" (no
    way to abort: the watchdog can only cancel).
    """
    peer = StalledPeer()
    hooks = {
        "works": lambda s: peer.abort(s),
        "fails": lambda s: peer.abort(s, works=False),
        "none": None,
    }

    async def scenario() -> tuple[StreamRoute, asyncio.Task[None]]:
        bus = RealtimeBus()
        auth = Authenticator(owner_token="secret", owner_user="root", accounts=None)
        route = StreamRoute(LocalEngine(bus), auth, ApiLimits(), write_timeout=0.05,
                            abort_connection=hooks[abort])
        task = asyncio.create_task(route(peer.asgi_scope, peer.receive, peer.send))
        await asyncio.wait_for(peer.blocked.wait(), HANG)
        watchdog = asyncio.create_task(route.watchdog())
        try:
            await asyncio.wait_for(asyncio.shield(task), HANG)
        finally:
            watchdog.cancel()
        assert bus.subscriber_count == 0
        return route, task

    route, task = asyncio.run(scenario())
    return peer, route, task


@pytest.mark.parametrize("abort", ["works", "fails", "none"])
def test_a_peer_that_stops_reading_is_dropped_and_the_task_is_not_left_cancelled(
    abort: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "lattice_rt_core.http.stream"):
        peer, route, task = run_stalled(abort)
    assert peer.messages[0]["status"] == 200
    assert task.done() and not task.cancelled() and task.exception() is None
    # the watchdog's cancel (if it needed one) was taken back: nothing after
    # this stream in the same task would see it as being cancelled
    assert task.cancelling() == 0
    assert not route.streams and not route.outboxes
    assert "closing a stream that read nothing for 0.05 s (peer 192.0.2.7:40000)" in caplog.text
    if abort == "none":
        assert peer.aborted == []
    else:  # aborted by the watchdog, and again by the route on its way out
        assert peer.aborted[0] is peer.asgi_scope


def test_a_cancel_that_is_not_the_watchdogs_goes_through() -> None:
    peer = StalledPeer()

    async def scenario() -> StreamRoute:
        bus = RealtimeBus()
        auth = Authenticator(owner_token="secret", owner_user="root", accounts=None)
        route = StreamRoute(LocalEngine(bus), auth, ApiLimits(), write_timeout=60.0,
                            abort_connection=peer.abort)
        task = asyncio.create_task(route(peer.asgi_scope, peer.receive, peer.send))
        await asyncio.wait_for(peer.blocked.wait(), HANG)
        task.cancel()  # e.g. the server shutting down
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, HANG)
        assert bus.subscriber_count == 0
        return route

    route = asyncio.run(scenario())
    assert not route.streams and not route.outboxes and peer.aborted == []
