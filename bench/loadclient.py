"""The runner's side of the load generator: spawn, wait ready, finish, merge.

A :class:`LoadGroup` splits ``connections`` over ``processes`` load generator
processes (see :mod:`bench.loadgen`) and merges their results.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from bench.servers import REPO

__all__ = ["LoadError", "LoadGroup", "LoadResult"]


class LoadError(RuntimeError):
    pass


@dataclass
class LoadResult:
    """Merged results of every load generator process of a group."""

    connections: int
    frames: int
    gaps: int
    resets: int
    done: int
    first_rx_ns: int
    last_rx_ns: int
    marker_ns: list[int]
    latencies_ns: list[int]
    per_stream_min: int
    per_stream_max: int
    lost_connections: int
    client_cpu_s: float  # load generator CPU between "ready" and "result"
    finished_because: list[str] = field(default_factory=list)


class _Worker:
    def __init__(self, argv: list[str], stderr: IO[bytes]) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            text=True, bufsize=1, env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def message(self, expected: str, timeout: float) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise LoadError(f"load generator sent no {expected!r} in {timeout:g} s") from None
        if not line:
            raise LoadError(f"load generator exited (status {self.proc.wait()})")
        message: dict[str, Any] = json.loads(line)
        if message.get("event") != expected:
            raise LoadError(f"load generator: {message}")
        return message

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("exit")
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def split(total: int, parts: int) -> list[int]:
    """``total`` connections over ``parts`` processes, as evenly as possible."""
    parts = max(1, min(parts, total))
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class LoadGroup:
    """``connections`` SSE streams held by ``processes`` load generator processes."""

    def __init__(
        self,
        url: str,
        connections: int,
        *,
        marker: str,
        processes: int = 1,
        latency: bool = False,
        log_path: Path | None = None,
    ) -> None:
        self.url = url
        self.connections = connections
        self.marker = marker
        self.processes = processes
        self.latency = latency
        self.log_path = log_path or Path(os.devnull)
        self._workers: list[_Worker] = []
        self._log: IO[bytes] | None = None
        self.connected = 0
        self._ready_cpu = 0.0

    def start(self, timeout: float = 120.0) -> LoadGroup:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        for count in split(self.connections, self.processes):
            argv = [sys.executable, "-m", "bench.loadgen", "--url", self.url,
                    "--connections", str(count), "--marker", self.marker]
            if self.latency:
                argv.append("--latency")
            self._workers.append(_Worker(argv, self._log))
        deadline = time.monotonic() + timeout
        ready = [w.message("ready", max(0.1, deadline - time.monotonic())) for w in self._workers]
        self.connected = sum(int(r["connected"]) for r in ready)
        self._ready_cpu = sum(float(r["cpu_s"]) for r in ready)
        failed = sum(int(r["failed"]) for r in ready)
        if failed:
            errors = sorted({e for r in ready for e in r["errors"]})
            raise LoadError(f"{failed} of {self.connections} streams failed to open: {errors}")
        return self

    @property
    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._workers]

    def finish(self, idle: float, deadline: float) -> LoadResult:
        for worker in self._workers:
            worker.send(f"finish {idle} {deadline}")
        results = [w.message("result", deadline + 60.0) for w in self._workers]
        return LoadResult(
            connections=sum(r["connections"] for r in results),
            frames=sum(r["frames"] for r in results),
            gaps=sum(r["gaps"] for r in results),
            resets=sum(r["resets"] for r in results),
            done=sum(r["done"] for r in results),
            first_rx_ns=min((r["first_rx_ns"] for r in results if r["first_rx_ns"]), default=0),
            last_rx_ns=max((r["last_rx_ns"] for r in results), default=0),
            marker_ns=[t for r in results for t in r["marker_ns"]],
            latencies_ns=[t for r in results for t in r["latencies_ns"]],
            per_stream_min=min(r["per_stream_min"] for r in results),
            per_stream_max=max(r["per_stream_max"] for r in results),
            lost_connections=sum(r["lost_connections"] for r in results),
            client_cpu_s=sum(r["cpu_s"] for r in results) - self._ready_cpu,
            finished_because=sorted({r["finished_because"] for r in results}),
        )

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers.clear()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LoadGroup:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
