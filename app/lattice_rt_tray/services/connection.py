"""One server the app follows: its endpoint, client, presence, resume point and state.

A :class:`Connection` owns everything about one server and nothing about the
others: the embedded :class:`~lattice_rt_core.server.RealtimeServer` (for the
``local`` connection; when a ``lattice-rt serve`` already holds the data
directory it follows that one), a :class:`~lattice_rt_core.client.RealtimeClient`
whose callbacks go to its own bridge sink, a
:class:`~lattice_rt_tray.services.presence_keeper.PresenceKeeper`, a
:class:`~lattice_rt_tray.logic.resume.ResumeGuide` (where its stream resumes, by
the server's identity) and its :class:`~lattice_rt_tray.logic.link_status.LinkStatus`.

Starting, restarting and stopping run on the connection's own lifecycle
thread, in order, so a slow server here never holds up another connection
and the GUI thread never waits. :meth:`Connection.configure` applies new
settings with the least disturbance: a new name is only a new label, new
presence settings a new stream on the same server, a new address or token a
new client (and server), switched off: presence left and everything stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from lattice_rt_core.net.api import ApiError, ClientState, ServerKind
from lattice_rt_tray.logic.connection_types import (
    ClientFactory,
    ClientLike,
    Discover,
    ServerFactory,
    ServerLike,
)
from lattice_rt_tray.logic.link_status import LinkStatus
from lattice_rt_tray.logic.resume import Identified, ResumeGuide, ResumePoint
from lattice_rt_tray.logic.settings_values import ConnectionSettings
from lattice_rt_tray.logic.status_machine import StatusState
from lattice_rt_tray.services.bridge import ClientBridge
from lattice_rt_tray.services.presence_keeper import PresenceKeeper
from lattice_rt_tray.services.tasks import TaskRunner

__all__ = ["Connection", "START_TIMEOUT"]

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0
LEAVE_TIMEOUT = 2.0  # a presence leave when moving to another endpoint or switching off

Presence = tuple[str, tuple[str, ...]]  # display name and workspaces to join with


@dataclass(slots=True)
class _Running:
    settings: ConnectionSettings
    server: ServerLike | None  # None: a remote server, or a local one another process runs
    client: ClientLike
    url: str
    token: str | None


class Connection(QObject):
    """Signals (each names the connection by its key first):
    changed(str): its status changed (:meth:`status`).
    connected(str, bool): the stream opened; True when it resumed a history it knew.
    caught_up(str, object): the server's seq just after connecting (None: unknown):
        what was replayed up to there is catch-up, what follows is live.
    history_changed(str): it now follows another server, or the same one whose
        history started again: what was counted for the old one does not apply.
    joined(str, object): presence entries after a join round.
    presence(str, object): a presence snapshot, a list of entries.
    report(str, str): a passing problem for the status bar.
    """

    changed = Signal(str)
    connected = Signal(str, bool)
    caught_up = Signal(str, object)
    history_changed = Signal(str)
    joined = Signal(str, object)
    presence = Signal(str, object)
    report = Signal(str, str)

    def __init__(
        self,
        settings: ConnectionSettings,
        presence: Presence,
        *,
        bridge: ClientBridge,
        keeper: PresenceKeeper,
        guide: ResumeGuide,
        lifecycle: TaskRunner,
        requests: TaskRunner,
        server_factory: ServerFactory,
        client_factory: ClientFactory,
        discover: Discover,
        data_dir: Path,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.key = settings.key
        self.settings = settings
        keeper.setParent(self)
        lifecycle.setParent(self)  # its own thread: a slow server here holds up no other
        self.keeper = keeper
        self.guide = guide
        self._presence = presence
        self._bridge = bridge
        self._lifecycle = lifecycle
        self._requests = requests
        self._server_factory = server_factory
        self._client_factory = client_factory
        self._discover = discover
        self._data_dir = data_dir
        self._lock = threading.Lock()
        self._running: _Running | None = None
        self._generation = 0
        self._closing = False
        self._active = False  # started and not stopped since
        self._waiting_for_token = False
        self._checking_local = False  # asking whether another process's local server is gone
        self.state: ClientState | None = None
        self.detail = "off" if not settings.enabled else "starting"
        self._start_error = ""
        self._auth_error = ""
        self._join_error = ""
        self._resumed = False
        self._connected_before = False
        keeper.joined.connect(self._on_joined)
        keeper.join_failed.connect(self._on_join_failed)

    # ------------------------------------------------------------- access
    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def client(self) -> ClientLike | None:
        running = self._running
        return running.client if running else None

    @property
    def server(self) -> ServerLike | None:
        running = self._running
        return running.server if running else None

    @property
    def url(self) -> str:
        running = self._running
        return running.url if running else ""

    @property
    def token(self) -> str | None:
        """The token its client uses (the owner token of the embedded endpoint)."""
        running = self._running
        return running.token if running else None

    @property
    def shares_status(self) -> bool:
        """The server keeps a status per entry (not known yet: assumed, as ours do)."""
        client = self.client
        return client is None or client.kind is not ServerKind.LATTICE_AI

    @property
    def online(self) -> bool:
        return self.state is ClientState.CONNECTED

    def status(self) -> LinkStatus:
        return LinkStatus(
            key=self.key,
            name=self.settings.name,
            address=self.url or self.settings.address,
            enabled=self.settings.enabled,
            state=self.state,
            detail=self.detail,
            error=self._start_error or self._auth_error or self._join_error,
        )

    def resume_points(self) -> dict[str, ResumePoint]:
        """Where its streams stopped, by server id (the current one up to now)."""
        client = self.client
        return self.guide.points(client.last_event_id if client is not None else None)

    # ---------------------------------------------------------- lifecycle
    def configure(self, settings: ConnectionSettings, presence: Presence,
                  *, token_ready: bool = True) -> None:
        """Follow ``settings`` from now on, disturbing only what changed.

        ``token_ready`` False: the token of a remote connection is still being
        read from the keyring; it starts once it is given again with True.
        """
        old, old_presence, was_waiting = self.settings, self._presence, self._waiting_for_token
        self.settings, self._presence = settings, presence
        if not settings.enabled:
            if old.enabled:
                self.stop()
            self._emit_changed()
            return
        if not settings.embedded and not token_ready:
            self._waiting_for_token = True
            self.detail = "waiting for the keyring"
            self._emit_changed()
            return
        self._waiting_for_token = False
        if not self._active or was_waiting or old.endpoint() != settings.endpoint():
            self._restart()
        elif old_presence != presence:
            gone = self.keeper.configure(*presence)
            client = self.client
            self._start(client.last_event_id if client else None, leave=gone, keep=True)
        self._emit_changed()

    def _restart(self) -> None:
        """A new endpoint (or the first one): leave presence on the old one first."""
        old_ids = self.keeper.client_ids()
        self.keeper.configure(*self._presence)
        client = self.client
        self.guide.leave(client.last_event_id if client is not None else None)
        self._start_error = self._auth_error = self._join_error = ""
        self._start(None, leave=old_ids if client is not None else (), keep=False)

    def _start(self, last_event_id: int | None, *, leave: Sequence[str], keep: bool,
               fresh: bool = False) -> None:
        """A new client (``keep``: on the same endpoint) after leaving ``leave``;
        ``fresh``: find the endpoint again (the server it followed went away)."""
        self._active = True
        self._generation += 1
        generation = self._generation
        self.keeper.stop_keep_alive()
        self.state = None
        self.detail = f"connecting to {self.settings.address}"
        settings, ids, gone = self.settings, tuple(self.keeper.client_ids()), tuple(leave)
        self._lifecycle.run(
            lambda: self._open(generation, settings, ids, last_event_id, gone, keep, fresh),
            self._on_opened,
            lambda exc: self._on_open_failed(generation, exc),
        )

    def stop(self) -> None:
        """Switched off or removed: leave presence, stop the client and the server."""
        self._generation += 1
        self._active = self._waiting_for_token = False
        self.keeper.stop_keep_alive()
        self._bridge.detach(self.key)
        client = self.client
        self.guide.leave(client.last_event_id if client is not None else None)
        ids = tuple(self.keeper.client_ids())
        self.state = None
        self.detail = "off"
        self._start_error = self._auth_error = self._join_error = ""
        self._lifecycle.run(lambda: self._close(ids), None,
                            lambda exc: log.info("stopping %s: %s", self.key, exc))

    def close(self) -> None:
        """Quitting or removed (GUI thread): what is still under way ends in silence."""
        if not self._closing:
            self._closing = True
            self.keeper.close()

    def retire(self) -> None:
        """Removed: the lifecycle thread ends once its queued work (the stop) is done."""
        self.close()
        self._lifecycle.close()
        self.deleteLater()

    # ------------------------------------------------ lifecycle thread side
    def _take(self) -> _Running | None:
        with self._lock:
            running, self._running = self._running, None
        return running

    def _close(self, leave: Sequence[str], keep_server: bool = False) -> ServerLike | None:
        """Leave ``leave``, stop the client (and the server unless kept)."""
        old = self._take()
        if old is None:
            return None
        self.keeper.retire(old.client, leave, LEAVE_TIMEOUT)
        old.client.stop(timeout=1.0)
        old.client.close()
        if old.server is not None and not keep_server:
            old.server.stop(timeout=2.0)
        return old.server if keep_server else None

    def _open(
        self,
        generation: int,
        settings: ConnectionSettings,
        client_ids: tuple[str, ...],
        last_event_id: int | None,
        leave: tuple[str, ...],
        keep: bool,
        fresh: bool = False,
    ) -> tuple[int, _Running]:
        old = self._running
        reuse = not fresh and old is not None and (
            keep or old.settings.endpoint() == settings.endpoint())
        server = self._close(leave, keep_server=reuse)
        if self._closing:
            raise RuntimeError("quitting")
        if old is not None and reuse:
            url, token = old.url, old.token
        elif settings.embedded:
            server, url, token = self._start_server(settings)
        else:
            url, token = settings.url.rstrip("/"), settings.token or None
        if self._closing:
            if server is not None:
                server.stop(timeout=1.0)
            raise RuntimeError("quitting")
        sink = self._bridge.attach(self.key)
        self.guide.on_identified = sink.on_identified
        client = self._client_factory(
            url,
            token,
            client_ids=client_ids,
            last_event_id=last_event_id,
            on_event=sink.on_event,
            on_gap=sink.on_gap,
            on_reset=sink.on_reset,
            on_state=sink.on_state,
            resume_from=self.guide,
            ca_file=settings.ca_file or None,
        )
        running = _Running(settings, server, client, url, token)
        with self._lock:
            self._running = running
        client.start()
        return generation, running

    def _start_server(self, settings: ConnectionSettings) -> tuple[ServerLike | None, str,
                                                                  str | None]:
        server = self._server_factory(settings.port, self._data_dir)
        try:
            server.start(timeout=START_TIMEOUT)
        except Exception as exc:
            found = self._discover(self._data_dir)
            if found is None:
                raise
            log.info("embedded server not started (%s); following %s", exc, found[0])
            return None, found[0], found[1]
        return server, server.url, server.owner_token

    # ---------------------------------------------------- GUI thread side
    def _on_opened(self, result: tuple[int, _Running]) -> None:
        generation, running = result
        if generation != self._generation or self._closing:
            return
        self.detail = f"connecting to {running.url}"
        self._emit_changed()

    def _on_open_failed(self, generation: int, exc: BaseException) -> None:
        if self._closing or generation != self._generation:
            return
        message = str(exc) or type(exc).__name__
        if self.settings.embedded and "already in use" in message:  # the endpoint's port
            message += f" Choose another port for {self.settings.name} in Settings (0: any)."
        log.warning("%s: cannot start: %s", self.key, message)
        self.state = None
        self.detail = "not started"
        self._start_error = f"cannot start: {message}"
        self._emit_changed()

    def on_identified(self, identified: Identified) -> None:
        """The client's resume decision, before the connect it was made for."""
        if identified.changed:
            self._connected_before = False
            self.history_changed.emit(self.key)
        self._resumed = identified.resume is not None or self._connected_before

    def on_state(self, state: ClientState, detail: str) -> None:
        if self._closing:
            return
        was = self.state
        self.state, self.detail = state, detail
        if state is ClientState.RECONNECTING and self._following_another_process():
            self._check_local_server()
        if state is ClientState.CONNECTED:
            self._auth_error = ""
            if was is not ClientState.CONNECTED:
                self._on_connected()
        else:
            if was is ClientState.CONNECTED:
                self.keeper.stop_keep_alive()
            client = self.client
            error = client.last_error if client is not None else None
            if state is ClientState.RECONNECTING and error is not None and error.refused:
                self._auth_error = self._refusal(error)
        self._emit_changed()

    @property
    def needs_sign_in(self) -> bool:
        """Its server signs in with a password and refused the session (ended, revoked)."""
        client = self.client
        return (bool(self._auth_error) and client is not None
                and client.kind is ServerKind.LATTICE_AI and client.last_error is not None
                and client.last_error.status == 401)

    # -------------------------------------- the local server of another process
    def _following_another_process(self) -> bool:
        """"This computer" follows a ``lattice-rt serve`` on its data dir, not its own."""
        with self._lock:
            running = self._running
        return self.settings.embedded and running is not None and running.server is None

    def _check_local_server(self) -> None:
        """Is that server still there? If not, this computer's own endpoint takes over."""
        if self._checking_local:
            return
        self._checking_local = True
        generation = self._generation
        self._lifecycle.run(lambda: self._discover(self._data_dir),
                            lambda found: self._on_local_checked(generation, found),
                            lambda exc: self._on_local_checked(generation, ()))

    def _on_local_checked(self, generation: int, found: object) -> None:
        self._checking_local = False
        if found is not None or self._closing or generation != self._generation:
            return  # still running (it may only be restarting), or already replaced
        log.warning("%s: the server on this computer's data dir went away; starting this "
                    "computer's own endpoint", self.key)
        client = self.client
        self.detail = "the server on this computer stopped: starting its own endpoint"
        self._start(client.last_event_id if client is not None else None, leave=(),
                    keep=False, fresh=True)
        self._emit_changed()

    def _refusal(self, error: ApiError) -> str:
        where = self.url or self.settings.address
        client = self.client
        if error.status == 401 and client is not None and client.kind is ServerKind.LATTICE_AI:
            return (f"{where} wants you to sign in again (HTTP 401: {error.message}): "
                    "sign in in Settings")
        if error.status == 401 and not self.settings.embedded and not self.settings.token:
            return f"{where} needs a token (HTTP 401): enter it in Settings"
        if error.status == 401:
            return f"the token was refused by {where} (HTTP 401)"
        return f"{where} refused the stream: {error}"

    def _on_connected(self) -> None:
        client = self.client
        if client is None:
            return
        resumed, self._connected_before = self._resumed, True
        self.connected.emit(self.key, resumed)

        def stats() -> dict[str, Any] | None:
            return client.server_stats()

        self._requests.run(stats, lambda answer: self._on_stats(client, answer),
                           lambda exc: self._on_stats(client, None))
        self.keeper.join(client)
        self.refresh_presence()

    def _on_stats(self, client: ClientLike, stats: dict[str, Any] | None) -> None:
        if self._closing or client is not self.client:
            return  # removed, quitting, or another client by now
        stats = stats or {}
        ttl = stats.get("presence_ttl")
        # A server whose presence never expires (Lattice AI) is joined once per connect:
        # each re-join there would tell everyone "joined" again.
        if self.online and stats.get("presence_expires") is not False:
            self.keeper.keep_alive(client, float(ttl) if isinstance(ttl, int | float) else None)
        seq = stats.get("seq")
        self.caught_up.emit(self.key, seq if isinstance(seq, int) else None)

    def _on_joined(self, entries: list[dict[str, Any]]) -> None:
        if self._join_error:  # a refusal of an earlier round is over (its failures follow)
            self._join_error = ""
            self._emit_changed()
        self.joined.emit(self.key, entries)

    def _on_join_failed(self, message: str, refused: bool) -> None:
        if refused:
            self._join_error = message
            self._emit_changed()
        else:
            self.report.emit(self.key, message)

    def refresh_presence(self) -> None:
        client = self.client
        if client is None or self._closing or not self.online:
            return
        self._requests.run(client.presence, lambda answer: self._on_presence(client, answer),
                           lambda exc: log.info("%s: presence: %s", self.key, exc))

    def read_history(
        self,
        before: int | None,
        done: Callable[[list[dict[str, Any]], int | None], None],
        failed: Callable[[str], None],
    ) -> bool:
        """Read a page of what the server keeps (below ``before``; None: the newest) on a
        request thread; ``done(events, next_before)`` or ``failed(message)`` on the GUI
        thread. False when there is no client to ask."""
        client = self.client
        if client is None or self._closing:
            return False

        def answered(result: tuple[list[dict[str, Any]], int | None]) -> None:
            if client is self.client and not self._closing:
                done(*result)
            else:
                failed("the connection changed")

        self._requests.run(lambda: client.history(before), answered,
                           lambda exc: failed(str(exc)))
        return True

    def _on_presence(self, client: ClientLike, answer: object) -> None:
        entries = answer.get("presence") if isinstance(answer, dict) else None
        if isinstance(entries, list) and client is self.client and not self._closing:
            self.presence.emit(self.key, [e for e in entries if isinstance(e, dict)])

    # ------------------------------------------------------------- status
    def send_status(self, status: StatusState, done: Callable[[], None] | None = None) -> None:
        """The user's status changed: every join says it from now on, and when online
        the server is told now; ``done`` once that is over (at once when offline)."""
        client = self.client
        if (client is None or self._closing or not self.online or self.keeper.held
                or not self.shares_status):
            self.keeper.status = status
            if done is not None:
                done()
            return
        self.keeper.send_status(client, status, done)

    def hold_presence(self) -> None:
        """Asleep: no join until :meth:`rejoin` (it would say a stale status)."""
        self.keeper.hold()

    def rejoin(self, status: StatusState) -> None:
        """Awake with ``status`` known: join with it first (when online)."""
        client = self.client
        online = client is not None and self.online and not self._closing
        self.keeper.rejoin(client if online else None, status)

    def _emit_changed(self) -> None:
        self.changed.emit(self.key)

    # ------------------------------------------------------------- quitting
    def shutdown(self, deadline: float, leave_by: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Leave presence by ``leave_by``, stop everything by ``deadline`` (quit thread)."""
        self._closing = True
        self._lifecycle.wait_idle(max(0.0, min(0.5, deadline - clock())))
        running = self._take()
        if running is None:
            return
        # joined since its stream last opened: leave, also between two streams (a server
        # whose stream ends after each replay is "reconnecting" most of the time); a leave
        # that cannot reach its server is bounded by ``leave_by``
        if self.online or self._connected_before:
            left = self.keeper.leave_all_blocking(running.client, leave_by, clock)
            log.info("%s: presence left: %s", self.key, sorted(left))
        running.client.stop(timeout=max(0.05, min(0.3, deadline - clock())))
        running.client.close()
        if running.server is not None:
            running.server.stop(timeout=max(0.1, deadline - clock()))

