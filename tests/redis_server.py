"""A real ``redis-server`` for the tests: a free loopback port, its own directory.

Never a system service: the process is the test's child, its data lives in a
temporary directory and it goes when the test (module) is done. Readiness is
its own "Ready to accept connections" line, not a timer.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest

WAIT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unique_prefix() -> str:
    """A key prefix of its own, so tests sharing one Redis never see each other."""
    return "{t-" + secrets.token_hex(6) + "}"


class RedisServer:
    """``redis-server`` on 127.0.0.1; ``persistent`` turns the AOF on (fsync always)."""

    def __init__(self, directory: Path, *, persistent: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run scripts/sysdeps.sh test")
        self.binary = binary
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.persistent = persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    def command(self) -> list[str]:
        return [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--save", "", "--daemonize", "no",
            "--appendonly", "yes" if self.persistent else "no",
            "--appendfsync", "always", "--logfile", "", "--loglevel", "notice",
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
            raise RuntimeError("redis-server did not start:\n" + "\n".join(self.log[-20:]))
        return self

    def client(self) -> object:
        import redis

        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        """A clean stop (SIGTERM): with the AOF on, everything acknowledged is on disk."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()

    def restart(self) -> RedisServer:
        """Stop and start again on the same port and directory."""
        self.stop()
        return self.start()
