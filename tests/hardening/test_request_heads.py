"""What a connection may cost before its request head is complete (issue 20, item 3).

* a request head larger than ``max_head_bytes`` is a 431 (or a closed
  connection), never a 200, and the server stops reading it there;
* a head that stalls is closed after ``head_timeout``; a connection that sends
  nothing too; over TLS, a handshake that never starts after
  ``tls_handshake_timeout``;
* one client address holds at most ``max_client_connections`` connections
  (reverse proxies named by ``--trust-proxy`` are not counted).

Every wait below is on the socket (a server that closes shows as EOF or a reset
long before the generous socket timeout); nothing asserts on time.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.protocol.defaults import MAX_HEAD_BYTES
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.conftest import TlsFiles
from tests.hardening.helpers import WAIT, wait_for
from tests.hardening.test_peers import connections


def _start(data_dir: Path, **settings: object) -> RealtimeServer:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, **settings))  # type: ignore[arg-type]
    srv.start()
    return srv


@pytest.fixture
def quick(data_dir: Path) -> Iterator[RealtimeServer]:
    """A server whose head deadline is short enough to wait for in a test."""
    srv = _start(data_dir, head_timeout=0.5, max_client_connections=4)
    try:
        yield srv
    finally:
        srv.stop()


def _connect(srv: RealtimeServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT)
    return sock


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes ("" when it just closes)."""
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open; it sent {got[:80]!r}") from None
    return got


def _send_all_it_takes(sock: socket.socket, data: bytes) -> None:
    """Send ``data`` until the server stops reading it (then the rest does not matter)."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


# ------------------------------------------------------------- head size
def test_a_huge_header_block_is_refused_not_answered(server: RealtimeServer) -> None:
    # fails without: guarded_protocol in server.py (httptools reads a head of any
    # size and the health check answers 200 after 4 MiB of headers)
    sock = _connect(server)
    try:
        head = f"GET /realtime/health HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode()
        filler = b"".join(b"X-Fill-%d: %s\r\n" % (i, b"a" * 1000) for i in range(4096))
        _send_all_it_takes(sock, head + filler + b"\r\n")
        answer = _answer(sock)
    finally:
        sock.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b" 200 " not in answer.split(b"\r\n", 1)[0]


def test_a_head_over_the_limit_in_one_piece_is_a_431(server: RealtimeServer) -> None:
    # fails without: the look for the head's end in Guarded.data_received (a
    # complete head that arrives in one read is parsed whole and answered 200)
    sock = _connect(server)
    try:
        head = (f"GET /realtime/health HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"X-Fill: {'a' * (MAX_HEAD_BYTES + 100)}\r\n\r\n").encode()
        _send_all_it_takes(sock, head)
        answer = _answer(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert answer.endswith(b"the request head is too large\n")


def test_unfinished_heads_are_cut_at_the_limit_so_memory_stays_bounded(
    server: RealtimeServer,
) -> None:
    # fails without: guarded_protocol (the server reads 2 MiB of each head and keeps
    # the connections open, waiting for the rest)
    socks = [_connect(server) for _ in range(8)]
    try:
        head = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-Fill: ".encode()
        for sock in socks:
            _send_all_it_takes(sock, head + b"a" * (2 << 20))  # never finished
        for sock in socks:
            answer = _answer(sock)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    finally:
        for sock in socks:
            sock.close()
    # the server still answers
    assert httpx.get(server.url + "/realtime/health", timeout=WAIT).status_code == 200


def test_a_normal_request_with_a_body_is_not_mistaken_for_a_big_head(
    server: RealtimeServer,
) -> None:
    # a head and a body larger than the head limit, in one write
    body = b'{"area": "x", "event_type": "y", "payload": {"pad": "' + b"a" * 200_000 + b'"}}'
    sock = _connect(server)
    try:
        sock.sendall(
            f"POST /realtime/events HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Authorization: Bearer {server.owner_token}\r\nContent-Type: application/json\r\n"
            f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        answer = _answer(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]  # the event limit, not the head's


# --------------------------------------------------------- head deadline
def test_a_head_that_stalls_is_closed(quick: RealtimeServer) -> None:
    # fails without: the head timer of guarded_protocol (uvicorn waits for the rest
    # of the head for ever; the socket times out after WAIT)
    sock = _connect(quick)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert _answer(sock) == b""
    finally:
        sock.close()


def test_a_connection_that_sends_nothing_is_closed(quick: RealtimeServer) -> None:
    # fails without: _arm_head_timer in Guarded.connection_made
    sock = _connect(quick)
    try:
        assert _answer(sock) == b""
    finally:
        sock.close()


def test_a_keepalive_connection_gets_a_deadline_for_its_next_head(
    quick: RealtimeServer,
) -> None:
    # fails without: the timer armed again at the first byte of the next head
    sock = _connect(quick)
    try:
        sock.sendall(f"GET /realtime/health HTTP/1.1\r\nHost: 127.0.0.1:{quick.port}\r\n"
                     "\r\n".encode())
        first = b""
        while b"\r\n\r\n" not in first or not first.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, first
            first += chunk
        assert first.startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /realtime/health HTTP/1.1\r\n")  # and nothing more
        assert _answer(sock) == b""
    finally:
        sock.close()


def test_a_stream_is_not_cut_by_the_head_deadline(quick: RealtimeServer) -> None:
    # the deadline is for heads: an open stream outlives it (it ends only when we
    # stop reading here); the heartbeat of 15 s is never reached, so any data after
    # the head would be an event we publish after the deadline has passed
    sock = _connect(quick)
    try:
        sock.sendall(f"GET /realtime/stream HTTP/1.1\r\nHost: 127.0.0.1:{quick.port}\r\n"
                     f"Authorization: Bearer {quick.owner_token}\r\n\r\n".encode())
        got = b""
        while b"retry:" not in got:
            chunk = sock.recv(65536)
            assert chunk, got
            got += chunk
        # a head timer still running would close this connection: wait until the
        # server has seen a stalled head on another connection closed (its deadline
        # passed), then publish and read
        other = _connect(quick)
        other.sendall(b"GET / HTTP/1.1\r\n")
        assert _answer(other) == b""
        other.close()
        assert quick.bus is not None
        quick.bus.publish({"area": "after", "event_type": "deadline"})
        while b'"after"' not in got:
            chunk = sock.recv(65536)
            assert chunk, got[-200:]
            got += chunk
    finally:
        sock.close()


# ------------------------------------------------------- per-client cap
def test_one_address_holds_at_most_its_share_of_connections(quick: RealtimeServer) -> None:
    # fails without: PeerCounts.admit in Guarded.connection_made (the fifth
    # connection is served like the others)
    held = [_connect(quick) for _ in range(4)]
    try:
        for sock in held:  # each sends its head slowly: accepted, not finished
            sock.sendall(b"GET / HTTP/1.1\r\n")
        wait_for(lambda: len(connections(quick)) == 4, "the four connections to be accepted")
        extra = _connect(quick)
        try:
            answer = _answer(extra)
        finally:
            extra.close()
        assert answer.startswith(b"HTTP/1.1 429 "), answer[:200]
        assert answer.endswith(b"too many connections from this address\n")
    finally:
        for sock in held:
            sock.close()
    wait_for(lambda: not connections(quick), "the held connections to be gone")
    # the slots are free again
    assert httpx.get(quick.url + "/realtime/health", timeout=WAIT).status_code == 200


def test_connections_from_a_trusted_proxy_are_not_capped(data_dir: Path) -> None:
    srv = _start(data_dir, max_client_connections=1, trusted_proxies=("127.0.0.1",))
    try:
        held = _connect(srv)
        held.sendall(b"GET / HTTP/1.1\r\n")
        wait_for(lambda: len(connections(srv)) == 1, "the first connection")
        assert httpx.get(srv.url + "/realtime/health", timeout=WAIT).status_code == 200
        held.close()
    finally:
        srv.stop()


# --------------------------------------------------------- TLS handshake
def test_a_tls_handshake_that_never_starts_is_closed(
    data_dir: Path, tls_files: TlsFiles,
) -> None:
    # fails without: the ssl_handshake_timeout _Uvicorn.startup passes (asyncio's
    # default waits 60 s for the ClientHello)
    srv = _start(data_dir, tls_cert=tls_files.cert, tls_key=tls_files.key,
                 tls_handshake_timeout=0.5)
    try:
        sock = _connect(srv)
        try:
            assert _answer(sock) == b""
        finally:
            sock.close()
        # and a real client still gets through
        context = ssl.create_default_context(cafile=str(tls_files.ca))
        with httpx.Client(verify=context, timeout=WAIT) as client:
            assert client.get(srv.url + "/realtime/health").status_code == 200
    finally:
        srv.stop()
