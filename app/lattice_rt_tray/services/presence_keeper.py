"""Automatic presence: join when connected, again after every reconnect, leave at quit.

One presence entry per configured workspace (none configured: one entry with
no workspace), each with a client id ``<instance id>:<workspace>``. All of
them are named on the stream (``client_ids``). The server trusts an open
stream only for a while after the client's last request (a frozen process
keeps its TCP connection), so while connected the keeper re-joins every third
of the server's presence TTL; the server's expiry covers a crash or a freeze.

Each connection has its own keeper (the workspaces and the name may differ
per server). Every workspace is joined on its own: one the token may not
join (403) does not keep the others out, and a refusal is reported as such
(also when a refresh meets one: a membership was revoked).

Every join carries the keeper's :attr:`PresenceKeeper.status` (status and
status line), so an entry that (re)appears says the user's current status;
:meth:`PresenceKeeper.send_status` changes it on the server between joins.
Between going to sleep and knowing the status again after waking up the
keeper is *held*: no join goes out (it would carry a stale status) until
:meth:`PresenceKeeper.rejoin` names the true one.

A leave must be the last word on its server: requests on different threads
reach it in any order, so a join round still under way could land after the
leave and bring the entry back until it expires. So a client the connection
is done with is *retired*: no round starts through it any more, and its leaves
wait for the rounds under way to finish first.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from lattice_rt_core.client import REQUEST_TIMEOUT
from lattice_rt_core.net.api import ApiError
from lattice_rt_core.protocol.defaults import DEFAULT_TTL
from lattice_rt_tray.logic.connection_types import ClientLike
from lattice_rt_tray.logic.status_machine import StatusState
from lattice_rt_tray.services.tasks import TaskRunner

__all__ = ["NO_WORKSPACE", "PresenceKeeper", "presence_client_id"]

log = logging.getLogger(__name__)

NO_WORKSPACE = "-"
MIN_REFRESH = 0.2  # seconds between keep-alive rounds, at the least


def presence_client_id(instance_id: str, workspace: str | None) -> str:
    return f"{instance_id}:{workspace or NO_WORKSPACE}"


class _Round:
    """What one join round got: the entries, and one line per workspace that failed;
    the client and status it joined with."""

    __slots__ = ("client", "entries", "failures", "refused", "status")

    def __init__(self, client: ClientLike | None = None,
                 status: StatusState | None = None) -> None:
        self.client = client
        self.status = status
        self.entries: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.refused = False

    def fail(self, workspace: str | None, exc: BaseException) -> None:
        self.failures.append(f"{workspace or 'without a workspace'}: {exc}")
        self.refused = self.refused or (isinstance(exc, ApiError) and exc.refused)


class PresenceKeeper(QObject):
    """Signals:
    joined(object): the list of presence entries the server answered, after a join round
        (``object``: a ``list`` signal would convert every entry to Qt types and back).
    join_failed(str, bool): joins of a round failed; a message for a person, and
        whether the server refused them (401/403: retrying does not help).
    """

    joined = Signal(object)
    join_failed = Signal(str, bool)

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
        self._refused = False  # the last round met a refusal
        self._closed = False
        #: what every join says; set by the app before the first join
        self.status = StatusState()
        self._held = False  # asleep, or awake but the status is not known yet
        self._rounds = threading.Condition()  # guards the two below (see the module doc)
        self._under_way = 0
        self._retired: weakref.WeakSet[ClientLike] = weakref.WeakSet()
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
        """Join (or refresh) every entry with the current status, off the GUI thread
        (held: not now; :meth:`rejoin` will)."""
        if not self._held:
            self._runner.run(self._join_all(client), self._on_round)

    def hold(self) -> None:
        """Going to sleep: no join until :meth:`rejoin` (keep-alive rounds skip too)."""
        self._held = True

    @property
    def held(self) -> bool:
        return self._held

    def rejoin(self, client: ClientLike | None, status: StatusState) -> None:
        """Awake with ``status`` known: join with it through ``client`` (None: offline,
        the next connect joins) and let joins go out again."""
        self._held = False
        self.status = status
        if client is not None:
            self.join(client)

    def send_status(
        self, client: ClientLike, status: StatusState,
        done: Callable[[], None] | None = None,
    ) -> None:
        """Tell the server ``status`` for every entry (off the GUI thread); ``done`` after.

        An entry the server no longer has (404: it expired) is joined again,
        with the status.
        """
        self.status = status
        pairs = [(ws, presence_client_id(self.instance_id, ws)) for ws in self.workspaces]
        name = self.display_name

        def change(ws: str | None, cid: str) -> dict[str, Any]:
            try:
                return client.set_status(cid, status.status, status.text)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                return client.join(workspace_id=ws, client_id=cid, display_name=name,
                                   status=status.status, status_text=status.text)

        def work() -> _Round:
            return self._gated(_Round(client, status), pairs, change)

        def finished(result: object) -> None:
            if isinstance(result, _Round):
                if result.failures:
                    log.info("presence status: %s", "; ".join(result.failures))
                self._settle(result)  # two changes in flight may arrive in either order
            if done is not None:
                done()

        self._runner.run(work, finished, lambda exc: finished(None))

    def _join_all(self, client: ClientLike) -> Callable[[], _Round]:
        """A job joining every entry with the current settings and status (run off the
        GUI thread)."""
        name, status = self.display_name, self.status
        pairs = [(ws, presence_client_id(self.instance_id, ws)) for ws in self.workspaces]

        def join(ws: str | None, cid: str) -> dict[str, Any]:
            return client.join(workspace_id=ws, client_id=cid, display_name=name,
                               status=status.status, status_text=status.text)

        return lambda: self._gated(_Round(client, status), pairs, join)

    def _gated(
        self, result: _Round, pairs: Sequence[tuple[str | None, str]],
        request: Callable[[str | None, str], dict[str, Any]],
    ) -> _Round:
        """``request`` for every (workspace, client id), as a round under way (worker
        thread); nothing through a retired client."""
        with self._rounds:
            if result.client in self._retired:
                return result
            self._under_way += 1
        try:
            for ws, cid in pairs:
                try:
                    result.entries.append(request(ws, cid))
                except Exception as exc:  # noqa: BLE001 - reported, the others still go
                    result.fail(ws, exc)
        finally:
            with self._rounds:
                self._under_way -= 1
                self._rounds.notify_all()
        return result

    def _retire(self, client: ClientLike, wait: Callable[[], float]) -> None:
        """No round through ``client`` from now on; wait up to ``wait()`` s for those
        under way (a request gives up after its own timeout)."""
        with self._rounds:
            self._retired.add(client)
            if self._under_way:
                self._rounds.wait_for(lambda: self._under_way == 0, timeout=max(0.0, wait()))

    def retire(self, client: ClientLike, leave: Sequence[str], timeout: float) -> None:
        """The connection is done with ``client`` (its lifecycle thread): once the rounds
        under way have finished, leave ``leave`` (each within ``timeout``)."""
        self._retire(client, lambda: REQUEST_TIMEOUT)
        for cid in leave:
            try:
                client.leave(cid, timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - the server's expiry covers it
                log.info("leaving %s failed: %s", cid, exc)

    def keep_alive(self, client: ClientLike, ttl: float | None) -> None:
        """Re-join every ``ttl / 3`` seconds through ``client`` until :meth:`stop_keep_alive`."""
        if self._closed:
            return
        ttl = ttl if ttl is not None and ttl > 0 else DEFAULT_TTL  # the server did not say
        self._alive_client = client
        self._alive_timer.start(int(max(MIN_REFRESH, ttl / 3) * 1000))

    def stop_keep_alive(self) -> None:
        self._alive_timer.stop()
        self._alive_client = None

    def close(self) -> None:
        """Its connection is gone: rounds still under way end in silence."""
        self._closed = True
        self.stop_keep_alive()

    @property
    def keeping_alive(self) -> bool:
        return self._alive_timer.isActive()

    def _on_keep_alive(self) -> None:
        client = self._alive_client
        if client is None or self._held:
            return
        self._runner.run(self._join_all(client), self._on_refreshed)

    def _settle(self, result: _Round) -> None:
        """The status changed while the round was under way: its join may have reached
        the server after the change did; say the current one again."""
        if (result.client is not None and result.status is not None and not self._held
                and result.status != self.status and not self._closed):
            self.send_status(result.client, self.status)

    def _on_round(self, result: _Round) -> None:
        if self._closed:
            return
        self._settle(result)
        self._refused = result.refused
        if result.entries:
            self.joined.emit(result.entries)
        if result.failures:
            message = "could not join presence: " + "; ".join(result.failures)
            log.warning("%s", message)
            self.join_failed.emit(message, result.refused)

    def _on_refreshed(self, result: _Round) -> None:
        """Quiet unless refused: a refresh changes nothing anyone sees, and any other
        failure means the connection is going, which the stream reports itself."""
        if result.refused or (self._refused and not result.failures):
            self._on_round(result)  # refused now, or no longer: say so
            return
        self._settle(result)
        if result.failures:
            log.info("presence refresh: %s", "; ".join(result.failures))

    def leave_all_blocking(
        self,
        client: ClientLike,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> list[str]:
        """Leave every entry in parallel, waiting until ``deadline`` at most.

        Runs on the quit thread. Returns the ids whose leave was confirmed. A round
        under way is waited for until ``deadline`` (then the leaves go regardless).
        """
        self._retire(client, lambda: min(REQUEST_TIMEOUT, (deadline - clock()) / 2))
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
