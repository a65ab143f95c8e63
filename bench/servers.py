"""Start the server under test in its own process: the baseline or the project.

Both run under uvicorn on a free loopback port; the runner only talks HTTP to
them and reads their memory and CPU from /proc through psutil.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import psutil

__all__ = ["KINDS", "ServerProcess", "ServerStartError", "free_port"]

KINDS = ("project", "baseline")
REPO = Path(__file__).resolve().parent.parent


class ServerStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command(kind: str, port: int, data_dir: Path, args: Sequence[str] = ()) -> list[str]:
    if kind == "baseline":
        return [sys.executable, "-m", "bench.baseline_server", "--port", str(port)]
    if kind == "project":  # exactly what `lattice-rt serve --no-auth` runs
        # every load client comes from 127.0.0.1: no per-address connection cap
        return [sys.executable, "-m", "lattice_rt_core.cli", "serve", "--no-auth",
                "--port", str(port), "--data-dir", str(data_dir),
                "--max-client-connections", "0", *args]
    raise ValueError(f"unknown server kind {kind!r}")


class ServerProcess:
    """A server under test; use as a context manager (stops and cleans up).

    ``args``: more options for ``lattice-rt serve`` (``--redis URL`` for a node).
    """

    def __init__(
        self, kind: str, *, log_dir: Path | None = None, args: Sequence[str] = ()
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown server kind {kind!r}; expected one of {KINDS}")
        self.kind = kind
        self.args = tuple(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp = tempfile.TemporaryDirectory(prefix=f"bench-{kind}-")
        self.data_dir = Path(self._tmp.name) / "data"
        self._log_path = (log_dir or Path(self._tmp.name)) / f"server-{kind}-{self.port}.log"
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self._log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self._proc = subprocess.Popen(
            _command(self.kind, self.port, self.data_dir, self.args),
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env,
        )
        self.ps = psutil.Process(self._proc.pid)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._proc.poll() is not None:
                    raise ServerStartError(f"{self.kind} server exited: {self.log_tail()}")
                try:
                    if client.get(self.url + "/realtime/feed?limit=1").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerStartError(f"{self.kind} server not ready in {timeout:g} s")
                time.sleep(0.05)

    def stats(self) -> dict[str, Any]:
        response = httpx.get(self.url + "/realtime/feed?limit=0", timeout=10.0)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()["stats"]
        return stats

    def wait_subscribers(self, count: int, timeout: float = 60.0) -> int:
        """Poll the server's own count until ``count`` streams are registered."""
        deadline = time.monotonic() + timeout
        while True:
            seen = int(self.stats()["subscribers"])
            if seen >= count or time.monotonic() > deadline:
                return seen
            time.sleep(0.05)

    def rss(self) -> int:
        assert self.ps is not None
        return int(self.ps.memory_info().rss)

    def cpu_seconds(self) -> float:
        assert self.ps is not None
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self._tmp.cleanup()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
