"""README's "Run a team server" and "Scale out", run as written, so their commands stay true.

The shell blocks of a section are taken from README.md and run with bash in a
temporary directory, with only the substitutions a test needs: ports become
free ones, the server's name ``team.example.lan`` becomes ``localhost`` and
"every address" (``0.0.0.0``) loopback. Everything else is the README's text.

* Team server: the team CA and the server certificate made with openssl, the
  server over TLS, an account added on the server, a teammate's ``lattice-rt
  tail`` over https with the CA file from the environment, and administration
  through the URL with the owner token. (Its systemd and reverse-proxy blocks
  are checked by tests/packaging and tests/e2e/test_reverse_proxy.py.)
* Scale out: a private redis-server, three nodes on it, an event published
  through one node and read from the others, every node's health naming the
  same server, and an account added through one node.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.paths import OWNER_TOKEN_FILE
from tests.e2e.proxies import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
WAIT = 30.0



def _blocks(section: str, replacements: dict[str, str]) -> list[str]:
    """The ``sh`` blocks of README's ``section`` with ``replacements`` made."""
    text = README.read_text()
    part = text[text.index(f"<!-- section: {section} -->"):
                text.index(f"<!-- /section: {section} -->")]
    blocks = re.findall(r"```sh\n(.*?)```", part, re.S)
    for old, new in replacements.items():
        assert any(old in b for b in blocks), f"README's {section} section no longer has {old!r}"
        blocks = [b.replace(old, new) for b in blocks]
    return blocks


def _steps(block: str) -> list[str]:
    """A block's numbered steps (``# 1. ...``), each with its comment line."""
    return re.split(r"(?m)^(?=# \d\. )", block)[1:]


def _needs(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/sysdeps.sh test installs it)")


class Shell:
    """``bash -c`` a README block in ``cwd`` with ``env``; its output lines on a queue."""

    def __init__(self, script: str, cwd: Path, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, fragment: str) -> str:
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no {fragment!r} in {self.seen}") from None
            self.seen.append(line)
            if fragment in line:
                return line

    def stop(self) -> None:
        """SIGTERM to the whole group (what the block left in the background too), and
        wait until every process of it closed the output."""
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass  # the group is gone
        self.popen.wait(WAIT)
        self.reader.join(WAIT)
        assert self.popen.stdout is not None
        self.popen.stdout.close()


def _run(script: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                          text=True, capture_output=True, timeout=WAIT)
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A shell's environment: this venv's commands first, no LATTICE_RT_* of the caller's,
    data in the test's directory."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LATTICE_RT_")}
    clean["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{clean.get('PATH', '')}"
    clean["LATTICE_RT_DATA_DIR"] = str(tmp_path / "server-data")  # "on the server"
    return clean


def test_the_team_server_section_works_as_written(tmp_path, env):
    _needs("openssl")
    work, port = tmp_path, free_port()
    blocks = _blocks("team", {"team.example.lan": "localhost", "0.0.0.0": "127.0.0.1",
                              ":8765": f":{port}",
                              "lattice-rt serve ": f"lattice-rt serve --port {port} "})
    setup, teammate, admin = blocks[0], blocks[1], blocks[2]
    certificates, serve, account = _steps(setup)
    assert "lattice-rt serve" in serve and "--tls-cert" in serve
    assert "user add ada" in account

    _run(certificates, work, env)  # 1. the team's CA and the server's certificate
    server = Shell(serve.replace("lattice-rt serve", "exec lattice-rt serve"), work, env)
    try:
        assert server.wait_for("serving ").endswith(f"serving https://127.0.0.1:{port}")
        server.wait_for("Stop with Ctrl-C.")
        # 3. an account, on the server (the last line printed is the token)
        token = _run(account, work, env).strip().splitlines()[-1]

        # a teammate: only the URL, the token and ca.pem (no data dir of the server's)
        mate_env = {**env, "LATTICE_RT_DATA_DIR": str(work / "teammate")}
        owner = (work / "server-data" / OWNER_TOKEN_FILE).read_text().strip()
        with RealtimeClient(f"https://localhost:{port}", owner, ca_file=work / "ca.pem") as it:
            it.publish("workflow", "workflow_run", {"run_id": "readme"}, "ws_marketing")
        tail = Shell(teammate.replace("<ada's token>", token), work, mate_env)
        try:  # a new stream begins with the latest events: this one
            line = tail.wait_for('"workflow_run"')
            assert json.loads(line)["payload"] == {"run_id": "readme"}
        finally:
            tail.stop()

        # administration from anywhere: the owner token through the URL
        _run(admin, work, env)
        with RealtimeClient(f"https://localhost:{port}", token,
                            ca_file=work / "ca.pem") as ada:
            assert sorted(ada.health()["workspaces"]) == ["ws_marketing", "ws_research"]
    finally:
        server.stop()
    assert server.popen.returncode == 0


def test_the_scale_out_section_works_as_written(tmp_path, env):
    _needs("redis-server", "redis-cli", "curl", "jq")
    work, redis_port = tmp_path, free_port()
    ports = [free_port() for _ in range(3)]
    block = _blocks("scale", {"6380": str(redis_port), **{
        str(8765 + i): str(p) for i, p in enumerate(ports)}})[0]
    redis, nodes, check = _steps(block)
    try:
        _run(redis, work, env)  # 1. a private redis-server (it daemonizes)
        started = Shell(nodes, work, env)  # 2. three nodes, in the background
        try:
            for _ in ports:
                started.wait_for("Stop with Ctrl-C.")
            out = _run(check, work, env).splitlines()  # 3. publish, read, health, an account
            _check_scale_out(out, ports)
        finally:
            started.stop()
    finally:
        subprocess.run(["redis-cli", "-p", str(redis_port), "shutdown", "nosave"],
                       capture_output=True, timeout=WAIT)


def _check_scale_out(out: list[str], ports: list[int]) -> None:
    events = [json.loads(line) for line in out if line.startswith("{")]
    # as published through one node, in the feed of another, on the stream of the third
    assert [(e["seq"], e["payload"]) for e in events] == [(1, {"run_id": "wf-run-7"})] * 3
    healths = [json.loads(line) for line in out if line.startswith("[")]
    assert len(healths) == 3 and all(h[:2] == ["ok", "redis"] and h[4] == 1 for h in healths)
    assert len({(h[2], h[3]) for h in healths}) == 1  # one server id and epoch on every node
    token = out[-1]
    with RealtimeClient(f"http://127.0.0.1:{ports[2]}", token) as ada:  # added on another
        assert ada.health()["workspaces"] == ["ws_marketing"]
