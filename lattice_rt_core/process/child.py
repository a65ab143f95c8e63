"""The endpoint in a process of its own: what the tray app runs as "this computer".

A program that shows a window must not share its interpreter (its GIL, its
garbage collector, its cores) with a server under load, and a crash of one
must not take the other down. :class:`ChildServer` runs the endpoint as a child
process that serves the data directory exactly as ``lattice-rt serve`` would
(it holds the directory's lock, writes ``server.json`` and the owner token)
and keeps it running:

* the child is ``python -m lattice_rt_core.process`` (the hidden ``_worker``
  command of a frozen bundle; also what ``serve --workers N`` runs,
  :mod:`.workers`), which loads the server's stack and none of the client's:
  it reads its configuration as one JSON line on stdin, answers
  ``ready PID URL`` (or ``error REASON``) on stdout, and keeps stdin open:
  end of file means the parent is gone, even after a ``kill -9``, and the
  child stops cleanly;
* it runs in a session of its own, so a Ctrl-C in the terminal reaches only
  the parent, which stops it in order (after leaving presence);
* a child that exits unexpectedly is started again on the same port, so the
  parent's clients reconnect to the same URL and resume by event id;
* :func:`spawn_warm` starts a child before its configuration is known: it
  imports the server's stack (the slow part of a start) on another core while
  the parent imports its own, and :class:`ChildServer` adopts it.

This module imports no HTTP stack: the parent never loads the server.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from lattice_rt_core.paths import read_owner_token
from lattice_rt_core.process.config import ServerConfig, ServerError
from lattice_rt_core.protocol.defaults import WORKER_COMMAND

__all__ = [
    "CONFIG_FIELDS", "READY", "WORKER_COMMAND", "ChildServer", "config_from_line",
    "config_line", "dismiss", "read_line", "spawn_warm", "worker_command",
]

log = logging.getLogger(__name__)

READY = "ready"
START_WAIT = 30.0
STOP_WAIT = 10.0
RESTART_DELAY = 1.0
RESTART_DELAY_MAX = 30.0

# the ServerConfig fields a child takes from its parent
CONFIG_FIELDS = ("host", "port", "data_dir", "heartbeat", "presence_ttl", "auth",
           "journal_retention", "allowed_hosts", "tls_cert", "tls_key", "trusted_proxies",
           "redis_url", "reuse_port", "listen_fd", "max_head_bytes", "head_timeout",
           "tls_handshake_timeout", "max_client_connections", "auth_failure_limit",
           "auth_failure_window")
_PATHS = ("data_dir", "tls_cert", "tls_key")
_TUPLES = ("allowed_hosts", "trusted_proxies")
_OWNS = "owns_data_dir"


def worker_command() -> list[str]:
    """How to start this program again as a child endpoint (also from a frozen bundle)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_COMMAND]
    return [sys.executable, "-m", "lattice_rt_core.process"]


def config_line(config: ServerConfig, *, owns_data_dir: bool = False) -> str:
    """``config`` as the one JSON line a child reads.

    ``owns_data_dir``: the child locks the directory and writes ``server.json``
    itself (a child endpoint); otherwise its parent does (a worker of a supervisor).
    """
    values: dict[str, Any] = {name: getattr(config, name) for name in CONFIG_FIELDS}
    for name in _PATHS:
        values[name] = None if values[name] is None else str(values[name])
    for name in _TUPLES:
        values[name] = list(values[name])
    values[_OWNS] = owns_data_dir
    return json.dumps(values)


def config_from_line(line: str) -> ServerConfig:
    values = json.loads(line)
    owns = bool(values.pop(_OWNS, False))
    for name in _PATHS:
        values[name] = None if values[name] is None else Path(values[name])
    for name in _TUPLES:
        values[name] = tuple(values[name])
    return ServerConfig(**values, write_server_info=owns, lock_data_dir=owns)


def read_line(pipe: IO[str], timeout: float) -> str:
    """One line from ``pipe`` within ``timeout`` ("" when none came)."""
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(pipe.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0].strip() if out else ""


def _popen(command: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, **kwargs)


def spawn_warm(command: Sequence[str] | None = None) -> subprocess.Popen[str] | None:
    """A child endpoint started ahead, waiting for its configuration (POSIX only).

    Close its stdin to dismiss it unused: it exits quietly.
    """
    if os.name != "posix":
        return None
    try:
        return _popen(command or worker_command(), start_new_session=True)
    except OSError as exc:
        log.info("could not start the endpoint's process ahead: %s", exc)
        return None


def dismiss(popen: subprocess.Popen[str] | None) -> None:
    """End a warm child that was never adopted."""
    if popen is not None:
        _end(popen)


class ChildServer:
    """A child process serving ``config`` (a ``ServerLike`` for the tray app)."""

    def __init__(
        self,
        config: ServerConfig,
        command: Sequence[str] | None = None,
        *,
        warm: Callable[[], subprocess.Popen[str] | None] = lambda: None,
        restart_delay: float = RESTART_DELAY,
    ) -> None:
        """``warm``: a child from :func:`spawn_warm` to adopt for the first start, if any."""
        self.config = config
        self.command = list(command or worker_command())
        self.url = ""
        self.owner_token: str | None = None
        self.restarts = 0  # how often a child that died was replaced
        self._warm = warm
        self._restart_delay = restart_delay
        self._popen: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._replaced = threading.Condition(self._lock)

    @property
    def pid(self) -> int | None:
        with self._lock:
            return None if self._popen is None else self._popen.pid

    @property
    def data_dir(self) -> Path:
        return Path(self.config.data_dir)

    def start(self, timeout: float = START_WAIT) -> None:
        """Start the child and wait until it serves; a ServerError says why it did not."""
        popen = self._warm() or self._launch()
        self._adopt(popen, self.config, timeout)
        self.owner_token = read_owner_token(self.data_dir) if self.config.auth else None
        threading.Thread(target=self._watch, args=(popen,), daemon=True,
                         name="endpoint-watch").start()

    def _launch(self) -> subprocess.Popen[str]:
        try:
            return _popen(self.command, start_new_session=True)
        except OSError as exc:
            raise ServerError(f"cannot start the endpoint's process: {exc}") from exc

    def _adopt(self, popen: subprocess.Popen[str], config: ServerConfig, timeout: float) -> None:
        assert popen.stdin is not None and popen.stdout is not None
        with self._lock:
            stopped = self._stopping.is_set()
            if not stopped:
                self._popen = popen  # stop() ends it whatever happens next
        if stopped:
            _end(popen)
            raise ServerError("stopped")
        try:
            popen.stdin.write(config_line(config, owns_data_dir=True) + "\n")
            popen.stdin.flush()
        except OSError:
            pass  # it died already: its answer (none) says so below
        line = read_line(popen.stdout, timeout)
        if not line.startswith(READY + " "):
            with self._lock:
                if self._popen is popen:
                    self._popen = None
            _end(popen)
            reason = line[len("error "):] if line.startswith("error ") else (
                line or f"its process exited with status {popen.poll()}"
                if popen.poll() is not None else "it did not answer in time")
            raise ServerError(reason)
        self.url = line.split(" ", 2)[2]

    def _watch(self, popen: subprocess.Popen[str]) -> None:
        delay = self._restart_delay
        while True:
            code = popen.wait()
            if self._stopping.is_set():
                return
            _close_pipes(popen)
            log.warning("the endpoint's process (pid %s) exited with status %s; starting it "
                        "again on the same port", popen.pid, code)
            # the same port: clients reconnect to the URL they know and resume
            config = replace(self.config, port=int(self.url.rsplit(":", 1)[1]))
            while not self._stopping.wait(delay):
                try:
                    popen = self._launch()
                    self._adopt(popen, config, START_WAIT)
                except ServerError as exc:
                    log.warning("the endpoint could not be started again: %s", exc)
                    delay = min(delay * 2, RESTART_DELAY_MAX)
                    continue
                with self._replaced:
                    self.restarts += 1
                    self._replaced.notify_all()
                delay = self._restart_delay
                break
            else:
                return

    def wait_restarted(self, count: int, timeout: float) -> bool:
        """Block until ``count`` restarts happened (for tests)."""
        with self._replaced:
            return self._replaced.wait_for(lambda: self.restarts >= count, timeout)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the child (end of its stdin: it leaves ``server.json`` and the lock behind
        it as a clean ``lattice-rt serve`` does); killed if it outlasts ``timeout``."""
        self._stopping.set()
        with self._lock:
            popen, self._popen = self._popen, None
        if popen is not None:
            _end(popen, timeout)


def _end(popen: subprocess.Popen[str], timeout: float = STOP_WAIT) -> None:
    if popen.stdin is not None:
        try:
            popen.stdin.close()
        except OSError:
            pass
    try:
        popen.wait(timeout)
    except subprocess.TimeoutExpired:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(STOP_WAIT)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
    _close_pipes(popen)


def _close_pipes(popen: subprocess.Popen[str]) -> None:
    for pipe in (popen.stdin, popen.stdout):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass
