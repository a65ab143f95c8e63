"""The realtime endpoint: composition of journal, bus, accounts, auth and HTTP.

:class:`RealtimeServer` runs uvicorn on a background thread with its own event
loop (the tray app and tests use it); ``lattice-rt serve`` runs the same class
in the foreground and stops it on SIGINT/SIGTERM.

Shutdown order: end every open stream (so uvicorn has no response to wait
for), stop uvicorn, then commit the journal and mark it clean.

Dead and slow peers (see SECURITY.md): accepted connections get TCP keepalive
and, on Linux, ``TCP_USER_TIMEOUT`` of two heartbeats, so a peer whose network
vanished is dropped by the kernel; a stream whose peer stops reading is ended
after ``write_timeout`` and its connection aborted with what was buffered.
"""

from __future__ import annotations

import asyncio
import logging
import pkgutil
import secrets
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from lattice_rt_core.auth.accounts import Accounts, AccountStore, LocalAccountStore
from lattice_rt_core.auth.callers import Authenticator, SecretRedactor, load_or_create_owner_token
from lattice_rt_core.auth.file_sessions import SESSIONS_FILE, FileSessions
from lattice_rt_core.engines.base import Engine, Unavailable
from lattice_rt_core.engines.identity import load_or_create_server_id
from lattice_rt_core.engines.local.bus import RealtimeBus
from lattice_rt_core.engines.local.engine import LocalEngine
from lattice_rt_core.engines.local.journal import Journal, JournalError
from lattice_rt_core.engines.redis.store import RedisKeys
from lattice_rt_core.http.app import create_app
from lattice_rt_core.http.guard import allowed_hosts, split_host
from lattice_rt_core.net.tls import TlsError, check_server_files
from lattice_rt_core.paths import (
    database_path,
    ensure_data_dir,
    remove_server_info,
    write_server_info,
)
from lattice_rt_core.process.config import ServerConfig, ServerError
from lattice_rt_core.process.connections import ConnectionLimits, PeerCounts, guarded_protocol
from lattice_rt_core.process.dirlock import DataDirInUse, DataDirLock, DataDirWatch
from lattice_rt_core.process.listen import bind_socket
from lattice_rt_core.process.local_storage import login_name, open_accounts, open_journal, writable
from lattice_rt_core.version import __version__

__all__ = ["RealtimeServer", "ServerConfig", "ServerError"]

log = logging.getLogger(__name__)

#: seconds uvicorn waits for connections to close at stop before cancelling them
GRACEFUL_SHUTDOWN = 1


def _server_loggers() -> tuple[str, ...]:
    """The loggers a running server emits through; each gets the SecretRedactor.

    A filter on a logger sees only what is logged on that very logger, not on its
    children, so every module of the package is listed, derived from the package
    itself (a module that starts logging, or moves, is covered without a list to
    keep; tests/test_layout.py holds every module to ``getLogger(__name__)``).
    """
    package = str(Path(__file__).parent)
    ours = (info.name for info in pkgutil.walk_packages([package], "lattice_rt_core."))
    return ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "asyncio", *ours)


class _Uvicorn(uvicorn.Server):
    """uvicorn with a quiet idle loop and streams closed before shutdown."""

    def __init__(self, config: uvicorn.Config, engine: Engine,
                 tls_handshake_timeout: float | None = None) -> None:
        super().__init__(config)
        self.engine = engine
        self.tls_handshake_timeout = tls_handshake_timeout
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._stop = asyncio.Event()
        self.loop = loop = asyncio.get_running_loop()
        # uvicorn's create_server passes no ssl_handshake_timeout (asyncio's
        # default is 60 s): a connection that never sends a ClientHello would
        # hold its descriptor that long. Ours, for this call only.
        create_server = loop.create_server
        if self.tls_handshake_timeout is not None and self.config.ssl is not None:
            timeout = self.tls_handshake_timeout

            async def with_deadline(*args: Any, **kwargs: Any) -> Any:
                if kwargs.get("ssl") is not None:
                    kwargs.setdefault("ssl_handshake_timeout", timeout)
                return await create_server(*args, **kwargs)

            loop.create_server = with_deadline  # type: ignore[method-assign]
        try:
            await super().startup(sockets=sockets)
        finally:
            if "create_server" in vars(loop):
                del loop.create_server
        self.ready.set()

    async def main_loop(self) -> None:
        # uvicorn polls should_exit ten times a second; an idle tray app should
        # not wake up at all, so wait on an event instead.
        assert self._stop is not None
        await self.on_tick(0)
        if not self.should_exit:
            await self._stop.wait()

    def request_stop(self) -> None:
        self.should_exit = True
        if self._stop is not None:
            self._stop.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.engine.close()
        lingering = asyncio.ensure_future(self._abort_lingering())
        try:
            await super().shutdown(sockets=sockets)
        finally:
            lingering.cancel()

    async def _abort_lingering(self) -> None:
        """Drop connections still open halfway through the graceful timeout.

        A TLS connection closes only once the peer answers its close_notify;
        a browser that does not would hold the stop up to the timeout and leave
        the transport open as the loop closes.
        """
        await asyncio.sleep(GRACEFUL_SHUTDOWN / 2)
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()


class RealtimeServer:
    """The whole endpoint on a background thread. See the module docstring.

    A data directory deleted or replaced under the server (``rm -rf``) is
    noticed on the next publish and within ``config.data_dir_check`` seconds
    otherwise: the server logs one error line, refuses events with a 503 and
    says degraded from then on, and calls ``on_data_dir_lost`` with the reason
    (``lattice-rt serve`` then exits). It never removes what another server
    made there since.
    """

    def __init__(self, config: ServerConfig | None = None, *,
                 on_data_dir_lost: Callable[[str], None] | None = None) -> None:
        self.config = config or ServerConfig()
        self.on_data_dir_lost = on_data_dir_lost
        self.bus: RealtimeBus | None = None  # the local engine's bus
        self.engine: Engine | None = None
        self.owner_token: str | None = None
        self.port = 0
        self._journal: Journal | None = None
        self._accounts: Accounts | None = None
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._redactor: SecretRedactor | None = None
        self._loggers: tuple[str, ...] = ()
        self._dir_lock: DataDirLock | None = None
        self._wrote_server_info = False
        self._instance = secrets.token_hex(16)  # names this server in server.json
        self._watch: DataDirWatch | None = None
        self._watching = threading.Event()  # set: the watch thread should end
        self._watcher: threading.Thread | None = None
        self._address: tuple[str, int] = (self.config.host, 0)
        self.read_only = False  # the data dir refused writes: no journal, no server.json

    @property
    def tls(self) -> bool:
        return self.config.tls_cert is not None

    @property
    def url(self) -> str:
        """Where clients reach this server (server.json, the banner).

        A wildcard bind is reached on loopback, except with TLS: a certificate
        names the server, so the first ``--allow-host`` name without a port
        (the name clients use) is the URL's host.
        """
        host = self.config.host
        if host in ("0.0.0.0", "::", ""):
            names = [h for h in self.config.allowed_hosts if not split_host(h)[1]]
            host = names[0] if self.tls and names else "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        """The address and port the listening socket is bound to."""
        return self._address

    @property
    def allowed_hosts(self) -> list[str]:
        """The ``Host`` values requests may carry (guard.py)."""
        return sorted(allowed_hosts(self.port, self.config.allowed_hosts))

    @property
    def data_dir(self) -> Path:
        return Path(self.config.data_dir)

    # ---------------------------------------------------------------- start
    def start(self, timeout: float = 10.0) -> None:
        """Lock the data dir, open storage, bind, serve; undo all of it on failure."""
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> None:
        cfg = self.config
        write_timeout = cfg.effective_write_timeout()
        if not write_timeout > 0:
            raise ServerError("the write timeout must be positive")
        if (cfg.tls_cert is None) != (cfg.tls_key is None):
            raise ServerError("TLS needs both a certificate and its key (--tls-cert, --tls-key)")
        if cfg.tls_cert is not None and cfg.tls_key is not None:
            try:
                check_server_files(cfg.tls_cert, cfg.tls_key)
            except TlsError as exc:
                raise ServerError(str(exc)) from None
        try:
            data_dir = ensure_data_dir(cfg.data_dir)
        except OSError as exc:
            raise ServerError(f"cannot use data directory {cfg.data_dir}: {exc}") from exc
        self.read_only = not writable(data_dir)
        if cfg.lock_data_dir:
            self._lock_data_dir(data_dir)
        if cfg.redis_url:
            engine, authenticator, accounts = self._redis_engine()
        else:
            engine, authenticator, accounts = self._local_engine(data_dir)
        self.engine = engine
        self._install_redactor()
        if cfg.listen_fd is not None:
            sock = socket.socket(fileno=cfg.listen_fd)
        else:
            sock = bind_socket(cfg.host, cfg.port, cfg.heartbeat, reuse_port=cfg.reuse_port)
        self._address = sock.getsockname()[:2]
        self.port = self._address[1]
        app = create_app(
            engine, authenticator, version=__version__, limits=cfg.limits,
            extra_hosts=cfg.allowed_hosts, write_timeout=write_timeout,
            abort_connection=self._abort_connection, accounts=accounts, clock=cfg.clock,
            auth_failure_limit=cfg.auth_failure_limit,
            auth_failure_window=cfg.auth_failure_window,
        )
        counts = PeerCounts(ConnectionLimits(
            max_head_bytes=cfg.max_head_bytes, head_timeout=cfg.head_timeout,
            per_client=cfg.max_client_connections, exempt=tuple(cfg.trusted_proxies),
        ), clock=cfg.clock)
        uv_config = uvicorn.Config(
            app,
            # heads bounded in size and time, connections per client address capped
            http=guarded_protocol(AutoHTTPProtocol, counts),
            h11_max_incomplete_event_size=cfg.max_head_bytes,
            log_level=cfg.log_level,
            access_log=cfg.access_log,  # off by default; when on, URLs are redacted
            lifespan="on",
            ws="none",  # no WebSocket route: no implementation loaded, no upgrade served
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
            date_header=False,
            server_header=False,
            ssl_certfile=cfg.tls_cert,
            ssl_keyfile=cfg.tls_key,
            # X-Forwarded-For/-Proto only from the reverse proxies named (--trust-proxy)
            proxy_headers=bool(cfg.trusted_proxies),
            forwarded_allow_ips=list(cfg.trusted_proxies) or None,
        )
        self._server = _Uvicorn(uv_config, engine, cfg.tls_handshake_timeout)
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name="realtime-server", daemon=True
        )
        self._thread.start()
        if not self._server.ready.wait(timeout) or self._error is not None:
            raise ServerError(f"the server did not start: {self._error or 'timed out'}")
        if cfg.write_server_info and not self.read_only:
            self._write_server_info()
        self._start_watch()
        if not cfg.auth:
            log.warning(
                "AUTHENTICATION IS DISABLED (--no-auth): anyone who can reach %s can read "
                "and publish everything", self.url,
            )

    def _local_engine(
        self, data_dir: Path
    ) -> tuple[Engine, Authenticator, AccountStore | None]:
        """The journal, the bus, the owner token and the accounts of this data directory."""
        cfg = self.config
        if self.read_only:
            log.warning(
                "data directory %s is read-only: serving without the journal (events are "
                "not kept across restarts) and without server.json", data_dir,
            )
            self._journal = None
        else:
            self._journal = open_journal(data_dir, cfg.journal_retention)
        try:
            self.bus = RealtimeBus(
                journal=self._journal,
                heartbeat=cfg.heartbeat,
                presence_ttl=cfg.presence_ttl,
                presence_hold=cfg.presence_hold,
                backlog=cfg.backlog,
                clock=cfg.clock,
                server_version=__version__,
                server_id=load_or_create_server_id(data_dir),
            )
        except JournalError as exc:  # loading it failed (e.g. the file is read-only)
            if self._journal is not None:
                self._journal.discard()
                self._journal = None
            raise ServerError(f"cannot open the journal: {exc}") from exc
        if cfg.auth:
            try:
                self.owner_token = load_or_create_owner_token(data_dir)
            except OSError as exc:
                raise ServerError(f"cannot read or create the owner token: {exc}") from exc
            self._accounts = open_accounts(data_dir, read_only=self.read_only)
        accounts = LocalAccountStore(self._accounts) if self._accounts is not None else None
        if self._dir_lock is not None:  # the files held open there, the journal's included
            files = [self._dir_lock.path]
            if self._journal is not None:
                files.append(database_path(data_dir))
            self._watch = DataDirWatch(data_dir, files)
        sessions = None
        if cfg.auth and not self.read_only:  # a page stays signed in across a restart
            sessions = FileSessions(data_dir / SESSIONS_FILE, self.owner_token)
        return LocalEngine(self.bus, self._storage_lost), Authenticator(
            owner_token=self.owner_token,
            owner_user=cfg.owner_user or login_name(),
            accounts=accounts,
            sessions=sessions,
            enabled=cfg.auth,
            clock=cfg.clock,
        ), accounts

    def _redis_engine(self) -> tuple[Engine, Authenticator, AccountStore | None]:
        """A node of the cluster in Redis: nothing of it is kept in the data directory."""
        from lattice_rt_core.auth.redis_accounts import RedisAccounts, RedisSessions
        from lattice_rt_core.engines.redis.engine import RedisEngine, bootstrap

        cfg = self.config
        assert cfg.redis_url is not None
        keys = RedisKeys(cfg.redis_prefix)
        try:
            identity = bootstrap(cfg.redis_url, keys, cfg.owner_user or login_name())
        except Unavailable as exc:
            raise ServerError(str(exc)) from None
        engine = RedisEngine(
            cfg.redis_url, identity, keys=keys, retention=cfg.journal_retention,
            backlog=cfg.backlog, heartbeat=cfg.heartbeat, presence_ttl=cfg.presence_ttl,
            presence_hold=cfg.presence_hold, check_interval=cfg.redis_check_interval,
            server_version=__version__,
        )
        self.owner_token = identity.owner_token if cfg.auth else None
        accounts = RedisAccounts(engine.client, keys)
        return engine, Authenticator(
            owner_token=self.owner_token,
            owner_user=identity.owner_user,
            accounts=accounts,
            sessions=RedisSessions(engine.client, keys),
            enabled=cfg.auth,
            clock=cfg.clock,
        ), accounts

    def _lock_data_dir(self, data_dir: Path) -> None:
        """Hold the directory for this server's life, before anything in it is opened.

        A read-only directory where the lock file cannot be created is served
        unlocked: that server writes nothing there, so it cannot hand out a seq.
        """
        lock = DataDirLock(data_dir)
        try:
            lock.acquire()
        except DataDirInUse as exc:
            raise ServerError(str(exc)) from None
        except OSError as exc:
            if not self.read_only:
                raise ServerError(f"cannot lock data directory {data_dir}: {exc}") from exc
            log.debug("cannot lock the read-only data directory %s: %s", data_dir, exc)
            return
        self._dir_lock = lock

    def _storage_lost(self) -> str | None:
        return None if self._watch is None else self._watch.lost()

    def _start_watch(self) -> None:
        """Look at the data directory every ``data_dir_check`` seconds (a thread)."""
        if self._dir_lock is not None and self._watch is None:  # a node: only its lock
            self._watch = DataDirWatch(
                self.data_dir, [self._dir_lock.path],
                consequence="another server may take the directory now; restart this one")
        if self._watch is None:
            return
        self._watching.clear()
        self._watcher = threading.Thread(target=self._watch_data_dir, name="data-dir-watch",
                                         daemon=True)
        self._watcher.start()

    def _watch_data_dir(self) -> None:
        watch = self._watch
        assert watch is not None
        while not self._watching.wait(self.config.data_dir_check):
            lost = watch.lost()
            if lost is None:
                continue
            self._wrote_server_info = False  # what is there now is not ours
            log.error("%s", lost)
            if self.on_data_dir_lost is not None:
                self.on_data_dir_lost(lost)
            return

    def _install_redactor(self) -> None:
        """Keep the owner token, launch codes and sessions out of every log line."""
        self._remove_redactor()
        self._redactor = SecretRedactor([self.owner_token] if self.owner_token else [])
        self._loggers = _server_loggers()
        for name in self._loggers:
            logging.getLogger(name).addFilter(self._redactor)

    def _remove_redactor(self) -> None:
        if self._redactor is not None:
            for name in self._loggers:
                logging.getLogger(name).removeFilter(self._redactor)
            self._redactor = None

    def _abort_connection(self, asgi_scope: Any) -> bool:
        """Drop the connection a request came in on, discarding its unsent data (loop thread)."""
        server = self._server
        client = asgi_scope.get("client")
        if server is None or not client:
            return False
        peer = (client[0], client[1])
        for conn in list(server.server_state.connections):
            if getattr(conn, "client", None) == peer:
                transport = getattr(conn, "transport", None)
                if transport is not None:
                    transport.abort()
                    return True
        return False

    def _run(self, sock: socket.socket) -> None:
        server = self._server  # stop() may drop the attribute while this thread finishes
        assert server is not None
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 - reported to start()/stop()
            self._error = exc
            log.error("the realtime server stopped: %s", exc)
        finally:
            sock.close()
            server.ready.set()

    # ----------------------------------------------------------------- stop
    def stop(self, timeout: float = 2.0) -> None:
        """Close streams, stop uvicorn, flush and close the journal."""
        self._watching.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join()
        self._watcher = None
        self._watch = None
        server, thread = self._server, self._thread
        if server is not None and thread is not None and thread.is_alive():
            loop = server.loop
            if loop is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(server.request_stop)
                except RuntimeError:
                    pass
            else:
                server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(1.0)
        self._thread = None
        self._server = None
        self._close_storage()
        self._remove_server_info()
        self._remove_redactor()
        if self._dir_lock is not None:  # last: the directory is free once all is closed
            self._dir_lock.release()
            self._dir_lock = None

    def _close_storage(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self._accounts is not None:
            self._accounts.close()
            self._accounts = None

    # ---------------------------------------------------------- server.json
    def _write_server_info(self) -> None:
        """Only the holder of the directory lock writes server.json (and removes it)."""
        if self._dir_lock is None:
            return
        self._wrote_server_info = write_server_info(self.data_dir, self.url,
                                                    auth=self.config.auth,
                                                    instance=self._instance)

    def _remove_server_info(self) -> None:
        if not self._wrote_server_info:
            return
        self._wrote_server_info = False
        remove_server_info(self.data_dir, self._instance)  # only while it is still ours


