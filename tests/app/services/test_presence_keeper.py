"""PresenceKeeper: one entry per workspace, joined off the GUI thread, kept alive, left at quit.

Joins and refreshes go to a real embedded server through a real RealtimeClient;
leaving at quit, where what matters is what happens when the server is slow or
fails, uses a client double that does exactly that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from lattice_rt_core.auth.accounts import Accounts
from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.api import ApiError
from lattice_rt_core.paths import database_path
from lattice_rt_core.protocol.defaults import DEFAULT_TTL
from lattice_rt_core.server import RealtimeServer
from lattice_rt_tray.logic.status_machine import AWAY, DND, IDLE, StatusState
from lattice_rt_tray.services.presence_keeper import (
    MIN_REFRESH,
    NO_WORKSPACE,
    PresenceKeeper,
    presence_client_id,
)
from lattice_rt_tray.services.tasks import TaskRunner

WAIT_MS = 10_000


@pytest.fixture
def runner(qapp) -> Iterator[TaskRunner]:
    tasks = TaskRunner("presence-test", workers=2)
    yield tasks
    tasks.close()


@pytest.fixture
def client(server: RealtimeServer) -> Iterator[RealtimeClient]:
    with RealtimeClient(server.url, server.owner_token) as http:
        yield http


def keeper(runner: TaskRunner, *workspaces: str, name: str = "Ada") -> PresenceKeeper:
    return PresenceKeeper("inst", runner, display_name=name, workspaces=workspaces)


def test_one_client_id_per_workspace_or_one_without():
    assert presence_client_id("inst", "ws_a") == "inst:ws_a"
    assert presence_client_id("inst", None) == f"inst:{NO_WORKSPACE}"
    k = PresenceKeeper("inst", None, display_name="Ada", workspaces=["ws_a", "ws_b"])
    assert k.client_ids() == ["inst:ws_a", "inst:ws_b"] and k.prefix == "inst:"
    assert k.configure("Ada L.", ["ws_b", "ws_c"]) == ["inst:ws_a"]  # no longer wanted
    assert k.client_ids() == ["inst:ws_b", "inst:ws_c"] and k.display_name == "Ada L."
    assert k.configure("Ada L.", []) == ["inst:ws_b", "inst:ws_c"]
    assert k.client_ids() == [f"inst:{NO_WORKSPACE}"]


def test_join_announces_every_entry_off_the_gui_thread(qtbot, runner, server, client):
    k = keeper(runner, "ws_a", "ws_b")
    with qtbot.waitSignal(k.joined, timeout=WAIT_MS) as joined:
        k.join(client)
    entries = joined.args[0]
    assert [(e["client_id"], e["workspace_id"], e["display_name"]) for e in entries] == [
        ("inst:ws_a", "ws_a", "Ada"), ("inst:ws_b", "ws_b", "Ada"),
    ]
    assert {e["client_id"] for e in server.bus.presence()} == {"inst:ws_a", "inst:ws_b"}


def test_the_joined_entries_reach_every_slot_as_the_same_python_list(qtbot, runner):
    # (moved from test_bridge) Signal(object): no conversion to Qt types and back per slot
    k = keeper(runner)
    entries = [{"client_id": "inst:-", "meta": (1, 2)}]
    got: list[object] = []
    k.joined.connect(got.append)
    k.joined.connect(got.append)
    k.joined.emit(entries)
    assert got[0] is entries and got[1] is entries


def test_a_failed_join_is_a_message_for_a_person(qtbot, runner, server):
    with RealtimeClient(server.url, "not-the-token") as stranger:
        k = keeper(runner, "ws_a")
        with qtbot.waitSignal(k.join_failed, timeout=WAIT_MS) as failed:
            k.join(stranger)
    message, refused = failed.args
    assert message == "could not join presence: ws_a: authentication required (HTTP 401)"
    assert refused  # retrying with this token cannot help


@pytest.fixture
def ann(server: RealtimeServer) -> Iterator[RealtimeClient]:
    """A user who is a member of ws_a only."""
    accounts = Accounts(database_path(server.data_dir))
    token = accounts.add_user("ann", ["ws_a"])
    accounts.close()
    with RealtimeClient(server.url, token) as http:
        yield http


def test_a_forbidden_workspace_keeps_no_one_else_out_and_is_a_refusal(qtbot, runner, server,
                                                                      ann):
    k = keeper(runner, "ws_a", "ws_sales")
    joined: list[list[dict[str, object]]] = []
    k.joined.connect(joined.append)
    with qtbot.waitSignal(k.join_failed, timeout=WAIT_MS) as failed:
        k.join(ann)
    assert [[e["client_id"] for e in entries] for entries in joined] == [["inst:ws_a"]]
    message, refused = failed.args
    assert message.startswith("could not join presence: ws_sales: ") and "HTTP 403" in message
    assert refused
    assert [e["client_id"] for e in server.bus.presence()] == ["inst:ws_a"]


def test_a_refresh_says_when_a_refusal_starts_and_when_it_is_over(qtbot, runner, server, ann):
    accounts = Accounts(database_path(server.data_dir))
    k = keeper(runner, "ws_a")
    with qtbot.waitSignal(k.joined, timeout=WAIT_MS):
        k.join(ann)
    try:
        accounts.revoke("ann", ["ws_a"])  # while the app runs
        with qtbot.waitSignal(k.join_failed, timeout=WAIT_MS) as failed:
            k.keep_alive(ann, 0.9)
        assert failed.args[1] and "HTTP 403" in failed.args[0]
        accounts.grant("ann", ["ws_a"])
        with qtbot.waitSignal(k.joined, timeout=WAIT_MS):
            pass  # the next refresh joins again, and says so once
    finally:
        k.stop_keep_alive()
        accounts.close()


def test_keep_alive_rejoins_every_third_of_the_ttl_quietly(qtbot, runner, server, client):
    k = keeper(runner, "ws_a")
    with qtbot.waitSignal(k.joined, timeout=WAIT_MS):
        k.join(client)
    first = server.bus.presence_entry("inst:ws_a")
    assert first is not None
    proven = first.proven_at
    joined: list[object] = []
    k.joined.connect(joined.append)
    k.keep_alive(client, 0.9)  # every 0.3 s
    assert k.keeping_alive and k._alive_timer.interval() == 300  # noqa: SLF001
    qtbot.waitUntil(lambda: server.bus.presence_entry("inst:ws_a").proven_at > proven,
                    timeout=WAIT_MS)
    assert joined == []  # a refresh changes nothing anyone sees
    k.stop_keep_alive()
    assert not k.keeping_alive


@pytest.mark.parametrize(
    ("ttl", "interval_ms"),
    [(None, int(DEFAULT_TTL / 3 * 1000)), (0.0, int(DEFAULT_TTL / 3 * 1000)),
     (30.0, 10_000), (0.01, int(MIN_REFRESH * 1000))],
)
def test_keep_alive_period_follows_the_servers_ttl(runner, ttl, interval_ms):
    k = keeper(runner)
    k.keep_alive(object(), ttl)
    try:
        assert k._alive_timer.interval() == interval_ms  # noqa: SLF001
    finally:
        k.stop_keep_alive()


class LeavingClient:
    """Leaves as told: ``ok`` at once, ``fail`` with an error, ``hang`` until released."""

    def __init__(self, behaviour: dict[str, str]) -> None:
        self.behaviour = behaviour
        self.timeouts: dict[str, float] = {}
        self.release = threading.Event()
        self.all_started = threading.Barrier(len(behaviour), timeout=WAIT_MS / 1000)

    def leave(self, client_id: str, timeout: float = 1.0) -> None:
        self.timeouts[client_id] = timeout
        self.all_started.wait()  # every leave is under way at once, or this breaks
        what = self.behaviour[client_id.split(":")[1]]
        if what == "fail":
            raise ApiError(0, "connection refused")
        if what == "hang":
            self.release.wait(WAIT_MS / 1000)


def test_leaving_at_quit_is_parallel_and_confirms_what_the_server_took(runner):
    k = keeper(runner, "ws_a", "ws_b", "ws_c")
    client = LeavingClient({"ws_a": "ok", "ws_b": "fail", "ws_c": "ok"})
    deadline = time.monotonic() + WAIT_MS / 1000
    done = k.leave_all_blocking(client, deadline)
    assert sorted(done) == ["inst:ws_a", "inst:ws_c"]
    assert all(0 < t <= WAIT_MS / 1000 for t in client.timeouts.values())  # the time left


def test_a_hanging_leave_is_abandoned_at_the_deadline(runner):
    k = keeper(runner, "ws_a", "ws_z")
    client = LeavingClient({"ws_a": "ok", "ws_z": "hang"})
    deadline = time.monotonic() + WAIT_MS / 1000
    waits: list[float] = []

    def clock() -> float:
        """Real time for the leaves; for the quit thread, time is up once ws_a was waited for."""
        if threading.current_thread() is not threading.main_thread():
            return time.monotonic()
        waits.append(1.0)
        return time.monotonic() if len(waits) == 1 else deadline

    try:
        done = k.leave_all_blocking(client, deadline, clock)
        assert done == ["inst:ws_a"]  # returned without waiting for ws_z
    finally:
        client.release.set()


def test_leave_against_a_real_server_removes_the_entries(qtbot, runner, server, client):
    k = keeper(runner, "ws_a", "ws_b")
    with qtbot.waitSignal(k.joined, timeout=WAIT_MS):
        k.join(client)
    done = k.leave_all_blocking(client, time.monotonic() + WAIT_MS / 1000)
    assert sorted(done) == ["inst:ws_a", "inst:ws_b"]
    assert server.bus.presence() == []


def test_every_join_says_the_status_and_send_status_changes_it(qtbot, runner, server, client):
    k = keeper(runner, "ws_a", "ws_b")
    k.status = StatusState(AWAY, "Lunch")
    with qtbot.waitSignal(k.joined, timeout=WAIT_MS) as joined:
        k.join(client)
    assert {(e["status"], e["status_text"]) for e in joined.args[0]} == {(AWAY, "Lunch")}
    server.bus.leave("inst:ws_b", reason="expired")  # the server lost one: joined again
    done = threading.Event()
    k.send_status(client, StatusState(DND, None), done.set)
    qtbot.waitUntil(done.is_set, timeout=WAIT_MS)
    assert k.status == StatusState(DND, None)
    assert {(e["client_id"], e["status"], e.get("status_text"))
            for e in server.bus.presence()} == {("inst:ws_a", DND, None),
                                                ("inst:ws_b", DND, None)}


def test_held_no_join_goes_out_until_the_rejoin_names_the_status(qtbot, runner, server, client):
    k = keeper(runner, "ws_a")
    k.hold()
    k.join(client)  # a reconnect while asleep
    k.keep_alive(client, 0.3)  # a refresh every 0.2 s (the least)
    joined: list[list[dict[str, object]]] = []
    k.joined.connect(joined.append)
    with qtbot.waitSignal(k.joined, timeout=WAIT_MS):
        k.rejoin(client, StatusState(IDLE, None))
    assert not k.held and k.status == StatusState(IDLE, None)
    assert [[e["status"] for e in entries] for entries in joined] == [[IDLE]]  # the first
    k.stop_keep_alive()


class GatedClient:
    """Joins wait for ``gate``; every join and set_status is recorded, in order."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.said: list[tuple[str, str | None]] = []

    def join(self, workspace_id=None, client_id=None, display_name=None, status=None,
             status_text=None):
        assert self.gate.wait(WAIT_MS / 1000)
        with self.lock:
            self.said.append(("join", status))
        return {"client_id": client_id, "status": status}

    def set_status(self, client_id, status, status_text=None):
        with self.lock:
            self.said.append(("status", status))
        return {"client_id": client_id, "status": status}

    def leave(self, client_id, timeout=1.0):
        with self.lock:
            self.said.append(("leave", client_id))


def test_a_join_that_lands_after_a_change_is_followed_by_the_current_status(qtbot, runner):
    k = keeper(runner, "ws_a")
    gated = GatedClient()
    k.join(gated)  # carries "active", held up on its way
    done = threading.Event()
    k.send_status(gated, StatusState(AWAY, None), done.set)  # overtakes it
    qtbot.waitUntil(done.is_set, timeout=WAIT_MS)
    with qtbot.waitSignal(k.joined, timeout=WAIT_MS):
        gated.gate.set()  # the stale join arrives last...
    qtbot.waitUntil(lambda: len(gated.said) == 3, timeout=WAIT_MS)
    # ...and is followed by the current status (fails without PresenceKeeper._settle)
    assert gated.said == [("status", AWAY), ("join", "active"), ("status", AWAY)]


@pytest.mark.parametrize("how", ["retire", "quit"])
def test_a_leave_waits_for_the_join_under_way_and_no_round_follows_it(qtbot, runner, how):
    # requests on different threads reach a server in any order: a join still under way
    # when the connection leaves must not land after the leave (the entry would come back)
    k = keeper(runner, "ws_a")
    gated = GatedClient()
    with qtbot.waitSignal(k.joined, timeout=WAIT_MS):
        k.join(gated)  # held up on its way
        qtbot.waitUntil(lambda: k._under_way == 1, timeout=WAIT_MS)  # noqa: SLF001
        leaving = threading.Thread(target=(
            (lambda: k.retire(gated, ["inst:ws_a"], timeout=1.0)) if how == "retire" else
            (lambda: k.leave_all_blocking(gated, time.monotonic() + WAIT_MS / 1000))))
        leaving.start()
        qtbot.waitUntil(lambda: gated in k._retired, timeout=WAIT_MS)  # noqa: SLF001
        gated.gate.set()
        leaving.join(WAIT_MS / 1000)
    assert gated.said == [("join", "active"), ("leave", "inst:ws_a")]  # fails without the wait
    finished = threading.Event()
    k.send_status(gated, StatusState(AWAY, None), finished.set)
    k.join(gated)
    qtbot.waitUntil(finished.is_set, timeout=WAIT_MS)
    runner.wait_idle(WAIT_MS / 1000)
    assert gated.said == [("join", "active"), ("leave", "inst:ws_a")]  # retired: nothing more
