"""Automatic presence: join when connected, again after every reconnect, leave at quit.

One presence entry per configured workspace (none configured: one entry with
no workspace), each with a client id ``<instance id>:<workspace>``. All of
them are named on the stream (``client_ids``), so the open stream keeps them
fresh and the server's expiry covers a crash.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from .endpoint import ClientLike
from .tasks import TaskRunner

__all__ = ["NO_WORKSPACE", "PresenceKeeper", "presence_client_id"]

log = logging.getLogger(__name__)

NO_WORKSPACE = "-"


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
        name = self.display_name
        pairs = [(ws, presence_client_id(self.instance_id, ws)) for ws in self.workspaces]

        def work() -> list[dict[str, Any]]:
            return [
                client.join(workspace_id=ws, client_id=cid, display_name=name)
                for ws, cid in pairs
            ]

        self._runner.run(work, self._on_joined, self._on_join_failed)

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
