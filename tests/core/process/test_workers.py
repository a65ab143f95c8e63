"""``lattice-rt serve --redis URL --workers N``: N real processes on one port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from lattice_rt_core.engines.redis.engine import read_owner_token
from lattice_rt_core.engines.redis.store import RedisKeys
from lattice_rt_core.process import workers
from lattice_rt_core.process.child import worker_command
from lattice_rt_core.server import ServerConfig
from tests.core.http_helpers import bearer
from tests.redis_server import RedisServer

WAIT = 30.0


class Serve:
    """``lattice-rt serve --workers N`` as a child process."""

    def __init__(self, redis: RedisServer, data_dir: Path, count: int) -> None:
        self.data_dir = data_dir
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "lattice_rt_core.cli", "serve", "--port", "0",
             "--data-dir", str(data_dir), "--redis", redis.url, "--workers", str(count)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.popen.stdout is not None
        banner = self.popen.stdout.readline()
        assert " serving http://" in banner, (banner, self.popen.stderr)
        self.url = banner.rsplit(" ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.proc = psutil.Process(self.popen.pid)
        self.token = read_owner_token(redis.url, RedisKeys())

    def listeners(self) -> set[int]:
        """The pids listening on the port."""
        found = set()
        for child in self.proc.children():
            try:
                conns = child.net_connections("tcp")
            except psutil.NoSuchProcess:  # the one just killed, not yet reaped
                continue
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in conns):
                found.add(child.pid)
        return found

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(WAIT)
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def serve(redis_server: RedisServer, data_dir: Path) -> Iterator[Serve]:
    redis_server.client().flushall()  # type: ignore[attr-defined]
    running = Serve(redis_server, data_dir, 2)
    try:
        yield running
    finally:
        running.close()


def wait_until(condition: object, what: str) -> None:
    import time

    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_n_workers_listen_on_one_port_and_serve_one_server(serve: Serve) -> None:
    workers_ = {p.pid for p in serve.proc.children()}
    assert len(workers_) == 2 and serve.listeners() == workers_
    info = json.loads((serve.data_dir / "server.json").read_text())
    assert info["url"] == serve.url and info["pid"] == serve.popen.pid
    with httpx.Client(base_url=serve.url, headers=bearer(serve.token), timeout=WAIT) as owner:
        seqs = [owner.post("/realtime/events", json={"payload": {"i": i}}).json()["events"][0]
                ["seq"] for i in range(30)]
        assert seqs == list(range(1, 31))
        # every connection lands on some worker; each shows the same log
        for _ in range(12):
            with httpx.Client(base_url=serve.url, headers=bearer(serve.token)) as fresh:
                feed = fresh.get("/realtime/feed", params={"limit": 3}).json()
                assert [e["seq"] for e in feed["events"]] == [30, 29, 28]


def test_a_worker_that_dies_is_started_again(serve: Serve) -> None:
    victim = next(iter(serve.listeners()))
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in serve.listeners() and len(serve.listeners()) == 2,
               "a new worker on the port")
    assert httpx.get(serve.url + "/realtime/health").json()["status"] == "ok"


def test_a_clean_stop_stops_every_worker(serve: Serve) -> None:
    children = serve.proc.children()
    serve.popen.send_signal(signal.SIGTERM)
    assert serve.popen.wait(WAIT) == 0
    gone, alive = psutil.wait_procs(children, timeout=WAIT)
    assert alive == [] and len(gone) == 2
    assert not (serve.data_dir / "server.json").exists()


def test_workers_stop_by_themselves_when_the_supervisor_is_killed(serve: Serve) -> None:
    children = serve.proc.children()
    serve.popen.kill()
    serve.popen.wait(WAIT)
    gone, alive = psutil.wait_procs(children, timeout=WAIT)
    assert alive == [] and len(gone) == 2


def test_workers_need_redis(data_dir: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lattice_rt_core.cli", "serve", "--port", "0",
         "--data-dir", str(data_dir), "--workers", "2"],
        capture_output=True, text=True, timeout=WAIT,
        env={**os.environ, "LATTICE_RT_REDIS_URL": ""},
    )
    assert out.returncode == 2
    assert out.stderr.strip() == ("lattice-rt: error: --workers needs --redis: the processes "
                                  "share their state through Redis (see lattice-rt --help)")


def test_without_reuse_port_the_workers_share_the_supervisors_socket(
    redis_server: RedisServer, data_dir: Path, redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workers, "reuse_port_spreads", lambda: False)
    config = ServerConfig(port=0, data_dir=data_dir, redis_url=redis_server.url,
                          redis_prefix=redis_prefix)
    supervisor = workers.Supervisor(config, 2, worker_command())
    supervisor.start()
    procs = [psutil.Process(pid) for pid in supervisor.pids]
    try:
        port = int(supervisor.url.rsplit(":", 1)[1])

        def listening(proc: psutil.Process) -> bool:
            return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                       for c in proc.net_connections("tcp"))

        # the supervisor listens (with SO_REUSEPORT it only reserves the port) and
        # both workers hold that same socket
        assert listening(psutil.Process()) and all(listening(p) for p in procs)
        with httpx.Client(base_url=supervisor.url, timeout=WAIT) as anon:
            assert anon.get("/realtime/health").json()["status"] == "ok"
    finally:
        supervisor.stop()
    assert psutil.wait_procs(procs, timeout=WAIT)[1] == []
