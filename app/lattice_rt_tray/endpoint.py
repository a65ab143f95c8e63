"""Where the app gets its realtime stream: the embedded server or a remote one.

:class:`Endpoint` starts (on a lifecycle thread, never the GUI thread) the
embedded :class:`~lattice_rt_core.server.RealtimeServer` when the settings say
so, then a :class:`~lattice_rt_core.client.RealtimeClient` against it whose
callbacks are the bridge's. It can be pointed somewhere else at any time
(settings applied without restart) and stopped within a deadline at quit.

The server and client classes come in as factories, so the composition root
decides what is built.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from .bridge import ClientBridge
from .settings_values import EMBEDDED, REMOTE
from .tasks import TaskRunner

__all__ = ["ClientLike", "Endpoint", "EndpointConfig", "ServerLike"]

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0


class ServerLike(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def owner_token(self) -> str | None: ...

    def start(self, timeout: float = ...) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...


class ClientLike(Protocol):
    @property
    def last_event_id(self) -> int | None: ...

    def start(self) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...
    def close(self) -> None: ...
    def join(
        self,
        workspace_id: str | None = ...,
        client_id: str | None = ...,
        display_name: str | None = ...,
    ) -> dict[str, Any]: ...
    def leave(self, client_id: str, timeout: float = ...) -> None: ...
    def presence(self) -> dict[str, Any]: ...
    def health(self) -> dict[str, Any]: ...
    def launch_url(self) -> str: ...


ServerFactory = Callable[[int, Path], ServerLike]
ClientFactory = Callable[..., ClientLike]
Discover = Callable[[Path], tuple[str, str | None] | None]


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    mode: str  # one of settings_values.SERVER_MODES
    port: int
    url: str
    token: str
    data_dir: Path

    @property
    def identity(self) -> str:
        """Names the event history being followed (the key of its resume point)."""
        if self.mode == EMBEDDED:
            return f"{EMBEDDED}:{self.data_dir}"
        return f"{REMOTE}:{self.url.rstrip('/')}"

    @property
    def label(self) -> str:
        return "this computer" if self.mode == EMBEDDED else self.url


@dataclass(slots=True)
class _Running:
    config: EndpointConfig
    server: ServerLike | None
    client: ClientLike
    url: str
    token: str | None


class Endpoint(QObject):
    """Signals:
    started(str): the client is streaming from this URL.
    failed(str): the endpoint could not be started; a message for a person.
    """

    started = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        bridge: ClientBridge,
        *,
        server_factory: ServerFactory,
        client_factory: ClientFactory,
        discover: Discover,
        lifecycle: TaskRunner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._server_factory = server_factory
        self._client_factory = client_factory
        self._discover = discover
        self._lifecycle = lifecycle
        self._lock = threading.Lock()
        self._running: _Running | None = None
        self._generation = 0
        self._closing = False

    # ------------------------------------------------------------- access
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
    def config(self) -> EndpointConfig | None:
        running = self._running
        return running.config if running else None

    # ---------------------------------------------------------- lifecycle
    def start(
        self,
        config: EndpointConfig,
        client_ids: Sequence[str],
        last_event_id: int | None,
        *,
        leave: Sequence[str] = (),
    ) -> None:
        """(Re)start against ``config``.

        The old client first leaves the presence ids in ``leave`` (best effort),
        then it and, when the server changes, the old server stop.
        """
        self._generation += 1
        generation = self._generation
        ids, gone = tuple(client_ids), tuple(leave)
        self._lifecycle.run(
            lambda: self._open(generation, config, ids, last_event_id, gone),
            self._on_opened,
            self._on_open_failed,
        )

    def restart_client(self, client_ids: Sequence[str], *, leave: Sequence[str] = ()) -> None:
        """A new stream on the same server (new presence ids to keep fresh)."""
        running = self._running
        if running is None:
            return
        self.start(running.config, client_ids, running.client.last_event_id, leave=leave)

    def _open(
        self,
        generation: int,
        config: EndpointConfig,
        client_ids: tuple[str, ...],
        last_event_id: int | None,
        leave: tuple[str, ...] = (),
    ) -> tuple[int, _Running]:
        with self._lock:
            old, self._running = self._running, None
        if old is not None:
            keep_server = old.config == config and old.server is not None
            for cid in leave:
                try:
                    old.client.leave(cid, timeout=2.0)
                except Exception as exc:  # noqa: BLE001 - the server's expiry covers it
                    log.info("leaving %s failed: %s", cid, exc)
            old.client.stop(timeout=1.0)
            old.client.close()
            if old.server is not None and not keep_server:
                old.server.stop(timeout=2.0)
            if keep_server:
                return generation, self._client(config, old.server, old.url, old.token,
                                                 client_ids, last_event_id)
        if self._closing:
            raise RuntimeError("quitting")
        server: ServerLike | None = None
        if config.mode == EMBEDDED:
            server = self._server_factory(config.port, config.data_dir)
            try:
                server.start(timeout=START_TIMEOUT)
            except Exception as exc:
                found = self._discover(config.data_dir)
                if found is None:
                    raise
                log.info("embedded server not started (%s); following %s", exc, found[0])
                server = None
                url, token = found
            else:
                url, token = server.url, server.owner_token
        else:
            url, token = config.url.rstrip("/"), config.token or None
        if self._closing:
            if server is not None:
                server.stop(timeout=1.0)
            raise RuntimeError("quitting")
        return generation, self._client(config, server, url, token, client_ids, last_event_id)

    def _client(
        self,
        config: EndpointConfig,
        server: ServerLike | None,
        url: str,
        token: str | None,
        client_ids: tuple[str, ...],
        last_event_id: int | None,
    ) -> _Running:
        sink = self._bridge.attach()
        client = self._client_factory(
            url,
            token,
            client_ids=client_ids,
            last_event_id=last_event_id,
            on_event=sink.on_event,
            on_gap=sink.on_gap,
            on_reset=sink.on_reset,
            on_state=sink.on_state,
        )
        running = _Running(config, server, client, url, token)
        with self._lock:
            self._running = running
        client.start()
        return running

    def _on_opened(self, result: tuple[int, _Running]) -> None:
        generation, running = result
        if generation == self._generation and not self._closing:
            self.started.emit(running.url)

    def _on_open_failed(self, exc: BaseException) -> None:
        if self._closing:
            return
        message = str(exc) or type(exc).__name__
        log.warning("endpoint failed: %s", message)
        self.failed.emit(message)

    # ------------------------------------------------------------- quitting
    def shutdown(self, deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Stop the client, then the server, by ``deadline`` (blocking; not the GUI thread)."""
        self._closing = True
        self._bridge.close()
        self._lifecycle.wait_idle(max(0.0, min(0.5, deadline - clock())))
        with self._lock:
            running, self._running = self._running, None
        if running is None:
            return
        running.client.stop(timeout=max(0.05, min(0.3, deadline - clock())))
        running.client.close()
        if running.server is not None:
            running.server.stop(timeout=max(0.1, deadline - clock()))
