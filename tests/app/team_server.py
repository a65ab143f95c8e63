"""A team server for the app tests: a real ``lattice-rt serve`` process on a free port.

It runs in a data directory of its own, so it is another server (its own
``server_id``, its own seq) than the app's embedded endpoint. It can be
stopped and started again on the same port, with its history kept or wiped
(a new epoch), as a team's server is restarted or replaced.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from lattice_rt_core.auth.accounts import Accounts
from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.paths import OWNER_TOKEN_FILE, database_path, read_owner_token

WAIT = 20.0


class TeamServer:
    """``lattice-rt serve --port P --data-dir D`` as a child process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = 0
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lattice_rt_core.cli", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()  # "lattice-rt X serving http://127.0.0.1:P"
        assert " serving " in first, f"lattice-rt serve did not start: {first!r}"
        self.url = first.split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])

    @property
    def owner_token(self) -> str:
        token = read_owner_token(self.data_dir)
        assert token is not None
        return token

    def client(self, token: str | None = None) -> RealtimeClient:
        return RealtimeClient(self.url, token or self.owner_token)

    def publish(self, *events: dict[str, Any], token: str | None = None) -> list[dict[str, Any]]:
        """Publish as the owner, or as the user of ``token`` (the event's actor)."""
        with self.client(token) as client:
            return client.publish_many(events)

    def health(self) -> dict[str, Any]:
        with self.client() as client:
            return client.health()

    def presence_ids(self) -> set[str]:
        with self.client() as client:
            return {str(e["client_id"]) for e in client.presence()["presence"]}

    def add_user(self, name: str, *workspaces: str) -> str:
        accounts = Accounts(database_path(self.data_dir))
        try:
            return accounts.add_user(name, list(workspaces))
        finally:
            accounts.close()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=WAIT)
        if proc.stdout is not None:
            proc.stdout.close()

    def wipe(self) -> None:
        """Its database goes (history and accounts): a new epoch at the next start, same id."""
        for suffix in ("", "-wal", "-shm"):
            Path(str(database_path(self.data_dir)) + suffix).unlink(missing_ok=True)

    def replace(self) -> None:
        """Another server for the next start: a new data directory (a new server id, a new
        history), given the old owner token so the app's token still works there."""
        token = self.owner_token
        shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(mode=0o700)
        path = self.data_dir / OWNER_TOKEN_FILE
        path.write_text(token + "\n")
        path.chmod(0o600)
