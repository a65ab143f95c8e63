"""Automatic presence: join when connected, again after every reconnect, leave at quit.

One presence entry per configured workspace (none configured: one entry with
no workspace), each with a client id ``<instance id>:<workspace>``. All of
them are named on the stream (``client_ids``). The server trusts an open
stream only for a while after the client's last request (a frozen process
keeps its TCP connection), so while connected the keeper re-joins every third
of the server's presence TTL; the server's expiry covers a crash or a freeze.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from lattice_rt_core.defaults import DEFAULT_TTL

from .endpoint import ClientLike
from .tasks import TaskRunner

__all__ = ["NO_WORKSPACE", "PresenceKeeper", "presence_client_id"]

log = logging.getLogger(__name__)

NO_WORKSPACE = "-"
MIN_REFRESH = 0.2  # seconds between keep-alive rounds, at the least


def presence_client_id(instance_id: str, workspace: str | None) -> str:
    return f"{instance_id}:{workspace or NO_WORKSPACE}"


class PresenceKeeper(QObject):
    """Signals:
    joined(object): the list of presence entries the server answered, after a join round
        (``object``: a ``list`` signal would convert every entry to Qt types and back).
    join_failed(str): a join failed; a message for a person.
    """

    joined = Signal(object)
    join_failed = Signal(str)

    def __init__(
        self,
        instance_id: str,
        runner: TaskRunner,
        *,
        display_name: str,
        workspaces: Sequence[str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.instance_id = instance_id
        self._runner = runner
        self.display_name = display_name
        self.workspaces: tuple[str | None, ...] = tuple(workspaces) or (None,)
        self._alive_client: ClientLike | None = None
        self._alive_timer = QTimer(self)
        self._alive_timer.timeout.connect(self._on_keep_alive)

    @property
    def prefix(self) -> str:
        return f"{self.instance_id}:"

    def client_ids(self) -> list[str]:
        return [presence_client_id(self.instance_id, ws) for ws in self.workspaces]

    def configure(self, display_name: str, workspaces: Sequence[str]) -> list[str]:
        """New settings; returns the client ids that are no longer wanted."""
        old = set(self.client_ids())
        self.display_name = display_name
        self.workspaces = tuple(workspaces) or (None,)
        return sorted(old - set(self.client_ids()))

    def join(self, client: ClientLike) -> None:
        """Join (or refresh) every entry, off the GUI thread."""
        self._runner.run(self._join_all(client), self._on_joined, self._on_join_failed)

    def _join_all(self, client: ClientLike) -> Callable[[], list[dict[str, Any]]]:
        """A job joining every entry with the current settings (run off the GUI thread)."""
        name = self.display_name
        pairs = [(ws, presence_client_id(self.instance_id, ws)) for ws in self.workspaces]

        def work() -> list[dict[str, Any]]:
            return [
                client.join(workspace_id=ws, client_id=cid, display_name=name)
                for ws, cid in pairs
            ]

        return work

    def keep_alive(self, client: ClientLike, ttl: float | None) -> None:
        """Re-join every ``ttl / 3`` seconds through ``client`` until :meth:`stop_keep_alive`."""
        ttl = ttl if ttl is not None and ttl > 0 else DEFAULT_TTL  # the server did not say
        self._alive_client = client
        self._alive_timer.start(int(max(MIN_REFRESH, ttl / 3) * 1000))

    def stop_keep_alive(self) -> None:
        self._alive_timer.stop()
        self._alive_client = None

    @property
    def keeping_alive(self) -> bool:
        return self._alive_timer.isActive()

    def _on_keep_alive(self) -> None:
        client = self._alive_client
        if client is None:
            return
        # Quiet on purpose: a refresh changes nothing anyone sees; a failure
        # means the connection is going, which the stream reports itself.
        self._runner.run(
            self._join_all(client),
            lambda _: None,
            lambda exc: log.info("presence refresh: %s", exc),
        )

    def _on_joined(self, entries: list[dict[str, Any]]) -> None:
        self.joined.emit(entries)

    def _on_join_failed(self, exc: BaseException) -> None:
        log.warning("presence join failed: %s", exc)
        self.join_failed.emit(f"could not join presence: {exc}")

    def leave_all_blocking(
        self,
        client: ClientLike,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> list[str]:
        """Leave every entry in parallel, waiting until ``deadline`` at most.

        Runs on the quit thread. Returns the ids whose leave was confirmed.
        """
        done: list[str] = []
        lock = threading.Lock()

        def leave(cid: str) -> None:
            try:
                client.leave(cid, timeout=max(0.05, deadline - clock()))
            except Exception as exc:  # noqa: BLE001 - quitting goes on regardless
                log.info("presence leave %s failed: %s", cid, exc)
                return
            with lock:
                done.append(cid)

        threads = [
            threading.Thread(target=leave, args=(cid,), name="presence-leave", daemon=True)
            for cid in self.client_ids()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - clock()))
        with lock:
            return list(done)
