"""``lattice-rt serve --redis URL --workers N``: N node processes on one port.

A Python process uses one core; N workers, each a full node of the cluster
in Redis, use N. The supervisor (the process you started) holds the data
directory's lock, owns the port and ``server.json``, and does no serving itself:

* on Linux, workers bind the port with ``SO_REUSEPORT`` and the kernel
  spreads new connections over them (the supervisor only reserves the port,
  so ``--port 0`` means one port for all); elsewhere the supervisor listens
  and the workers inherit that socket and accept from it;
* each worker reads its configuration as one JSON line on stdin and keeps
  stdin open: end of file means the supervisor is gone (even after a
  ``kill -9``), and the worker stops;
* a worker that exits unexpectedly is started again (after a second); a
  clean stop (Ctrl-C, SIGTERM) closes every worker's stdin, waits for them
  to stop, then removes ``server.json``.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from lattice_rt_core.http.guard import allowed_hosts
from lattice_rt_core.paths import ensure_data_dir, remove_server_info, write_server_info
from lattice_rt_core.process.child import (
    CONFIG_FIELDS,
    READY,
    RESTART_DELAY,
    START_WAIT,
    STOP_WAIT,
    config_from_line,
    config_line,
    read_line,
)
from lattice_rt_core.process.dirlock import DataDirInUse, DataDirLock
from lattice_rt_core.process.listen import bind_socket
from lattice_rt_core.server import RealtimeServer, ServerConfig, ServerError

__all__ = ["Supervisor", "main", "reuse_port_spreads", "run_worker"]

log = logging.getLogger(__name__)

def reuse_port_spreads() -> bool:
    """Does SO_REUSEPORT spread connections over the listening sockets here? (Linux)"""
    return sys.platform.startswith("linux") and hasattr(os, "sched_getaffinity")


def run_worker(stdin: IO[str], stdout: IO[str], stop: threading.Event) -> int:
    """A worker: serve with the configuration read from ``stdin`` until it closes or ``stop``."""
    line = stdin.readline()
    if not line.strip():
        return 0  # dismissed before it was given anything to serve (a warm child)
    config = config_from_line(line)
    server = RealtimeServer(config)
    try:
        server.start()
    except ServerError as exc:
        print(f"error {exc}", file=stdout, flush=True)
        return 1

    def watch_parent() -> None:
        while stdin.readline():
            pass
        stop.set()

    threading.Thread(target=watch_parent, name="supervisor-watch", daemon=True).start()
    print(f"{READY} {os.getpid()} {server.url}", file=stdout, flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
    return 0


def main() -> int:
    """A worker or a child endpoint (``python -m lattice_rt_core.process``, or the CLI's
    hidden ``_worker`` in a frozen bundle): started by a program, not by people.

    It loads the server's stack and nothing of the client's: its start is on the
    critical path of the tray app's.
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.set())
    return run_worker(sys.stdin, sys.stdout, stop)


@dataclass
class _Worker:
    index: int
    popen: subprocess.Popen[str]


class Supervisor:
    """Starts ``count`` workers for ``config`` and keeps them running until :meth:`stop`."""

    def __init__(self, config: ServerConfig, count: int, command: Sequence[str],
                 say: Callable[[str], None] = lambda text: None) -> None:
        """``command``: how to start this program as a worker (``lattice-rt _worker``),
        given by the program that runs the supervisor."""
        if count < 2:
            raise ValueError("a supervisor needs at least two workers")
        self.config = config
        self.count = count
        self.command = list(command)
        self.say = say
        self.url = ""
        self._workers: dict[int, _Worker] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._socket: socket.socket | None = None
        self._dir_lock: DataDirLock | None = None
        self._wrote_server_info = False
        self._instance = secrets.token_hex(16)  # names this supervisor in server.json
        self._worker_config = config
        self.address: tuple[str, int] = (config.host, config.port)

    @property
    def tls(self) -> bool:
        return self.config.tls_cert is not None

    @property
    def allowed_hosts(self) -> list[str]:
        """The ``Host`` values requests may carry (as each worker's guard has them)."""
        return sorted(allowed_hosts(self.address[1], self.config.allowed_hosts))

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [w.popen.pid for w in self._workers.values()]

    def start(self) -> None:
        """Hold the data directory, take the port, start the workers; undo it all on failure."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        cfg = self.config
        try:
            self._dir_lock = DataDirLock(ensure_data_dir(cfg.data_dir))
            self._dir_lock.acquire()
        except DataDirInUse as exc:
            self._dir_lock = None
            raise ServerError(str(exc)) from None
        except OSError as exc:
            self._dir_lock = None
            raise ServerError(f"cannot use data directory {cfg.data_dir}: {exc}") from exc
        if reuse_port_spreads():
            # reserve the port (a concrete one for --port 0); the workers listen on it
            self._socket = bind_socket(cfg.host, cfg.port, cfg.heartbeat,
                                       reuse_port=True, listen=False)
            port = self._socket.getsockname()[1]
            worker = {"port": port, "reuse_port": True}
        else:
            self._socket = bind_socket(cfg.host, cfg.port, cfg.heartbeat)
            port = self._socket.getsockname()[1]
            worker = {"port": port, "listen_fd": self._socket.fileno()}
        self.address = (cfg.host, port)
        self._worker_config = ServerConfig(**{
            **{name: getattr(cfg, name) for name in CONFIG_FIELDS}, **worker})
        launched = [self._launch() for _ in range(self.count)]  # they start in parallel
        for index, popen in enumerate(launched):
            self._adopt(index, popen)
        if cfg.write_server_info:
            self._wrote_server_info = write_server_info(cfg.data_dir, self.url, auth=cfg.auth,
                                                        instance=self._instance)

    def _launch(self) -> subprocess.Popen[str]:
        fd = self._worker_config.listen_fd
        popen = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            pass_fds=(fd,) if fd is not None else (),
        )
        assert popen.stdin is not None
        popen.stdin.write(config_line(self._worker_config) + "\n")
        popen.stdin.flush()
        return popen

    def _adopt(self, index: int, popen: subprocess.Popen[str]) -> None:
        """Wait for ``popen`` to serve, then watch it (a ServerError if it does not start)."""
        assert popen.stdout is not None
        with self._lock:
            self._workers[index] = _Worker(index, popen)  # stop() ends it whatever happens
        line = read_line(popen.stdout, START_WAIT)
        if not line.startswith(READY + " "):
            popen.kill()
            popen.wait()
            reason = line[len("error "):] if line.startswith("error ") else (
                line or "it exited without a word")
            raise ServerError(f"worker {index} did not start: {reason}")
        self.url = line.split(" ", 2)[2]
        threading.Thread(target=self._watch, args=(index, popen), daemon=True,
                         name=f"worker-{index}").start()

    def _watch(self, index: int, popen: subprocess.Popen[str]) -> None:
        code = popen.wait()
        if self._stopping.is_set():
            return
        self.say(f"worker {index} (pid {popen.pid}) exited with status {code}; "
                 f"starting it again")
        while not self._stopping.wait(RESTART_DELAY):
            try:
                self._adopt(index, self._launch())
                return
            except (ServerError, OSError) as exc:
                self.say(f"worker {index} could not be started again: {exc}")

    def stop(self) -> None:
        """Stop every worker (end of their stdin), then release the port and server.json."""
        self._stopping.set()
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            if worker.popen.stdin is not None:
                try:
                    worker.popen.stdin.close()
                except OSError:
                    pass
        deadline = time.monotonic() + STOP_WAIT
        for worker in workers:
            try:
                worker.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.popen.send_signal(signal.SIGKILL)
                worker.popen.wait()
            if worker.popen.stdout is not None:
                worker.popen.stdout.close()
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._wrote_server_info:
            self._wrote_server_info = False
            remove_server_info(self.config.data_dir, self._instance)  # only if still ours
        if self._dir_lock is not None:  # last: the directory is free once all is closed
            self._dir_lock.release()
            self._dir_lock = None
