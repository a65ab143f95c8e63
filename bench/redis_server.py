"""A private ``redis-server``: a free loopback port, its own directory, never a service.

Used by figure 7 (``bench/cluster.py``) and, through ``tests/redis_server.py``,
by the tests. Readiness is the server's own "Ready to accept connections" line.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
from pathlib import Path

from bench.servers import free_port

__all__ = ["RedisServer", "RedisStartError"]

WAIT = 20.0


class RedisStartError(RuntimeError):
    pass


class RedisServer:
    """``redis-server`` on 127.0.0.1.

    ``appendfsync``: None runs without persistence (no RDB, no AOF);
    "always" or "everysec" turns the append-only file on with that fsync.
    """

    def __init__(self, directory: Path, *, appendfsync: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisStartError("redis-server is not installed (scripts/sysdeps.sh installs it)")
        self.binary = binary
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.appendfsync = appendfsync
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    def command(self) -> list[str]:
        return [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--save", "", "--daemonize", "no",
            "--appendonly", "no" if self.appendfsync is None else "yes",
            "--appendfsync", self.appendfsync or "everysec",
            "--logfile", "", "--loglevel", "notice",
        ]

    def start(self) -> RedisServer:
        proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        self.proc = proc
        ready = threading.Event()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.log.append(line.rstrip("\n"))
                if "Ready to accept connections" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(WAIT) or proc.poll() is not None:
            self.stop()
            raise RedisStartError("redis-server did not start:\n" + "\n".join(self.log[-20:]))
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        """A clean stop (SIGTERM): with the AOF on, everything acknowledged is on disk."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
