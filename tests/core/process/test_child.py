"""The endpoint in a child process (the tray app's "this computer"): real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from lattice_rt_core.process.child import (
    WORKER_COMMAND,
    ChildServer,
    dismiss,
    spawn_warm,
    worker_command,
)
from lattice_rt_core.process.config import ServerConfig, ServerError
from tests.core.http_helpers import bearer

WAIT = 30.0

pytestmark = pytest.mark.skipif(os.name != "posix", reason="child endpoints are POSIX only")


@pytest.fixture
def child(tmp_path: Path) -> Iterator[ChildServer]:
    server = ChildServer(ServerConfig(port=0, data_dir=tmp_path / "data"), restart_delay=0.1)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def owner(server: ChildServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=bearer(server.owner_token), timeout=WAIT)


def test_the_child_serves_the_data_dir_as_serve_does(child: ChildServer) -> None:
    assert child.pid is not None and child.pid != os.getpid()
    info = json.loads((child.data_dir / "server.json").read_text())
    assert info["url"] == child.url and info["pid"] == child.pid
    with owner(child) as client:
        assert client.get("/realtime/health").json()["status"] == "ok"
        seq = client.post("/realtime/events", json={"payload": {"n": 1}}).json()["events"][0]
        assert seq["seq"] == 1
    assert httpx.get(child.url + "/realtime/feed").status_code == 401  # auth is on


def test_a_clean_stop_ends_the_child_and_frees_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ChildServer(ServerConfig(port=0, data_dir=data))
    first.start()
    pid = first.pid
    assert pid is not None
    first.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not (data / "server.json").exists()
    again = ChildServer(ServerConfig(port=0, data_dir=data))  # the lock was released
    again.start()
    again.stop()


def test_a_child_that_dies_is_replaced_on_the_same_url_with_its_journal(
    child: ChildServer,
) -> None:
    with owner(child) as client:
        client.post("/realtime/events", json={"payload": {"before": True}})
    url, victim = child.url, child.pid
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    assert child.wait_restarted(1, WAIT)
    assert child.url == url and child.pid != victim
    with owner(child) as client:
        feed = client.get("/realtime/feed").json()["events"]
        assert [e["payload"] for e in feed] == [{"before": True}]
        nxt = client.post("/realtime/events", json={"payload": {}}).json()["events"][0]
        assert 1 < nxt["seq"] <= 2 + 2048  # never reused: a kill skips the rest of a block


def test_the_child_stops_by_itself_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, threading
        from pathlib import Path
        from lattice_rt_core.process.child import ChildServer
        from lattice_rt_core.process.config import ServerConfig
        server = ChildServer(ServerConfig(port=0, data_dir=Path({str(tmp_path / "d")!r})))
        server.start()
        print(server.pid, flush=True)
        threading.Event().wait()
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    child = psutil.Process(pid)
    parent.kill()
    parent.wait(WAIT)
    parent.stdout.close()
    gone, alive = psutil.wait_procs([child], timeout=WAIT)
    assert alive == [] and len(gone) == 1
    assert not (tmp_path / "d" / "server.json").exists()  # it stopped cleanly


def test_a_ctrl_c_in_the_terminal_reaches_only_the_parent(child: ChildServer) -> None:
    assert child.pid is not None
    assert os.getsid(child.pid) != os.getsid(0)
    assert os.getpgid(child.pid) != os.getpgid(0)


def test_a_data_dir_in_use_is_a_server_error_and_leaves_no_process(
    child: ChildServer, tmp_path: Path
) -> None:
    before = {p.pid for p in psutil.Process().children()}
    second = ChildServer(ServerConfig(port=0, data_dir=child.data_dir))
    with pytest.raises(ServerError, match="in use"):
        second.start()
    assert second.pid is None
    assert {p.pid for p in psutil.Process().children() if p.status() != "zombie"} <= before


def test_the_child_loads_no_client_stack() -> None:
    probe = ("import sys, runpy; sys.argv = ['x']; sys.stdin = open('/dev/null')\n"
             "try:\n    runpy.run_module('lattice_rt_core.process', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print(sorted(m for m in ('httpx', 'lattice_rt_core.client', 'PySide6') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=WAIT, check=True)
    assert out.stdout.strip() == "[]"


def test_a_warm_child_is_adopted(tmp_path: Path) -> None:
    warm = spawn_warm()
    assert warm is not None
    server = ChildServer(ServerConfig(port=0, data_dir=tmp_path / "data"), warm=lambda: warm)
    server.start()
    try:
        assert server.pid == warm.pid
        with owner(server) as client:
            assert client.get("/realtime/health").json()["status"] == "ok"
    finally:
        server.stop()


@pytest.mark.parametrize("command", [
    worker_command(), [sys.executable, "-m", "lattice_rt_core.cli", WORKER_COMMAND],
], ids=["module", "cli"])
def test_a_warm_child_dismissed_unused_exits_quietly(command: list[str]) -> None:
    warm = subprocess.Popen(
        command,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    stderr = warm.stderr
    warm.stderr = None  # dismiss() closes stdin and stdout; the test reads stderr
    dismiss(warm)
    assert warm.returncode == 0
    assert stderr is not None and stderr.read() == ""
    stderr.close()
