"""Connection: one server's endpoint, client, presence, resume guide and state.

The server and client come in as factories; most tests give doubles that
record what they were asked and fail when told to, the last ones the real
RealtimeServer and RealtimeClient.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QObject

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.api import ApiError, ClientState, ServerKind
from lattice_rt_core.paths import read_server_info
from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_tray.logic.resume import ResumeGuide
from lattice_rt_tray.logic.settings_values import (
    ConnectionSettings,
    SettingsValues,
    local_connection,
)
from lattice_rt_tray.services.bridge import ClientBridge
from lattice_rt_tray.services.connection import START_TIMEOUT, Connection
from lattice_rt_tray.services.connections import ConnectionSet
from lattice_rt_tray.services.presence_keeper import PresenceKeeper
from lattice_rt_tray.services.tasks import TaskRunner

WAIT_MS = 10_000
TEAM = ConnectionSettings("t1", "Team", url="http://team:8765/", token="tok", ca_file="/ca.pem")
ADA = ("Ada", ("ws_a",))


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
        self.last_error: ApiError | None = None
        self.started = self.stopped = self.closed = False
        self.left: list[str] = []
        self.joins: list[str | None] = []
        self.join_error: ApiError | None = None

    def start(self) -> None:
        self.started = True

    def stop(self, timeout: float = 1.0) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True

    def leave(self, client_id: str, timeout: float = 1.0) -> None:
        self.left.append(client_id)

    def join(self, workspace_id: str | None = None, client_id: str | None = None,
             display_name: str | None = None, status: str | None = None,
             status_text: str | None = None) -> dict[str, Any]:
        self.joins.append(workspace_id)
        if self.join_error is not None:
            raise self.join_error
        return {"client_id": client_id, "workspace_id": workspace_id}

    def set_status(self, client_id: str, status: str,
                   status_text: str | None = None) -> dict[str, Any]:
        return {"client_id": client_id, "status": status, "status_text": status_text}

    kind: ServerKind | None = None

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "stats": {"seq": 3, "presence_ttl": 45}}

    def hello(self) -> dict[str, Any]:
        return self.health()

    def server_stats(self, timeout: float = 5.0) -> dict[str, Any]:
        if self.kind is ServerKind.LATTICE_AI:
            return {"seq": 3, "presence_expires": False}
        return dict(self.health()["stats"])

    def presence(self) -> dict[str, Any]:
        return {"presence": [{"client_id": "someone"}]}


class Parts:
    """What the connections made, and how the next server should behave."""

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


class Rig:
    """Builds connections as main.build does, over the fakes."""

    def __init__(self, parts: Parts, tmp_path: Path) -> None:
        self.parts = parts
        self.tmp_path = tmp_path
        self.bridge = ClientBridge(interval_ms=1)
        self.requests = TaskRunner("requests", workers=2)
        self.built: list[Connection] = []

    def __call__(self, settings: ConnectionSettings, presence: tuple[str, tuple[str, ...]],
                 parent: QObject | None = None) -> Connection:
        connection = Connection(
            settings, presence, bridge=self.bridge,
            keeper=PresenceKeeper("inst", self.requests, display_name=presence[0],
                                  workspaces=presence[1]),
            guide=ResumeGuide({}), lifecycle=TaskRunner(f"c-{settings.key}", workers=1),
            requests=self.requests, server_factory=self.parts.server,
            client_factory=self.parts.client, discover=self.parts.discover,
            data_dir=self.tmp_path, parent=parent,
        )
        self.built.append(connection)
        return connection

    def settle(self, connection: Connection) -> None:
        assert connection._lifecycle.wait_idle(WAIT_MS / 1000)  # noqa: SLF001

    def close(self) -> None:
        """As the controller quits: close on the GUI thread, then shut down."""
        for connection in self.built:
            if not shiboken6.isValid(connection):  # its set (its parent) is gone already
                continue
            connection.close()
            connection.shutdown(time.monotonic() + 2, time.monotonic() + 1)
        self.requests.close()


@pytest.fixture
def parts() -> Parts:
    return Parts()


@pytest.fixture
def rig(qapp, parts: Parts, tmp_path: Path) -> Iterator[Rig]:
    made = Rig(parts, tmp_path)
    yield made
    made.close()


def started(qtbot: Any, connection: Connection, settings: ConnectionSettings,
            presence: tuple[str, tuple[str, ...]] = ADA) -> None:
    """Configure ``connection`` and wait until its client is running."""
    with qtbot.waitSignal(connection.changed, timeout=WAIT_MS,
                          check_params_cb=lambda key: connection.client is not None):
        connection.configure(settings, presence)


def test_embedded_starts_the_server_then_a_client_on_it(qtbot, tmp_path, parts, rig):
    connection = rig(local_connection(), ADA)
    started(qtbot, connection, local_connection())
    [server], [client] = parts.servers, parts.clients
    assert connection.url == server.url and connection.server is server
    assert (server.port, server.data_dir) == (8765, tmp_path)
    assert server.start_timeouts == [START_TIMEOUT]
    assert (client.url, client.token) == (server.url, server.owner_token)
    assert client.kwargs["client_ids"] == ("inst:ws_a",) and client.kwargs["last_event_id"] is None
    assert client.kwargs["resume_from"] is connection.guide  # resumes by the server's identity
    assert client.kwargs["ca_file"] is None and client.started
    # the client's callbacks are the bridge's, tagged with the connection's key
    with qtbot.waitSignal(rig.bridge.state_changed, timeout=WAIT_MS) as state:
        client.kwargs["on_state"](ClientState.CONNECTED, "connected")
    assert state.args == ["local", ClientState.CONNECTED, "connected"]


def test_a_server_already_running_on_the_data_dir_is_followed(qtbot, parts, rig):
    parts.server_fails = OSError("address already in use")
    parts.running_elsewhere = ("http://127.0.0.1:9999", "their-token")
    connection = rig(local_connection(), ADA)
    started(qtbot, connection, local_connection())
    assert connection.url == "http://127.0.0.1:9999"
    assert connection.server is None  # not ours: never stopped by us
    assert (parts.clients[0].url, parts.clients[0].token) == ("http://127.0.0.1:9999",
                                                              "their-token")
    # a new presence keeps following it: no second attempt at a server of our own
    with qtbot.waitSignal(connection.changed, timeout=WAIT_MS,
                          check_params_cb=lambda key: len(parts.clients) == 2):
        connection.configure(local_connection(), ("Ada", ("ws_b",)))
    rig.settle(connection)
    assert len(parts.servers) == 1 and parts.clients[1].url == "http://127.0.0.1:9999"


def test_when_the_followed_local_server_goes_away_this_computer_starts_its_own(
        qtbot, parts, rig):
    """Seen in a trial: "retrying in 30.0 s" for over a minute, and never its own endpoint."""
    parts.server_fails = OSError("address already in use")
    parts.running_elsewhere = ("http://127.0.0.1:9999", "their-token")
    connection = rig(local_connection(), ADA)
    started(qtbot, connection, local_connection())
    assert connection.server is None
    connection.on_state(ClientState.RECONNECTING, "retrying")  # still there: nothing changes
    rig.settle(connection)
    qtbot.waitUntil(lambda: not connection._checking_local, timeout=WAIT_MS)  # noqa: SLF001
    assert len(parts.servers) == 1 and len(parts.clients) == 1

    parts.running_elsewhere = None  # it was stopped (or killed: its server.json is stale)
    parts.server_fails = None
    with qtbot.waitSignal(connection.changed, timeout=WAIT_MS,
                          check_params_cb=lambda key: len(parts.clients) == 2):
        connection.on_state(ClientState.RECONNECTING, "cannot connect")
    rig.settle(connection)
    [_, ours] = parts.servers
    assert connection.server is ours and parts.clients[1].url == ours.url
    assert parts.clients[1].kwargs["last_event_id"] == parts.clients[0].last_event_id


def test_an_embedded_server_that_cannot_start_is_a_lasting_error(qtbot, parts, rig):
    parts.server_fails = OSError("address already in use")
    connection = rig(local_connection(), ADA)
    with qtbot.waitSignal(connection.changed, timeout=WAIT_MS,
                          check_params_cb=lambda key: bool(connection.status().error)):
        connection.configure(local_connection(), ADA)
    status = connection.status()
    # the advice is the app's (the server's own names lattice-rt serve's --port)
    hint = " Choose another port for This computer in Settings (0: any)."
    assert status.error == "cannot start: address already in use" + hint
    assert status.line() == "This computer: cannot start: address already in use" + hint
    assert connection.client is None and parts.clients == []


def test_a_remote_server_needs_no_server_of_ours(qtbot, parts, rig):
    connection = rig(TEAM, ADA)
    started(qtbot, connection, TEAM)
    assert parts.servers == [] and connection.url == "http://team:8765"
    client = parts.clients[0]
    assert (client.url, client.token, client.kwargs["ca_file"]) == ("http://team:8765", "tok",
                                                                    "/ca.pem")


def test_a_remote_connection_waits_for_its_token(qtbot, parts, rig):
    connection = rig(TEAM, ADA)
    connection.configure(replace(TEAM, token=""), ADA, token_ready=False)
    assert connection.status().detail == "waiting for the keyring" and parts.clients == []
    started(qtbot, connection, TEAM)
    assert parts.clients[0].token == "tok"


def test_new_presence_settings_are_a_new_stream_on_the_same_server(qtbot, parts, rig):
    connection = rig(local_connection(), ADA)
    started(qtbot, connection, local_connection())
    old = parts.clients[0]
    old.last_event_id = 41
    with qtbot.waitSignal(connection.changed, timeout=WAIT_MS,
                          check_params_cb=lambda key: len(parts.clients) == 2):
        connection.configure(local_connection(), ("Ada", ("ws_b",)))
    rig.settle(connection)
    [server] = parts.servers  # kept: same endpoint
    new = parts.clients[1]
    assert old.left == ["inst:ws_a"] and old.stopped and old.closed
    assert not server.stopped
    assert new.kwargs["client_ids"] == ("inst:ws_b",) and new.kwargs["last_event_id"] == 41
    # whatever the old client still says is dropped
    got: list[int] = []
    rig.bridge.events_received.connect(lambda key, batch: got.extend(e["seq"] for e in batch))
    with qtbot.waitSignal(rig.bridge.events_received, timeout=WAIT_MS):
        old.kwargs["on_event"]({"seq": 1})
        new.kwargs["on_event"]({"seq": 2})
    assert got == [2]


def test_a_new_name_is_only_a_new_label(qtbot, parts, rig):
    connection = rig(TEAM, ADA)
    started(qtbot, connection, TEAM)
    with qtbot.waitSignal(connection.changed, timeout=WAIT_MS):
        connection.configure(replace(TEAM, name="Team A"), ADA)
    rig.settle(connection)
    assert len(parts.clients) == 1 and not parts.clients[0].stopped
    assert connection.status().name == "Team A"


def test_another_endpoint_stops_the_old_server(qtbot, parts, rig):
    connection = rig(local_connection(port=1), ADA)
    started(qtbot, connection, local_connection(port=1))
    with qtbot.waitSignal(connection.changed, timeout=WAIT_MS,
                          check_params_cb=lambda key: len(parts.clients) == 2):
        connection.configure(local_connection(port=2), ADA)
    rig.settle(connection)
    first, second = parts.servers
    assert first.stopped and not second.stopped and connection.url == second.url
    assert parts.clients[0].left == ["inst:ws_a"]  # presence left on the old one


def test_switched_off_it_leaves_presence_and_stops_everything(qtbot, parts, rig):
    connection = rig(local_connection(), ADA)
    started(qtbot, connection, local_connection())
    connection.configure(local_connection(enabled=False), ADA)
    rig.settle(connection)
    [server], [client] = parts.servers, parts.clients
    assert client.left == ["inst:ws_a"] and client.closed and server.stopped
    status = connection.status()
    assert (status.enabled, status.line(), connection.client) == (False, "This computer: off",
                                                                  None)
    started(qtbot, connection, local_connection())  # and on again
    assert len(parts.servers) == 2


def test_a_refused_token_is_an_error_until_a_connect_works(qtbot, parts, rig):
    connection = rig(TEAM, ADA)
    started(qtbot, connection, TEAM)
    client = parts.clients[0]
    client.last_error = ApiError(401, "authentication required")
    connection.on_state(ClientState.RECONNECTING, "authentication required (HTTP 401); "
                                                  "retrying in 15.0 s")
    status = connection.status()
    assert status.error == "the token was refused by http://team:8765 (HTTP 401)"
    connection.on_state(ClientState.RECONNECTING, "reconnecting to http://team:8765")
    assert connection.status().error == status.error  # not overwritten by the retry
    connection.on_state(ClientState.CONNECTED, "connected to http://team:8765")
    assert connection.status().error == "" and connection.status().online


def test_without_a_token_the_error_says_to_enter_one(qtbot, parts, rig):
    connection = rig(replace(TEAM, token=""), ADA)
    started(qtbot, connection, replace(TEAM, token=""))
    parts.clients[0].last_error = ApiError(401, "authentication required")
    connection.on_state(ClientState.RECONNECTING, "…")
    assert connection.status().error == (
        "http://team:8765 needs a token (HTTP 401): enter it in Settings")


def test_a_forbidden_workspace_is_an_error_that_stays_while_connected(qtbot, parts, rig):
    connection = rig(TEAM, ADA)
    started(qtbot, connection, TEAM)
    client = parts.clients[0]
    client.join_error = ApiError(403, "not a member of workspace 'ws_a'")
    with qtbot.waitSignal(connection.changed, timeout=WAIT_MS,
                          check_params_cb=lambda key: bool(connection.status().error)):
        connection.on_state(ClientState.CONNECTED, "connected to http://team:8765")
    status = connection.status()
    assert status.online and status.level == "error"
    assert status.error == ("could not join presence: ws_a: not a member of workspace "
                            "'ws_a' (HTTP 403)")
    client.join_error = None  # granted: the next join round clears it
    with qtbot.waitSignal(connection.joined, timeout=WAIT_MS):
        connection.keeper.join(client)
    assert connection.status().error == ""


def test_shutdown_stops_client_and_server_and_nothing_starts_after(qtbot, parts, rig):
    connection = rig(local_connection(), ADA)
    started(qtbot, connection, local_connection())
    [server], [client] = parts.servers, parts.clients
    connection.close()
    connection.shutdown(time.monotonic() + 2.0, time.monotonic() + 1.0)
    assert client.stopped and client.closed and server.stopped
    assert connection.client is None
    connection.configure(local_connection(port=2), ADA)
    rig.settle(connection)
    assert len(parts.servers) == 1  # refused quietly: we are quitting


def test_the_set_touches_only_the_connection_that_changed(qtbot, parts, rig):
    connections = ConnectionSet(rig.bridge, rig)
    values = SettingsValues(connections=(local_connection(), TEAM), workspaces=("ws_a",))
    connections.apply(values, {"t1": "tok"})
    for connection in connections:
        rig.settle(connection)
    local_client, team_client = connections["local"].client, connections["t1"].client
    assert isinstance(local_client, FakeClient) and isinstance(team_client, FakeClient)
    assert (local_client.url, team_client.url) == (parts.servers[0].url, "http://team:8765")
    other = replace(TEAM, key="o1", name="Other", url="http://other:1")
    with qtbot.waitSignal(connections.added, timeout=WAIT_MS) as added:
        connections.apply(replace(values, connections=(local_connection(),
                                                       replace(TEAM, name="Team A"), other)),
                          {"t1": "tok", "o1": ""})
    assert added.args == ["o1"] and list(connections.names().values()) == [
        "This computer", "Team A", "Other"]
    team = connections["t1"]
    with qtbot.waitSignal(connections.removed, timeout=WAIT_MS) as removed:
        connections.apply(replace(values, connections=(local_connection(), other)),
                          {"o1": ""})
    assert removed.args == ["t1"] and connections.get("t1") is None
    rig.settle(team)  # its stop runs on its own lifecycle thread, queued before it closed
    assert team_client.left == ["inst:ws_a"] and team_client.closed  # left, then stopped
    # the embedded connection was never touched
    assert len(parts.servers) == 1 and not parts.servers[0].stopped
    assert not local_client.stopped and connections["local"].client is local_client


def test_against_a_real_embedded_server_the_client_streams(qtbot, tmp_path, rig):
    servers: list[RealtimeServer] = []

    def server_factory(port: int, data_dir: Path) -> RealtimeServer:
        servers.append(RealtimeServer(ServerConfig(port=0, data_dir=data_dir)))
        return servers[-1]

    connection = Connection(
        local_connection(), ADA, bridge=rig.bridge,
        keeper=PresenceKeeper("inst", rig.requests, display_name="Ada", workspaces=["ws_a"]),
        guide=ResumeGuide({}), lifecycle=TaskRunner("real", workers=1), requests=rig.requests,
        server_factory=server_factory, client_factory=RealtimeClient,
        discover=lambda data_dir: None, data_dir=tmp_path / "data",
    )
    connections = ConnectionSet(rig.bridge, lambda *args: connection)
    try:
        with qtbot.waitSignal(connection.connected, timeout=WAIT_MS):
            connections.apply(SettingsValues(workspaces=("ws_a",)), {})
        assert connection.url == servers[0].url and connection.guide.last is not None
        assert connection.guide.last.server_id == servers[0].bus.server_id
        with qtbot.waitSignal(rig.bridge.events_received, timeout=WAIT_MS) as got:
            servers[0].bus.publish({"area": "graph", "event_type": "indexed"})
        assert got.args[0] == "local" and got.args[1][-1]["area"] == "graph"
    finally:
        connection.close()
        connection.shutdown(time.monotonic() + 3.0, time.monotonic() + 1.0)
    assert read_server_info(tmp_path / "data") is None  # the server stopped and cleaned up


@pytest.mark.parametrize("kind", [ServerKind.LATTICE_RT, ServerKind.LATTICE_AI])
def test_a_server_without_presence_expiry_is_joined_once(qtbot, parts, rig, kind):
    """A Lattice AI server's entries never expire: a keep-alive would re-announce them."""
    connection = rig(TEAM, ADA)
    started(qtbot, connection, TEAM)
    client = parts.clients[0]
    client.kind = kind
    with qtbot.waitSignal(connection.caught_up, timeout=WAIT_MS):
        connection.on_state(ClientState.CONNECTED, "connected to http://team:8765")
    qtbot.waitUntil(lambda: len(client.joins) == 1, timeout=WAIT_MS)
    assert connection.keeper.keeping_alive is (kind is ServerKind.LATTICE_RT)
    assert connection.shares_status is (kind is ServerKind.LATTICE_RT)
