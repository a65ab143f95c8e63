"""The realtime server: lifecycle, restarts, bad environments, quick stop, and
the uvicorn internals it depends on."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from httpx_sse import connect_sse

from lattice_rt_core.paths import database_path
from lattice_rt_core.server import RealtimeServer, ServerConfig, ServerError

T = TypeVar("T")


def start(data_dir: Path, **kw: object) -> RealtimeServer:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, **kw))  # type: ignore[arg-type]
    srv.start()
    return srv


def publish(srv: RealtimeServer, n: int) -> list[int]:
    r = httpx.post(
        srv.url + "/realtime/events",
        headers={"Authorization": f"Bearer {srv.owner_token}"},
        json=[{"payload": {"i": i}} for i in range(n)],
    )
    return [e["seq"] for e in r.json()["events"]]


def test_seq_and_resume_survive_a_restart(data_dir: Path) -> None:
    srv = start(data_dir)
    assert publish(srv, 5) == [1, 2, 3, 4, 5]
    token = srv.owner_token
    srv.stop()
    srv = start(data_dir)
    try:
        assert srv.owner_token == token  # the same installation
        assert publish(srv, 1) == [6]
        with httpx.Client(
            base_url=srv.url,
            timeout=10,
            headers={"Authorization": f"Bearer {token}", "Last-Event-ID": "2"},
        ) as c:
            with connect_sse(c, "GET", "/realtime/stream") as source:
                ids = []
                for sse in source.iter_sse():
                    if sse.data:
                        ids.append(int(sse.id))
                    if len(ids) == 4:
                        break
        assert ids == [3, 4, 5, 6]
    finally:
        srv.stop()


def test_server_info_and_private_files(data_dir: Path) -> None:
    data_dir.chmod(0o755)
    srv = start(data_dir)
    info = json.loads((data_dir / "server.json").read_text())
    assert info["url"] == srv.url and info["auth"] is True
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("owner.token", "server.json", database_path(data_dir).name):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    assert len((data_dir / "owner.token").read_text().strip()) == 64  # 256 bits, hex
    srv.stop()
    assert not (data_dir / "server.json").exists()


def test_port_in_use_is_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    srv = start(data_dir)
    try:
        other = RealtimeServer(ServerConfig(port=srv.port, data_dir=tmp_path / "other"))
        with pytest.raises(ServerError, match="already in use"):
            other.start()
    finally:
        srv.stop()


def test_corrupt_database_is_moved_aside(data_dir: Path) -> None:
    database_path(data_dir).write_bytes(b"garbage" * 1000)
    srv = start(data_dir)
    try:
        assert publish(srv, 1) == [1]
        assert list(data_dir.glob("*.corrupt-*"))
    finally:
        srv.stop()


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ServerError, match="data directory"):
        RealtimeServer(ServerConfig(port=0, data_dir=blocker)).start()


def test_stop_with_open_streams_is_prompt(data_dir: Path) -> None:
    srv = start(data_dir)
    opened = threading.Barrier(4)
    ended: list[str] = []

    def hold() -> None:
        with httpx.Client(
            base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {srv.owner_token}"}
        ) as c:
            with connect_sse(c, "GET", "/realtime/stream") as source:
                opened.wait()
                for _ in source.iter_sse():
                    pass
        ended.append("closed")

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for t in threads:
        t.start()
    opened.wait()
    srv.stop(timeout=2.0)
    for t in threads:
        t.join(5)
    assert ended == ["closed"] * 3  # the server ended every stream cleanly


# ------------------------------------------------ one server per data directory
def test_a_second_server_on_the_data_dir_is_refused_and_changes_nothing(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = start(data_dir)
    try:
        info_before = (data_dir / "server.json").read_bytes()
        second = RealtimeServer(ServerConfig(port=0, data_dir=data_dir))
        with pytest.raises(ServerError) as refused:
            second.start()
        message = str(refused.value)
        assert f"the lattice-rt server at {first.url} (pid {os.getpid()})" in message
        assert "\n" not in message
        # the refused server neither rewrote nor removed the holder's server.json
        assert (data_dir / "server.json").read_bytes() == info_before
        second.stop()
        assert (data_dir / "server.json").read_bytes() == info_before
        assert publish(first, 2) == [1, 2]  # the holder goes on, alone with the journal
    finally:
        first.stop()
    assert not (data_dir / "server.json").exists()
    with caplog.at_level(logging.WARNING):
        again = start(data_dir)
    try:
        assert publish(again, 1) == [3]
        assert not [r for r in caplog.records if "did not shut down cleanly" in r.message]
    finally:
        again.stop()


def test_a_failed_start_lets_go_of_the_data_dir(data_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServerError, match="already in use"):
            RealtimeServer(ServerConfig(port=port, data_dir=data_dir)).start()
    srv = start(data_dir)  # neither the lock nor the journal was left behind
    srv.stop()


# ------------------------------------------------------- uvicorn internals
# server.py subclasses uvicorn.Server (a quiet idle loop instead of polling,
# streams closed before shutdown) and finds a stalled peer's connection in
# uvicorn's private server_state. pyproject.toml bounds uvicorn to versions
# these tests passed with; when a new uvicorn moves one of these, this fails
# naming what moved, instead of the server silently polling again or never
# aborting a stalled connection.
def on_loop(srv: RealtimeServer, call: Callable[[], T]) -> T:
    """Run ``call`` on the server's event loop thread; its result."""
    server = srv._server  # noqa: SLF001 - the test looks inside on purpose
    assert server is not None and server.loop is not None

    async def run() -> T:
        return call()

    return asyncio.run_coroutine_threadsafe(run(), server.loop).result(10)


def awaited_names() -> set[str]:
    """The qualified names of every coroutine the loop's tasks are suspended in."""
    names: set[str] = set()
    for task in asyncio.all_tasks():
        coro: Any = task.get_coro()
        while coro is not None:
            names.add(getattr(coro, "__qualname__", ""))
            coro = getattr(coro, "cr_await", None)
    return names


def test_uvicorn_server_still_has_the_methods_server_py_overrides_and_calls() -> None:
    for name in ("main_loop", "on_tick", "startup", "shutdown"):
        method = getattr(uvicorn.Server, name, None)
        assert inspect.iscoroutinefunction(method), (
            f"uvicorn {uvicorn.__version__}: uvicorn.Server.{name} is not a coroutine method "
            "any more; _Uvicorn in server.py overrides or calls it"
        )
    params = list(inspect.signature(uvicorn.Server.on_tick).parameters)
    assert params == ["self", "counter"], (
        f"uvicorn {uvicorn.__version__}: uvicorn.Server.on_tick takes {params}; "
        "_Uvicorn.main_loop calls on_tick(0)"
    )
    for name in ("should_exit", "force_exit", "server_state"):
        assert hasattr(uvicorn.Server(uvicorn.Config(app=None)), name), (
            f"uvicorn {uvicorn.__version__}: uvicorn.Server has no attribute {name!r}; "
            "RealtimeServer uses it to stop or to find connections"
        )


def test_uvicorn_runs_our_main_loop_and_keeps_its_connections_where_we_look(
    data_dir: Path,
) -> None:
    srv = start(data_dir)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        assert "_Uvicorn.main_loop" in on_loop(srv, awaited_names), (
            f"uvicorn {uvicorn.__version__}: uvicorn.Server._serve no longer awaits "
            "main_loop(); the event-driven idle loop of server.py is bypassed"
        )
        sock.sendall(
            f"GET /realtime/stream HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
            f"Authorization: Bearer {srv.owner_token}\r\n\r\n".encode()
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        server = srv._server  # noqa: SLF001
        state = getattr(server, "server_state", None)
        assert hasattr(state, "connections"), (
            f"uvicorn {uvicorn.__version__}: uvicorn.Server.server_state.connections is gone; "
            "RealtimeServer._abort_connection looks for a stalled peer there"
        )
        connections = on_loop(srv, lambda: list(state.connections))
        peer = sock.getsockname()[:2]
        mine = [c for c in connections if getattr(c, "client", None) == peer]
        assert mine, (
            f"uvicorn {uvicorn.__version__}: no connection in server_state.connections has "
            f".client == {peer} (found {[getattr(c, 'client', '<none>') for c in connections]}); "
            "RealtimeServer._abort_connection matches on it"
        )
        assert callable(getattr(getattr(mine[0], "transport", None), "abort", None)), (
            f"uvicorn {uvicorn.__version__}: a connection in server_state.connections has no "
            ".transport.abort(); RealtimeServer._abort_connection calls it"
        )
        assert on_loop(srv, lambda: srv._abort_connection({"client": peer}))  # noqa: SLF001
        try:
            while sock.recv(65536):
                pass  # what was already on its way, then the end
        except ConnectionResetError:
            pass  # the abort: a reset
    finally:
        sock.close()
        srv.stop()



def test_a_websocket_upgrade_is_answered_as_plain_http_without_advice_to_install_one(
    data_dir: Path
) -> None:
    # the servers load no WebSocket implementation (ws="none"); fails without the guard's
    # _unsupported_upgrade_warning: uvicorn logs "Unsupported upgrade request." and tells
    # the operator to install websockets, for every such request anyone sends
    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    srv = start(data_dir)
    logging.getLogger("uvicorn.error").addHandler(handler)  # after uvicorn's log config
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(
                f"GET /realtime/feed HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                f"Authorization: Bearer {srv.owner_token}\r\nConnection: Upgrade\r\n"
                "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
            )
            answer = sock.makefile("rb").readline()
    finally:
        srv.stop()
        logging.getLogger("uvicorn.error").removeHandler(handler)
    assert answer.startswith(b"HTTP/1.1 200 ")  # the feed, not 101 Switching Protocols
    assert warnings == []


# ------------------------------------------------------------ behind a proxy
@pytest.mark.parametrize("trusted", [False, True])
def test_forwarded_headers_are_believed_only_from_trusted_proxies(
    data_dir: Path, caplog: pytest.LogCaptureFixture, trusted: bool
) -> None:
    srv = start(data_dir, trusted_proxies=("127.0.0.0/8",) if trusted else ())
    try:
        forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
                     "Authorization": f"Bearer {srv.owner_token}"}
        launch = httpx.post(srv.url + "/realtime/launch", headers=forwarded).json()["url"]
        scheme = "https" if trusted else "http"
        assert launch.startswith(f"{scheme}://127.0.0.1:{srv.port}/activity?code=")
        with caplog.at_level(logging.WARNING, logger="lattice_rt_core.http.guard"):
            r = httpx.get(srv.url + "/realtime/feed", headers={**forwarded, "Host": "team.lan"})
        assert r.status_code == 403
        peer = "203.0.113.9" if trusted else "127.0.0.1"
        assert [rec.getMessage() for rec in caplog.records] == [
            f"refused a request from {peer} for Host 'team.lan': not an allowed host; "
            "start the server with --allow-host team.lan to accept it"
        ]
    finally:
        srv.stop()


def test_uvicorn_protocols_still_have_what_the_connection_guard_reads() -> None:
    # process/connections.py wraps uvicorn's HTTP protocol: it overrides
    # on_response_complete and reads .cycle.response_complete and .transport
    from uvicorn.protocols.http.auto import AutoHTTPProtocol
    from uvicorn.protocols.http.h11_impl import H11Protocol

    for protocol in {AutoHTTPProtocol, H11Protocol}:
        for name in ("connection_made", "connection_lost", "data_received",
                     "on_response_complete", "_unsupported_upgrade_warning"):
            assert callable(getattr(protocol, name, None)), (
                f"uvicorn {uvicorn.__version__}: {protocol.__name__}.{name} is gone; "
                "process/connections.py overrides it"
            )
        source = inspect.getsource(protocol)
        for name in ("self.cycle", ".response_complete", ".more_body", "self.transport"):
            assert name in source, (
                f"uvicorn {uvicorn.__version__}: {protocol.__name__} no longer uses {name}; "
                "process/connections.py reads it to know whether a head is awaited"
            )
