"""Slow, dead and flapping peers.

* A client that stops reading: its stream is closed after the write timeout,
  the connection aborted with what was buffered for it (bounded by the
  transport's high-water mark plus one chunk, itself bounded in bytes), and a
  healthy subscriber meanwhile receives every event in order.
* A peer whose network vanished: the kernel drops it (TCP_USER_TIMEOUT of two
  heartbeats, checked in a private network namespace whose loopback goes down).
* A client process that is SIGSTOPped: TCP cannot tell (its kernel keeps
  ACKing), so presence does not trust an open stream alone: it expires within
  ``presence_hold + presence_ttl`` of the client's last request.
* Flapping clients leave no descriptors, tasks, subscribers, stream slots or
  presence entries behind.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from lattice_rt_core.engines.fanout import MAX_CHUNK_BYTES
from lattice_rt_core.engines.local.bus import RealtimeBus
from lattice_rt_core.protocol.limits import ApiLimits
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.hardening.helpers import (
    WAIT,
    add_users,
    bearer,
    open_raw_stream,
    request_bytes,
    sse_reader,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
HIGH_WATER = 64 * 1024  # the transport's default write-buffer high-water mark


def connections(srv: RealtimeServer) -> list[Any]:
    """uvicorn's open connections (protocol objects); observability only."""
    server = srv._server  # noqa: SLF001 - the test looks inside on purpose
    assert server is not None
    return list(server.server_state.connections)


def on_loop(srv: RealtimeServer, call: Callable[[], T]) -> T:
    """Run ``call`` on the server's event loop thread (where the bus's subscribers live)."""
    server = srv._server  # noqa: SLF001
    assert server is not None and server.loop is not None

    async def run() -> T:
        return call()

    return asyncio.run_coroutine_threadsafe(run(), server.loop).result(WAIT)


def server_tasks(srv: RealtimeServer) -> int:
    return on_loop(srv, lambda: len(asyncio.all_tasks()))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def api_log() -> Iterator[Records]:
    logger = logging.getLogger("lattice_rt_core.http.stream")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# ---------------------------------------------------------- stalled readers
def _flood_with_a_stalled_reader(
    srv: RealtimeServer, events: int, size: int, stalled: bool
) -> tuple[list[int], int, socket.socket | None, float]:
    """Publish ``events`` while one healthy subscriber reads (and maybe one stalls).

    Returns the seqs the healthy one got, the largest write buffer seen on the
    stalled connection, the stalled socket, and the seconds from the first
    publish to the healthy reader's last event.
    """
    assert srv.bus is not None
    bus = srv.bus
    start = bus.last_seq
    got: list[int] = []
    gaps: list[str] = []
    reading = threading.Event()
    clock: dict[str, float] = {}

    def healthy() -> None:
        with sse_reader(srv, bearer(srv.owner_token), {"last_event_id": start}) as frames:
            reading.set()
            for event, ident, _ in frames:
                if event != "message":
                    gaps.append(event)
                    continue
                got.append(int(ident))
                if got[-1] >= start + events:
                    clock["done"] = time.perf_counter()
                    return

    reader = threading.Thread(target=healthy)
    reader.start()
    assert reading.wait(WAIT)
    raw = None
    stalled_conn = None
    if stalled:
        # a tiny receive window, and never a recv(): the server's writes back up
        raw = open_raw_stream(srv, srv.owner_token, rcvbuf=4096)
        port = raw.getsockname()[1]
        stalled_conn = wait_for(
            lambda: next((c for c in connections(srv) if c.client and c.client[1] == port), None),
            "the stalled connection to be accepted",
        )
        wait_for(lambda: bus.subscriber_count == 2, "both subscribers")
    peak = 0
    payload = "x" * size

    def flood() -> None:
        for i in range(events):
            bus.publish({"area": "flood", "payload": {"i": i, "pad": payload}})

    publisher = threading.Thread(target=flood)
    clock["start"] = time.perf_counter()
    publisher.start()
    if stalled_conn is not None:
        transport = stalled_conn.transport

        def sample() -> bool:  # the buffer peaks, and stays there, while it is stuck
            nonlocal peak
            peak = max(peak, transport.get_write_buffer_size())
            return stalled_conn not in connections(srv)

        try:
            wait_for(sample, "the server to give up on the stalled stream", step=0.002)
        except AssertionError:
            raw.close()  # type: ignore[union-attr]
            raise
    publisher.join(WAIT)
    reader.join(WAIT)
    assert not reader.is_alive(), f"healthy reader stuck at {got[-1:]} of {start + events}"
    assert gaps == []
    wait_for(lambda: bus.subscriber_count == 0, "every stream to be closed")
    return got, peak, raw, clock["done"] - clock["start"]


def test_a_reader_that_stops_is_cut_off_and_does_not_hold_back_others(
    data_dir: Path, api_log: Records
) -> None:
    # fails without: the write watchdog started in create_app's lifespan (the stalled
    # stream stays; no "closing a stream" record), or the max_bytes bound in
    # RealtimeBus.collect (one chunk of 1,024 frames = 2 MiB lands in the buffer)
    srv = RealtimeServer(ServerConfig(
        port=0, data_dir=data_dir, heartbeat=5.0, write_timeout=0.5, backlog=16384,
    ))  # heartbeat 5 s: the kernel's own user timeout (10 s) stays out of the way
    srv.start()
    try:
        events = 3000
        got, peak, raw, _ = _flood_with_a_stalled_reader(srv, events, 2000, stalled=True)
        first = got[0]
        assert got == list(range(first, first + events))  # everything, in order, no gap
        assert any("closing a stream that read nothing for 0.5 s" in m for m in api_log.messages)
        frame = 2000 + 200
        assert HIGH_WATER <= peak <= HIGH_WATER + MAX_CHUNK_BYTES + frame, peak
        assert raw is not None
        assert _read_to_the_end(raw) in ("reset", "eof")  # the server let go of it
        raw.close()
        wait_for(lambda: not connections(srv), "no connection left")
        metrics = httpx.get(srv.url + "/metrics", headers=bearer(srv.owner_token)).text
        assert "\nlattice_rt_slow_peers_cut_total 1.0\n" in metrics  # counted, once
    finally:
        srv.stop()


def _read_to_the_end(sock: socket.socket) -> str:
    sock.settimeout(WAIT)
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        return "reset"
    return "eof"


@pytest.mark.slow
def test_delivery_to_a_healthy_reader_with_and_without_a_stalled_one(data_dir: Path) -> None:
    # the figure the issue asks for; printed (-s), not asserted: a timing on a
    # shared 2-core machine is not a test
    results: dict[str, list[float]] = {}
    for run, stalled in enumerate((False, True) * 3):
        srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir / str(run),
                                          heartbeat=5.0, write_timeout=0.5, backlog=16384))
        srv.start()
        try:
            got, _, raw, elapsed = _flood_with_a_stalled_reader(srv, 5000, 2000, stalled)
            assert got == list(range(got[0], got[0] + 5000))
            if raw is not None:
                raw.close()
        finally:
            srv.stop()
        results.setdefault("stalled" if stalled else "alone", []).append(round(elapsed, 3))
    print(f"\nhealthy reader, 5000 x 2 KB events, first publish to last frame: {results} s")


# ---------------------------------------------------------- dead networks
def test_accepted_connections_carry_keepalive_and_a_user_timeout(data_dir: Path) -> None:
    # fails without: `_detect_dead_peers(sock, heartbeat)` in listen.bind_socket
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, heartbeat=4.0))
    srv.start()
    try:
        raw = open_raw_stream(srv, srv.owner_token)
        conn = wait_for(lambda: connections(srv), "the connection")[0]
        sock = conn.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        if sys.platform.startswith("linux"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 8000
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 4
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
        raw.close()
    finally:
        srv.stop()


def _can_unshare_net() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    if shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare_net(), reason="needs `unshare --net` (root) and `ip`")
def test_a_vanished_network_drops_the_stream_within_two_heartbeats(tmp_path: Path) -> None:
    # fails without: the TCP_USER_TIMEOUT line in listen._detect_dead_peers
    # (the kernel would retransmit for ~15 minutes; the child gives up after 20
    # heartbeats and says dropped: false)
    heartbeat = 0.5
    out = subprocess.run(
        ["unshare", "--net", sys.executable, "-m", "tests.hardening.peer_scripts", "vanish",
         str(tmp_path / "data"), str(heartbeat)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dropped"] is True, result
    # the promise (SECURITY.md): the first unacknowledged heartbeat is at most
    # one interval away, then two intervals of TCP_USER_TIMEOUT
    print(f"\nvanished network detected after {result['seconds']} s "
          f"(heartbeat {heartbeat} s)")


# ---------------------------------------------------------- stopped process
def test_an_open_stream_alone_holds_presence_only_for_a_while() -> None:
    # fails without: the stream_hold test in PresenceRegistry._refresh
    now = [0.0]

    async def scenario() -> tuple[float | None, bool, int]:
        bus = RealtimeBus(presence_ttl=45, presence_hold=45, clock=lambda: now[0])
        bus.join(user="ann", client_id="stopped")
        bus.join(user="ann", client_id="alive")
        sub = bus.subscribe(user="ann", client_ids=["stopped", "alive"])
        gone_at = None
        for t in range(5, 400, 5):  # the server sweeps every 5 s
            now[0] = t
            if t % 15 == 0:
                bus.join(user="ann", client_id="alive")  # the app re-joins every TTL/3
            bus.sweep()
            if gone_at is None and bus.presence_entry("stopped") is None:
                gone_at = t
        alive = bus.presence_entry("alive") is not None
        open_streams = bus.subscriber_count
        bus.unsubscribe(sub)
        return gone_at, alive, open_streams

    gone_at, alive, open_streams = asyncio.run(scenario())
    assert gone_at is not None and 45 + 45 < gone_at <= 45 + 45 + 5  # hold + TTL + one sweep
    assert alive and open_streams == 1  # the stream stayed open all along


def test_reconnecting_is_a_proof_of_life() -> None:
    now = [0.0]

    async def scenario(reconnect_every: int) -> bool:
        bus = RealtimeBus(presence_ttl=45, presence_hold=45, clock=lambda: now[0])
        bus.join(user="ann", client_id="c")
        sub = bus.subscribe(user="ann", client_ids=["c"])
        for t in range(5, 400, 5):
            now[0] = t
            if t % reconnect_every == 0:  # the stream drops and the client reconnects
                bus.unsubscribe(sub)
                sub = bus.subscribe(user="ann", client_ids=["c"])
            bus.unsubscribe(bus.subscribe(user="mallory", client_ids=["c"]))  # not a proof
            bus.sweep()
        return bus.presence_entry("c") is not None

    now[0] = 0.0
    assert asyncio.run(scenario(reconnect_every=60))
    now[0] = 0.0
    assert not asyncio.run(scenario(reconnect_every=1000))  # never: expires


def test_a_sigstopped_client_process_loses_its_presence(data_dir: Path) -> None:
    # fails without: the stream_hold test in PresenceRegistry._refresh (the
    # stopped process's open stream would keep its entry forever)
    # Presence runs on a clock the test moves (ServerConfig.clock): a starved
    # machine cannot expire the entry early, and each step is one re-join
    # interval (TTL/3) followed by a sweep. The child is a real process with a
    # real stream; it re-joins when told, as the app's timer would.
    ttl = 3.0
    step = ttl / 3
    now = [0.0]
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, heartbeat=0.5,
                                      presence_ttl=ttl, clock=lambda: now[0]))
    srv.start()
    assert srv.bus is not None and srv.owner_token
    bus = srv.bus
    hold = bus.presence_hold  # one TTL
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.hardening.peer_scripts", "present", srv.url,
         srv.owner_token, "stopme"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )

    def rejoin() -> None:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("join\n")
        child.stdin.flush()
        line = child.stdout.readline()
        died = child.stderr.read() if child.stderr and not line else ""
        assert line.startswith("joined"), (line, died)

    def advance() -> None:
        now[0] += step
        on_loop(srv, bus.sweep)

    try:
        rejoin()
        wait_for(lambda: bus.subscriber_count == 1, "the child's stream")
        # alive and re-joining: present for longer than hold + TTL + a sweep
        for _ in range(math.ceil((hold + ttl) / step) + 3):
            advance()
            assert bus.presence_entry("stopme") is not None
            rejoin()
        last_join = now[0]
        os.kill(child.pid, signal.SIGSTOP)
        # stopped: its open stream holds the entry for `hold`, then the TTL runs out
        while now[0] - last_join < hold + ttl:
            advance()
            assert bus.presence_entry("stopme") is not None, now[0] - last_join
        advance()
        assert bus.presence_entry("stopme") is None
        assert bus.subscriber_count == 1  # its TCP connection is still open: TCP cannot tell
        feed = httpx.get(srv.url + "/realtime/feed", headers=bearer(srv.owner_token)).json()
        leave = next(e for e in feed["events"] if e["event_type"] == "leave")
        assert leave["payload"]["client_id"] == "stopme"
        assert leave["payload"]["reason"] == "timeout"
    finally:
        os.kill(child.pid, signal.SIGCONT)
        child.terminate()
        child.communicate(timeout=WAIT)
        srv.stop()


# ---------------------------------------------------------------- flapping
def _rst(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _flap(srv: RealtimeServer, token: str, i: int) -> None:
    """One short-lived client, in one of five ways of going away."""
    host = f"127.0.0.1:{srv.port}"
    kind = i % 5
    if kind == 4:  # a real client: httpx, reads the head and the first chunk
        with httpx.Client(base_url=srv.url, headers=bearer(token), timeout=WAIT) as client:
            with client.stream("GET", "/realtime/stream",
                               params={"client_id": f"c{i % 4}"}) as response:
                assert response.status_code in (200, 429)  # 429: earlier flaps not yet reaped
                next(response.iter_bytes(), None)
        return
    sock = socket.create_connection(("127.0.0.1", srv.port))
    request = request_bytes("GET", f"/realtime/stream?client_id=c{i % 4}", host, bearer(token))
    if kind == 0:  # reads the first bytes, leaves politely
        sock.sendall(request)
        sock.recv(4096)
        sock.close()
    elif kind == 1:  # asks, then resets before reading anything
        sock.sendall(request)
        _rst(sock)
    elif kind == 2:  # half a request, then gone
        sock.sendall(request[: len(request) // 2])
        sock.close()
    else:  # reads, then resets
        sock.sendall(request)
        sock.recv(4096)
        _rst(sock)


def _flapping(data_dir: Path, cycles: int) -> None:
    srv = RealtimeServer(ServerConfig(
        port=0, data_dir=data_dir, heartbeat=1.0, presence_ttl=0.6,
        limits=ApiLimits(max_streams_per_user=3),
    ))
    srv.start()
    assert srv.bus is not None
    bus = srv.bus
    try:
        token = add_users(data_dir, {"ann": ["w"]})["ann"]
        for c in range(4):
            r = httpx.post(srv.url + "/realtime/presence/join", headers=bearer(token),
                           json={"client_id": f"c{c}", "workspace_id": "w"})
            assert r.status_code == 200
        for i in range(5):  # warm up every path once
            _flap(srv, token, i)
        wait_for(lambda: bus.subscriber_count == 0 and not connections(srv), "a quiet server")
        fds, tasks = open_fds(), server_tasks(srv)

        for i in range(cycles):
            _flap(srv, token, i)

        wait_for(lambda: bus.subscriber_count == 0, "every subscriber to be gone")
        wait_for(lambda: not connections(srv), "every connection to be gone")
        wait_for(lambda: bus.presence() == [], "the flappers' presence to expire")
        wait_for(lambda: open_fds() <= fds, f"descriptors back to {fds}")
        wait_for(lambda: server_tasks(srv) <= tasks, f"server tasks back to {tasks}")
        # the per-user stream count went back to zero: every slot is free again
        h = bearer(token)
        with sse_reader(srv, h), sse_reader(srv, h), sse_reader(srv, h):
            assert bus.subscriber_count == 3
    finally:
        srv.stop()


def test_flapping_clients_leave_nothing_behind(data_dir: Path) -> None:
    # fails without: `self.streams[principal.user] -= 1` in StreamRoute's finally
    # (the slots stay taken), or `watcher.add_done_callback(lambda _: sub.close())`
    # (a gone peer's stream keeps "sending" heartbeats into nothing, forever)
    _flapping(data_dir, 300)


@pytest.mark.slow
def test_flapping_clients_leave_nothing_behind_soak(data_dir: Path) -> None:
    _flapping(data_dir, 10_000)


def _slow_peers_cut(srv: RealtimeServer) -> float:
    metrics = httpx.get(srv.url + "/metrics", headers=bearer(srv.owner_token), timeout=WAIT).text
    for line in metrics.splitlines():
        if line.startswith("lattice_rt_slow_peers_cut_total "):
            return float(line.split()[1])
    raise AssertionError("no lattice_rt_slow_peers_cut_total in /metrics")


def test_a_stalled_reader_the_kernel_cuts_is_counted_too(data_dir: Path) -> None:
    # fails without: the count in StreamRoute.send_watched of a write that ended with
    # the connection (issue 20, item 8: 300 stalled readers cut, the counter at 0).
    # The kernel's TCP_USER_TIMEOUT (two heartbeats, 1 s here) also applies to a
    # peer that keeps its window shut; it cuts before the watchdog (60 s here).
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, heartbeat=0.5,
                                      write_timeout=60.0, backlog=16384))
    srv.start()
    try:
        assert srv.bus is not None
        raw = open_raw_stream(srv, srv.owner_token, rcvbuf=4096)
        try:
            port = raw.getsockname()[1]
            conn = wait_for(
                lambda: next((c for c in connections(srv)
                              if c.client and c.client[1] == port), None),
                "the stalled connection to be accepted",
            )
            bus = srv.bus
            wait_for(lambda: bus.subscriber_count == 1, "the subscriber")
            payload = "x" * 2000
            for i in range(3000):  # far more than every buffer on the way holds
                bus.publish({"area": "flood", "payload": {"i": i, "pad": payload}})
            wait_for(lambda: conn not in connections(srv), "the kernel to cut the stalled peer")
            assert wait_for(lambda: _slow_peers_cut(srv) == 1.0, "the cut to be counted")
        finally:
            raw.close()
    finally:
        srv.stop()
