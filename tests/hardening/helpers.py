"""Shared pieces of the hardening tests: waiting on conditions, raw sockets, users."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
from httpx_sse import connect_sse

from lattice_rt_core.auth.accounts import Accounts
from lattice_rt_core.paths import database_path
from lattice_rt_core.server import RealtimeServer

T = TypeVar("T")

WAIT = 15.0  # generous deadline for conditions that normally hold within milliseconds


def wait_for(condition: Callable[[], T], what: str, timeout: float = WAIT, step: float = 0.01) -> T:
    """Poll ``condition`` until it is truthy (no signal exists for these) or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(step)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_users(data_dir: Path, spec: dict[str, list[str]]) -> dict[str, str]:
    """Create users with their workspaces; returns their tokens."""
    accounts = Accounts(database_path(data_dir))
    try:
        return {name: accounts.add_user(name, spaces) for name, spaces in spec.items()}
    finally:
        accounts.close()


def request_bytes(
    method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def open_raw_stream(
    server: RealtimeServer,
    token: str | None,
    *,
    query: str = "",
    rcvbuf: int | None = None,
) -> socket.socket:
    """A bare TCP client that asks for the stream (and then does whatever the test wants)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # before connect, so the window is small from the handshake on
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", server.port))
    headers = bearer(token) if token else {}
    sock.sendall(request_bytes("GET", "/realtime/stream" + query, f"127.0.0.1:{server.port}",
                               headers))
    return sock


@contextmanager
def sse_reader(
    server: RealtimeServer, headers: dict[str, str], params: object = None
) -> Iterator[Iterator[tuple[str, str, str]]]:
    """(event, id, data) of every frame with data, from a real httpx-sse stream."""
    with httpx.Client(base_url=server.url, headers=headers, timeout=WAIT) as client:
        with connect_sse(client, "GET", "/realtime/stream", params=params) as source:
            assert source.response.status_code == 200, source.response.read()

            def frames() -> Iterator[tuple[str, str, str]]:
                for sse in source.iter_sse():
                    if sse.data:
                        yield sse.event, sse.id, sse.data

            yield frames()


class ServeProcess:
    """``lattice-rt serve`` as a child process; stdout and stderr collected by threads.

    ``command`` replaces the whole command line (a shell that ends by exec-ing serve).
    """

    def __init__(self, *args: str, command: list[str] | None = None) -> None:
        import os
        import queue
        import subprocess
        import sys
        import threading

        self.popen = subprocess.Popen(
            command or [sys.executable, "-m", "lattice_rt_core.cli", "serve", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        assert self.popen.stdout is not None and self.popen.stderr is not None
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.popen.stdout, self.out.put),
                             daemon=True),
            threading.Thread(target=self._pump, args=(self.popen.stderr, self.err.append),
                             daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    @staticmethod
    def _pump(pipe: object, sink: Callable[[str], None]) -> None:
        for line in pipe:  # type: ignore[attr-defined]
            sink(line.rstrip("\n"))

    def url(self) -> str:
        """The URL from the ``... serving http://...`` line (waits for it)."""
        line = self.out.get(timeout=WAIT)
        assert " serving http://" in line, (line, self.err)
        return line.rsplit(" ", 1)[1]

    def finish(self, timeout: float = WAIT) -> int:
        code = self.popen.wait(timeout=timeout)
        for pump in self._pumps:
            pump.join(WAIT)
        return code

    def stdout_lines(self) -> list[str]:
        lines = []
        while not self.out.empty():
            lines.append(self.out.get())
        return lines

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.finish()
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()
