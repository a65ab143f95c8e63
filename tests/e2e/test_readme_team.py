"""README's "Run a team server", run as written, so its commands stay true.

The shell blocks of the section are taken from README.md and run with bash in
a temporary directory, with three substitutions a test needs: the server's
name ``team.example.lan`` becomes ``localhost``, "every address" (``0.0.0.0``)
becomes loopback, and the port 8765 a free one. Everything else is the
README's text: the team CA and the server certificate made with openssl, the
server over TLS, an account added on the server, a teammate's ``lattice-rt
tail`` over https with the CA file from the environment, and administration
through the URL with the owner token. (The systemd and reverse-proxy blocks
are checked by tests/packaging and tests/e2e/test_reverse_proxy.py.)
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
from collections.abc import Iterator
from pathlib import Path

import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.paths import OWNER_TOKEN_FILE

from .proxies import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
WAIT = 30.0

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _blocks() -> list[str]:
    text = README.read_text()
    section = text[text.index("<!-- section: team -->"):text.index("<!-- /section: team -->")]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


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
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
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
def as_written(tmp_path: Path) -> Iterator[tuple[Path, int, dict[str, str], list[str]]]:
    port = free_port()

    def adapt(block: str) -> str:
        return (block.replace("team.example.lan", "localhost").replace("0.0.0.0", "127.0.0.1")
                .replace(":8765", f":{port}")
                .replace("lattice-rt serve ", f"lattice-rt serve --port {port} "))

    env = {k: v for k, v in os.environ.items() if not k.startswith("LATTICE_RT_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["LATTICE_RT_DATA_DIR"] = str(tmp_path / "server-data")  # "on the server"
    yield tmp_path, port, env, [adapt(b) for b in _blocks()]


def test_the_team_server_section_works_as_written(as_written):
    work, port, env, blocks = as_written
    setup, teammate, admin = blocks[0], blocks[1], blocks[2]
    certificates, serve, account = re.split(r"(?m)^(?=# \d\. )", setup)[1:]  # its steps
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
