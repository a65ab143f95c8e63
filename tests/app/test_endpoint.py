"""Endpoint: start the embedded server (or follow one), own the client, move, stop in time.

The server and client come in as factories; most tests give it doubles that
record what they were asked and fail when told to, the last one the real
RealtimeServer and RealtimeClient.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication

from lattice_rt_core.client import ClientState, RealtimeClient
from lattice_rt_core.paths import read_server_info
from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_tray.bridge import ClientBridge
from lattice_rt_tray.endpoint import START_TIMEOUT, Endpoint, EndpointConfig
from lattice_rt_tray.settings_values import EMBEDDED, REMOTE
from lattice_rt_tray.tasks import TaskRunner

WAIT_MS = 10_000


class FakeServer:
    def __init__(self, port: int, data_dir: Path, fail: Exception | None) -> None:
        self.port, self.data_dir, self.fail = port, data_dir, fail
        self.url = f"http://127.0.0.1:{port}"
        self.owner_token = f"owner-{port}"
        self.start_timeouts: list[float] = []
        self.stopped = False

    def start(self, timeout: float = 5.0) -> None:
        self.start_timeouts.append(timeout)
        if self.fail is not None:
            raise self.fail

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped = True


class FakeClient:
    def __init__(self, url: str, token: str | None, **kwargs: Any) -> None:
        self.url, self.token, self.kwargs = url, token, kwargs
        self.last_event_id: int | None = kwargs["last_event_id"]
        self.started = self.stopped = self.closed = False
        self.left: list[str] = []

    def start(self) -> None:
        self.started = True

    def stop(self, timeout: float = 1.0) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True

    def leave(self, client_id: str, timeout: float = 1.0) -> None:
        self.left.append(client_id)


class Parts:
    """What the endpoint made, and how the next server should behave."""

    def __init__(self) -> None:
        self.servers: list[FakeServer] = []
        self.clients: list[FakeClient] = []
        self.server_fails: Exception | None = None
        self.running_elsewhere: tuple[str, str | None] | None = None

    def server(self, port: int, data_dir: Path) -> FakeServer:
        self.servers.append(FakeServer(port, data_dir, self.server_fails))
        return self.servers[-1]

    def client(self, url: str, token: str | None, **kwargs: Any) -> FakeClient:
        self.clients.append(FakeClient(url, token, **kwargs))
        return self.clients[-1]

    def discover(self, data_dir: Path) -> tuple[str, str | None] | None:
        return self.running_elsewhere


@pytest.fixture
def parts() -> Parts:
    return Parts()


@pytest.fixture
def lifecycle(qapp) -> Iterator[TaskRunner]:
    runner = TaskRunner("lifecycle", workers=1)
    yield runner
    runner.close()


@pytest.fixture
def bridge(qapp) -> ClientBridge:
    return ClientBridge(interval_ms=1)


@pytest.fixture
def endpoint(parts: Parts, lifecycle: TaskRunner, bridge: ClientBridge) -> Endpoint:
    return Endpoint(bridge, server_factory=parts.server, client_factory=parts.client,
                    discover=parts.discover, lifecycle=lifecycle)


def embedded(tmp_path: Path, port: int = 8765) -> EndpointConfig:
    return EndpointConfig(mode=EMBEDDED, port=port, url="", token="", data_dir=tmp_path)


def settle(lifecycle: TaskRunner) -> None:
    """Let every queued lifecycle step run and its result reach the GUI thread."""
    assert lifecycle.wait_idle(WAIT_MS / 1000)
    QCoreApplication.processEvents()


def test_the_config_names_the_history_it_follows(tmp_path):
    local = embedded(tmp_path)
    remote = EndpointConfig(mode=REMOTE, port=0, url="https://team:8765/", token="t",
                            data_dir=tmp_path)
    assert local.identity == f"embedded:{tmp_path}" and local.label == "this computer"
    assert remote.identity == "remote:https://team:8765" and remote.label == "https://team:8765/"
    # the port is not part of the identity: the same data dir is the same history
    assert embedded(tmp_path, 1).identity == embedded(tmp_path, 2).identity


def test_embedded_starts_the_server_then_a_client_on_it(qtbot, tmp_path, parts, endpoint, bridge):
    config = embedded(tmp_path)
    with qtbot.waitSignal(endpoint.started, timeout=WAIT_MS) as started:
        endpoint.start(config, ["inst:ws_a"], 7)
    [server], [client] = parts.servers, parts.clients
    assert started.args == [server.url] == [endpoint.url]
    assert (server.port, server.data_dir) == (8765, tmp_path)
    assert server.start_timeouts == [START_TIMEOUT]
    assert (client.url, client.token) == (server.url, server.owner_token)
    assert client.kwargs["client_ids"] == ("inst:ws_a",) and client.kwargs["last_event_id"] == 7
    assert client.started and endpoint.client is client and endpoint.server is server
    assert endpoint.config == config
    # the client's callbacks are the bridge's
    with qtbot.waitSignal(bridge.state_changed, timeout=WAIT_MS) as state:
        client.kwargs["on_state"](ClientState.CONNECTED, "connected")
    assert state.args == [ClientState.CONNECTED, "connected"]


def test_a_server_already_running_on_the_data_dir_is_followed(qtbot, tmp_path, parts, endpoint):
    parts.server_fails = OSError("address already in use")
    parts.running_elsewhere = ("http://127.0.0.1:9999", "their-token")
    with qtbot.waitSignal(endpoint.started, timeout=WAIT_MS) as started:
        endpoint.start(embedded(tmp_path), [], None)
    assert started.args == ["http://127.0.0.1:9999"]
    assert endpoint.server is None  # not ours: never stopped by us
    assert (parts.clients[0].url, parts.clients[0].token) == ("http://127.0.0.1:9999",
                                                              "their-token")


def test_an_embedded_server_that_cannot_start_is_reported(qtbot, tmp_path, parts, endpoint):
    parts.server_fails = OSError("address already in use")
    with qtbot.waitSignal(endpoint.failed, timeout=WAIT_MS) as failed:
        endpoint.start(embedded(tmp_path), [], None)
    assert failed.args == ["address already in use"]
    assert endpoint.client is None and parts.clients == []


def test_a_remote_server_needs_no_server_of_ours(qtbot, tmp_path, parts, endpoint):
    config = EndpointConfig(mode=REMOTE, port=0, url="http://team:8765/", token="",
                            data_dir=tmp_path)
    with qtbot.waitSignal(endpoint.started, timeout=WAIT_MS) as started:
        endpoint.start(config, ["inst:-"], 3)
    assert started.args == ["http://team:8765"] and parts.servers == []
    assert (parts.clients[0].url, parts.clients[0].token) == ("http://team:8765", None)


def test_a_new_stream_on_the_same_server_leaves_first_and_resumes(
    qtbot, tmp_path, parts, endpoint, bridge
):
    with qtbot.waitSignal(endpoint.started, timeout=WAIT_MS):
        endpoint.start(embedded(tmp_path), ["inst:ws_a"], None)
    old = parts.clients[0]
    old.last_event_id = 41
    with qtbot.waitSignal(endpoint.started, timeout=WAIT_MS):
        endpoint.restart_client(["inst:ws_b"], leave=["inst:ws_a"])
    [server] = parts.servers  # kept: same config
    new = parts.clients[1]
    assert old.left == ["inst:ws_a"] and old.stopped and old.closed
    assert not server.stopped
    assert new.kwargs["client_ids"] == ("inst:ws_b",) and new.kwargs["last_event_id"] == 41
    # whatever the old client still says is dropped
    got: list[int] = []
    bridge.events_received.connect(lambda batch: got.extend(e["seq"] for e in batch))
    with qtbot.waitSignal(bridge.events_received, timeout=WAIT_MS):
        old.kwargs["on_event"]({"seq": 1})
        new.kwargs["on_event"]({"seq": 2})
    assert got == [2]


def test_another_config_stops_the_old_server(qtbot, tmp_path, parts, endpoint):
    with qtbot.waitSignal(endpoint.started, timeout=WAIT_MS):
        endpoint.start(embedded(tmp_path, 1), [], None)
    with qtbot.waitSignal(endpoint.started, timeout=WAIT_MS) as started:
        endpoint.start(embedded(tmp_path, 2), [], None)
    first, second = parts.servers
    assert first.stopped and not second.stopped and started.args == [second.url]


def test_only_the_latest_start_is_announced(qtbot, tmp_path, parts, endpoint, lifecycle):
    announced: list[str] = []
    endpoint.started.connect(announced.append)
    endpoint.start(embedded(tmp_path, 1), [], None)
    endpoint.start(embedded(tmp_path, 2), [], None)  # before the first one finished
    settle(lifecycle)
    assert announced == [parts.servers[1].url]


def test_shutdown_stops_client_and_server_and_nothing_starts_after(
    qtbot, tmp_path, parts, endpoint, lifecycle, bridge
):
    with qtbot.waitSignal(endpoint.started, timeout=WAIT_MS):
        endpoint.start(embedded(tmp_path), [], None)
    [server], [client] = parts.servers, parts.clients
    endpoint.shutdown(time.monotonic() + 2.0)
    assert client.stopped and client.closed and server.stopped
    assert endpoint.client is None
    client.kwargs["on_event"]({"seq": 1})
    assert bridge.pending() == 0  # the bridge is closed too
    failures: list[str] = []
    endpoint.failed.connect(failures.append)
    endpoint.start(embedded(tmp_path), [], None)
    settle(lifecycle)
    assert len(parts.servers) == 1 and failures == []  # refused quietly: we are quitting


def test_against_a_real_embedded_server_the_client_streams(qtbot, tmp_path, lifecycle, bridge):
    servers: list[RealtimeServer] = []

    def server_factory(port: int, data_dir: Path) -> RealtimeServer:
        servers.append(RealtimeServer(ServerConfig(port=0, data_dir=data_dir)))
        return servers[-1]

    endpoint = Endpoint(bridge, server_factory=server_factory, client_factory=RealtimeClient,
                        discover=lambda data_dir: None, lifecycle=lifecycle)
    try:
        with qtbot.waitSignal(bridge.state_changed, timeout=WAIT_MS,
                              check_params_cb=lambda s, d: s is ClientState.CONNECTED):
            endpoint.start(embedded(tmp_path / "data"), ["inst:-"], None)
        assert endpoint.url == servers[0].url
        with qtbot.waitSignal(bridge.events_received, timeout=WAIT_MS) as got:
            servers[0].bus.publish({"area": "graph", "event_type": "indexed"})
        assert got.args[0][-1]["area"] == "graph"
    finally:
        endpoint.shutdown(time.monotonic() + 3.0)
    assert read_server_info(tmp_path / "data") is None  # the server stopped and cleaned up
