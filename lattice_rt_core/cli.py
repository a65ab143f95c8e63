"""``lattice-rt``: run the endpoint headless and talk to it from a shell.

Client commands find the local server through ``server.json`` and the owner
token in the data dir, unless ``--url``/``--token`` (or ``LATTICE_RT_URL`` /
``LATTICE_RT_TOKEN``) name another (see :mod:`~lattice_rt_core.commands.support`). Output meant for
programs is JSON, one document per line, on stdout; messages for people go to
stderr. Errors are one line on stderr: exit status 2 for usage errors, 1 for
everything else. ``token`` and ``user`` live in :mod:`~lattice_rt_core.commands.users`,
``publish`` (and ``--batch``) in :mod:`~lattice_rt_core.commands.publish`.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from lattice_rt_core.commands import login as cli_login
from lattice_rt_core.commands import presence as cli_presence
from lattice_rt_core.commands import publish as cli_publish
from lattice_rt_core.commands import users as cli_users
from lattice_rt_core.commands.support import (
    PROG,
    TOKEN_ENV,
    URL_ENV,
    CliError,
    Remote,
    data_dir,
    emit,
    redis_option,
    redis_url,
    say,
)
from lattice_rt_core.net.api import ApiError, ClientState, loopback_host
from lattice_rt_core.net.tls import CA_FILE_ENV
from lattice_rt_core.paths import (
    DATA_DIR_ENV,
    OWNER_TOKEN_FILE,
    SERVER_INFO_FILE,
    default_data_dir,
)
from lattice_rt_core.protocol.defaults import (
    DEFAULT_FEED_LIMIT,
    DEFAULT_HEARTBEAT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_RETENTION,
    DEFAULT_TTL,
    FEED_LIMIT,
    MAX_CLIENT_CONNECTIONS,
    REPLAY_TAIL,
    WORKER_COMMAND,
)
from lattice_rt_core.protocol.events import to_json
from lattice_rt_core.version import __version__

# Only what parsing needs is imported here: a client command loads its client when it
# sends, and none loads the server, its engines or the process machinery (``serve`` does).
if TYPE_CHECKING:
    from lattice_rt_core.client import RealtimeClient
    from lattice_rt_core.process.workers import Supervisor
    from lattice_rt_core.server import RealtimeServer

__all__ = ["main"]

class _Parser(argparse.ArgumentParser):
    """Usage errors as one line that points to ``--help`` (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ----------------------------------------------------------------- arguments
def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {text!r}")
        return value

    return parse


def _port(text: str) -> int:
    value = _count(0)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return value


def _proxy(text: str) -> str:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an IP address or network: {text!r} (like 127.0.0.1 or 10.0.0.0/8)"
        ) from None
    return text


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--url/--token/--ca-file/--data-dir``, accepted before or after the command."""
    default: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--url", default=default,
        help=f"endpoint URL (default: ${URL_ENV}, else the local server from "
             f"{SERVER_INFO_FILE})",
    )
    group.add_argument(
        "--token", default=default,
        help=f"bearer token (default: ${TOKEN_ENV}, else the local owner token)",
    )
    group.add_argument(
        "--ca-file", default=default, metavar="FILE",
        help=f"a CA certificate (PEM) to trust besides the system's (default: ${CA_FILE_ENV})",
    )
    group.add_argument(
        "--data-dir", type=Path, default=default, metavar="DIR",
        help=f"data directory (default: ${DATA_DIR_ENV}, else the user data dir)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Lattice realtime endpoint and command-line client.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _connection_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        _connection_options(sub, top=False)
        sub.set_defaults(handler=handler)
        return sub

    serve = command("serve", _serve, "run the realtime endpoint in the foreground")
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every "
                            "IPv4 address, :: for every IPv6 one)")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT,
                       help=f"TCP port, 0 for any ({DEFAULT_PORT})")
    serve.add_argument("--heartbeat", type=_positive, default=DEFAULT_HEARTBEAT, metavar="S",
                       help="seconds between heartbeat comments on idle streams "
                            f"({DEFAULT_HEARTBEAT:g})")
    serve.add_argument("--presence-ttl", type=_positive, default=DEFAULT_TTL, metavar="S",
                       help="seconds before an unrefreshed presence entry expires "
                            f"({DEFAULT_TTL:g})")
    serve.add_argument("--retention", type=_count(1), default=DEFAULT_RETENTION, metavar="N",
                       help=f"events kept in the durable journal ({DEFAULT_RETENTION})")
    serve.add_argument("--no-auth", action="store_true",
                       help="accept every request without a token (local mode; insecure)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="a Host name clients (or a reverse proxy) use besides loopback, "
                            "with or without :PORT (repeatable)")
    serve.add_argument("--tls-cert", type=Path, metavar="FILE",
                       help="serve HTTPS with this certificate chain (PEM); needs --tls-key")
    serve.add_argument("--tls-key", type=Path, metavar="FILE",
                       help="the private key (PEM, unencrypted) of --tls-cert")
    serve.add_argument("--trust-proxy", action="append", default=[], type=_proxy,
                       metavar="ADDR",
                       help="a reverse proxy's address or network whose X-Forwarded-For and "
                            "X-Forwarded-Proto are believed (repeatable)")
    serve.add_argument("--max-client-connections", type=_count(0),
                       default=MAX_CLIENT_CONNECTIONS, metavar="N",
                       help="connections one client address may hold at once, 0 for no cap "
                            f"(default {MAX_CLIENT_CONNECTIONS}; --trust-proxy addresses are "
                            "not counted)")
    redis_option(serve, "run as a node of the cluster in this Redis (redis://HOST:PORT/DB)")
    serve.add_argument("--workers", type=_count(1), default=1, metavar="N",
                       help="N node processes on one port, one per core (needs --redis; "
                            "default 1)")

    cli_users.add_commands(command, _connection_options)

    cli_login.add_commands(command)

    cli_publish.add_commands(command)

    tail = command("tail", _tail, "follow the live stream as JSON lines (reconnects, resumes)")
    tail.add_argument("--last-event-id", type=_count(0), metavar="N",
                      help=f"start after this seq (default: the last {REPLAY_TAIL} events, "
                           "then live)")
    tail.add_argument("--count", type=_count(1), metavar="N",
                      help="exit after N events")
    tail.add_argument("--client-id", action="append", default=[], metavar="ID",
                      help="a presence client_id this stream keeps fresh (repeatable)")
    tail.add_argument("--heartbeat", type=_positive, default=DEFAULT_HEARTBEAT, metavar="S",
                      help=f"the server's heartbeat interval ({DEFAULT_HEARTBEAT:g}); "
                           "silence for 2*S+5 s reconnects")

    cli_presence.add_commands(command)

    feed = command("feed", _feed, "print recent events, oldest first, one JSON line each")
    feed.add_argument("--limit", type=_count(0), default=DEFAULT_FEED_LIMIT, metavar="N",
                      help=f"how many (default {DEFAULT_FEED_LIMIT}, at most {FEED_LIMIT})")

    open_ = command("open", _open, "open the activity page in a browser (one-time link)")
    open_.add_argument("--print-url", action="store_true",
                       help="print the one-time link instead of starting a browser")
    return parser


# ------------------------------------------------------------------- helpers
@contextmanager
def _signals_set(event: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``event`` (only possible on the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        event.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _wait(event: threading.Event) -> None:
    # A bounded wait keeps Ctrl-C responsive on platforms where a blocked
    # wait is not interrupted by signals.
    while not event.wait(1.0):
        pass


# ------------------------------------------------------------------ commands
def _serve(args: argparse.Namespace) -> int:
    from lattice_rt_core.process.child import worker_command
    from lattice_rt_core.process.config import PortInUse
    from lattice_rt_core.process.workers import Supervisor
    from lattice_rt_core.server import RealtimeServer, ServerConfig, ServerError

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    if (args.tls_cert is None) != (args.tls_key is None):
        raise CliError("--tls-cert and --tls-key go together", code=2)
    if args.workers > 1 and redis_url(args) is None:
        raise CliError("--workers needs --redis: the processes share their state through "
                       "Redis", code=2)
    directory = data_dir(args)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=directory,
        heartbeat=args.heartbeat,
        presence_ttl=args.presence_ttl,
        auth=not args.no_auth,
        journal_retention=args.retention,
        allowed_hosts=tuple(args.allow_host),
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        trusted_proxies=tuple(args.trust_proxy),
        max_client_connections=args.max_client_connections,
        redis_url=redis_url(args),
    )
    server: RealtimeServer | Supervisor
    stop = threading.Event()
    lost: list[str] = []

    def data_dir_lost(reason: str) -> None:
        # the server logged the one line that says so; exit, so that a service
        # manager starts a server on a directory it can keep events in
        lost.append(reason)
        stop.set()

    if args.workers > 1:
        server = Supervisor(config, args.workers, worker_command(), say=say)
    else:
        server = RealtimeServer(config, on_data_dir_lost=data_dir_lost)
    with _signals_set(stop):
        try:
            server.start()
        except PortInUse as exc:
            raise CliError(f"{exc} Choose another with --port (or 0 for any free port).") \
                from None
        except ServerError as exc:
            raise CliError(str(exc)) from None
        try:
            _banner(server, directory, args)
            _wait(stop)
        finally:
            server.stop()
    if lost:
        return 1
    say("stopped")
    return 0


def _banner(
    server: RealtimeServer | Supervisor, directory: Path, args: argparse.Namespace
) -> None:
    """What runs where, for whom; the warnings that matter, on stderr."""
    host, port = server.address
    emit(f"{PROG} {__version__} serving {server.url}")
    emit(f"  listening: {_where(host, port)}")
    from lattice_rt_core.process.workers import Supervisor

    if isinstance(server, Supervisor):
        pids = ", ".join(str(pid) for pid in server.pids)
        emit(f"  workers:   {server.count} processes on this port (pids {pids})")
    emit(f"  hosts:     {', '.join(server.allowed_hosts)}")
    emit(f"  data:      {directory}")
    cluster = redis_url(args)
    if cluster is not None:
        from lattice_rt_core.engines.redis.store import safe_url

        emit(f"  cluster:   {safe_url(cluster)} (a node of the cluster in Redis)")
    if not args.no_auth and cluster is not None:
        emit(f"  token:     `{PROG} token --redis URL` prints the cluster's owner token")
    elif not args.no_auth:
        how = f"{PROG} token" + ("" if directory == default_data_dir()
                                 else f" --data-dir {shlex.quote(str(directory))}")
        emit(f"  token:     {directory / OWNER_TOKEN_FILE} (`{how}` prints it)")
    emit(f"  activity:  `{PROG} open` opens the live page in your browser")
    emit("Stop with Ctrl-C.")
    if args.no_auth:
        say("WARNING: authentication is disabled (--no-auth): anyone who can reach "
            f"{server.url} can read and publish everything")
    if not server.tls and not loopback_host(host):
        say(f"WARNING: listening on {_where(host, port)} without TLS: tokens and events "
            "cross the network in clear text; give --tls-cert and --tls-key, or listen on "
            "127.0.0.1 behind a TLS reverse proxy")


def _where(host: str, port: int) -> str:
    if host in ("0.0.0.0", ""):
        return f"0.0.0.0:{port} (every IPv4 address of this machine)"
    if host == "::":
        return f"[::]:{port} (every IPv6 address of this machine)"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _feed(args: argparse.Namespace) -> int:
    with Remote(args).session() as client:
        events = client.feed(limit=args.limit).get("events", [])
    for event in reversed(events):
        emit(to_json(event))
    return 0


def _open(args: argparse.Namespace) -> int:
    from lattice_rt_core.net.browser import open_browser

    with Remote(args).session() as client:
        url = client.launch_url()
    if args.print_url:
        emit(url)
        return 0
    failure = open_browser(url)
    if failure is not None:
        from lattice_rt_core.auth.callers import LAUNCH_CODE_TTL

        say(f"could not open a browser ({failure}); open this one-time link within "
            f"{LAUNCH_CODE_TTL:g} s:")
        emit(url, sys.stderr)
        return 1
    say("opened the activity page in your browser")
    return 0


class _Tail:
    """Writes the stream as JSON lines; decides when ``tail`` is done."""

    def __init__(self, count: int | None, remote: Remote) -> None:
        self.count = count
        self.remote = remote
        self.seen = 0
        self.done = threading.Event()
        self.failure: str | None = None
        self.client: RealtimeClient | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        if self.done.is_set():
            return
        try:
            emit(to_json(event))
        except BrokenPipeError:  # the reader went away (| head)
            _silence_stdout()
            self.done.set()
            return
        self.seen += 1
        if self.count is not None and self.seen >= self.count:
            self.done.set()

    def on_gap(self, body: dict[str, Any]) -> None:
        emit(to_json({"kind": "gap", **body}), sys.stderr)

    def on_reset(self, body: dict[str, Any]) -> None:
        emit(to_json({"kind": "reset", **body}), sys.stderr)

    def on_state(self, state: ClientState, detail: str) -> None:
        if state is ClientState.STOPPED or self.done.is_set():
            return
        error = self.client.last_error if self.client is not None else None
        if state is ClientState.RECONNECTING and error is not None and error.lasting:
            # retrying cannot fix a refused token, or a server without a realtime API
            self.failure = error.message if error.unsupported else self.remote.explain(error)
            self.done.set()
            return
        say(detail)


def _own_point(hello: dict[str, Any], own: int | None) -> int | None:
    """tail resumes from where its own stream was (a Lattice AI server ignores it)."""
    return own


def _tail(args: argparse.Namespace) -> int:
    from lattice_rt_core.net.backoff import Backoff

    remote = Remote(args)
    tail = _Tail(args.count, remote)
    client = remote.client(
        last_event_id=args.last_event_id,
        client_ids=args.client_id,
        heartbeat=args.heartbeat,
        backoff=Backoff(),
        on_event=tail.on_event,
        on_gap=tail.on_gap,
        on_reset=tail.on_reset,
        on_state=tail.on_state,
        resume_from=_own_point,  # the client asks who the server is before each connect
    )
    tail.client = client
    with client, _signals_set(tail.done):
        client.start()
        _wait(tail.done)
    if tail.failure is not None:
        raise CliError(tail.failure)
    return 0


# ---------------------------------------------------------------------- main
def _worker() -> int:
    """A worker of ``serve --workers N`` or a child endpoint (started by programs)."""
    from lattice_rt_core.process.workers import main as worker

    return worker()


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv) == [WORKER_COMMAND]:
        return _worker()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    handler = getattr(args, "handler", None)
    if handler is None:
        say("error: a command is required (see lattice-rt --help)")
        return 2
    try:
        code: int = handler(args)
    except CliError as exc:
        say(f"error: {exc}" + (f" (see {PROG} --help)" if exc.code == 2 else ""))
        return exc.code
    except ApiError as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as exc:  # noqa: BLE001 - never show a user a traceback
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        say(f"error: unexpected {type(exc).__name__}: {exc}")
        return 1
    return code


def _silence_stdout() -> None:
    """After EPIPE, point stdout at devnull so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
