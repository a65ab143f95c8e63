"""``lattice-rt``: run the endpoint headless and talk to it from a shell.

Client commands find the local server through ``server.json`` and the owner
token in the data dir, unless ``--url``/``--token`` (or ``LATTICE_RT_URL`` /
``LATTICE_RT_TOKEN``) name another. Output meant for programs is JSON, one
document per line, on stdout; messages for people go to stderr. Errors are one
line on stderr: exit status 2 for usage errors, 1 for everything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
import webbrowser
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from .client import ApiError, Backoff, ClientState, RealtimeClient, discover
from .defaults import (
    DEFAULT_FEED_LIMIT,
    DEFAULT_HEARTBEAT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_RETENTION,
    DEFAULT_TTL,
    FEED_LIMIT,
    PRESENCE_STATUSES,
    REPLAY_TAIL,
)
from .events import to_json
from .paths import (
    DATA_DIR_ENV,
    OWNER_TOKEN_FILE,
    SERVER_INFO_FILE,
    database_path,
    default_data_dir,
    ensure_data_dir,
    read_owner_token,
)
from .redis_store import REDIS_URL_ENV, safe_url
from .version import __version__

__all__ = ["main"]

PROG = "lattice-rt"
URL_ENV = "LATTICE_RT_URL"
TOKEN_ENV = "LATTICE_RT_TOKEN"
FATAL_STREAM_STATUSES = (401, 403)
#: the hidden command a worker of `serve --workers N` runs (see workers.py)
WORKER_COMMAND = "_worker"


class CliError(Exception):
    """A failure to report in one line (exit status ``code``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


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


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, like '{\"key\": 1}'")
    return value


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--url/--token/--data-dir``, accepted before or after the command."""
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
        "--data-dir", type=Path, default=default, metavar="DIR",
        help=f"data directory (default: ${DATA_DIR_ENV}, else the user data dir)",
    )


def _redis_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--redis", metavar="URL", default=None,
                        help=f"{text} (default: ${REDIS_URL_ENV})")


def _redis_url(args: argparse.Namespace) -> str | None:
    return args.redis or os.environ.get(REDIS_URL_ENV, "").strip() or None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
                       help=f"address to bind (default {DEFAULT_HOST})")
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
                       help="an extra Host name to accept besides loopback (repeatable)")
    _redis_option(serve, "run as a node of the cluster in this Redis (redis://HOST:PORT/DB)")
    serve.add_argument("--workers", type=_count(1), default=1, metavar="N",
                       help="N node processes on one port, one per core (needs --redis; "
                            "default 1)")

    token = command("token", _token, "print the owner token")
    _redis_option(token, "print the owner token of the cluster in this Redis")

    user = command("user", _user_list, "manage user accounts (default: list them)")
    user_commands = user.add_subparsers(dest="user_command", metavar="ACTION")
    add = user_commands.add_parser("add", help="create a user or renew its token; prints it")
    _connection_options(add, top=False)
    add.add_argument("name")
    add.add_argument("--workspace", "-w", action="append", default=[], metavar="WS",
                     help="a workspace the user belongs to (repeatable)")
    add.set_defaults(handler=_user_add)
    remove = user_commands.add_parser("remove", help="delete a user")
    _connection_options(remove, top=False)
    remove.add_argument("name")
    remove.set_defaults(handler=_user_remove)
    listing = user_commands.add_parser("list", help="list users and their workspaces")
    _connection_options(listing, top=False)
    listing.set_defaults(handler=_user_list)

    publish = command("publish", _publish, "publish one event; prints it enriched")
    publish.add_argument("area", help="e.g. workflow, graph, workspace")
    publish.add_argument("event_type", help="e.g. workflow_run")
    publish.add_argument("--workspace", "-w", metavar="WS", help="the event's workspace_id")
    publish.add_argument("--payload", "-p", type=_json_object, default={}, metavar="JSON",
                         help="the payload, a JSON object")

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

    command("presence", _presence,
            "print who is present, one JSON line each (with status and status_text)")

    status = command("status", _status,
                     "set the status (and status line) of a presence entry; prints it")
    status.add_argument("client_id", metavar="CLIENT_ID", help="the entry's client_id")
    status.add_argument("status", metavar="STATUS", choices=PRESENCE_STATUSES,
                        help=f"one of {', '.join(PRESENCE_STATUSES)}")
    status.add_argument("--text", "-t", metavar="TEXT",
                        help="a short status line (default: none, which clears it)")

    feed = command("feed", _feed, "print recent events, oldest first, one JSON line each")
    feed.add_argument("--limit", type=_count(0), default=DEFAULT_FEED_LIMIT, metavar="N",
                      help=f"how many (default {DEFAULT_FEED_LIMIT}, at most {FEED_LIMIT})")

    open_ = command("open", _open, "open the activity page in a browser (one-time link)")
    open_.add_argument("--print-url", action="store_true",
                       help="print the one-time link instead of starting a browser")
    return parser


# ------------------------------------------------------------------- helpers
def _data_dir(args: argparse.Namespace) -> Path:
    given = getattr(args, "data_dir", None)
    return Path(given).expanduser() if given is not None else default_data_dir()


def _client(args: argparse.Namespace, **kwargs: Any) -> RealtimeClient:
    url = args.url or os.environ.get(URL_ENV) or None
    token = args.token or os.environ.get(TOKEN_ENV) or None
    found_url, found_token = discover(_data_dir(args), url=url, token=token)
    try:
        return RealtimeClient(found_url, found_token, **kwargs)
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None


def _emit(line: str, stream: TextIO | None = None) -> None:
    out = stream if stream is not None else sys.stdout
    out.write(line + "\n")
    out.flush()


def _say(message: str) -> None:
    _emit(f"{PROG}: {message}", sys.stderr)


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
    from .server import RealtimeServer, ServerConfig, ServerError
    from .workers import Supervisor

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    data_dir = _data_dir(args)
    if args.workers > 1 and _redis_url(args) is None:
        raise CliError("--workers needs --redis: the processes share their state through "
                       "Redis", code=2)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=data_dir,
        heartbeat=args.heartbeat,
        presence_ttl=args.presence_ttl,
        auth=not args.no_auth,
        journal_retention=args.retention,
        allowed_hosts=tuple(args.allow_host),
        redis_url=_redis_url(args),
    )
    server: RealtimeServer | Supervisor
    if args.workers > 1:
        server = Supervisor(config, args.workers, say=_say)
    else:
        server = RealtimeServer(config)
    stop = threading.Event()
    with _signals_set(stop):
        try:
            server.start()
        except ServerError as exc:
            raise CliError(str(exc)) from None
        try:
            _emit(f"{PROG} {__version__} serving {server.url}")
            if isinstance(server, Supervisor):
                pids = ", ".join(str(pid) for pid in server.pids)
                _emit(f"  workers:  {args.workers} processes on one port (pids {pids})")
            _emit(f"  data:     {data_dir}")
            if config.redis_url:
                _emit(f"  cluster:  {safe_url(config.redis_url)} (a node of the cluster in Redis)")
            if args.no_auth:
                _say("WARNING: authentication is disabled (--no-auth): anyone who can reach "
                     f"{server.url} can read and publish everything")
            elif config.redis_url:
                _emit(f"  token:    `{PROG} token --redis URL` prints the cluster's owner token")
            else:
                _emit(f"  token:    {data_dir / OWNER_TOKEN_FILE} (`{PROG} token` prints it)")
            _emit(f"  activity: `{PROG} open` opens the live page in your browser")
            _emit("Stop with Ctrl-C.")
            _wait(stop)
        finally:
            server.stop()
    _say("stopped")
    return 0


def _token(args: argparse.Namespace) -> int:
    url = _redis_url(args)
    if url is not None:
        from .engine import Unavailable
        from .redis_engine import read_owner_token as cluster_token
        from .redis_store import RedisKeys

        try:
            found = cluster_token(url, RedisKeys())
        except Unavailable as exc:
            raise CliError(str(exc)) from None
        if found is None:
            raise CliError(f"no cluster in Redis at {safe_url(url)} yet: start a node with "
                           f"`{PROG} serve --redis URL`")
        _emit(found)
        return 0
    data_dir = _data_dir(args)
    token = read_owner_token(data_dir)
    if token is None:
        raise CliError(
            f"no owner token in {data_dir} yet: start the server once with `{PROG} serve`"
        )
    _emit(token)
    return 0


@contextmanager
def _accounts(args: argparse.Namespace) -> Iterator[Any]:
    from .auth import Accounts

    data_dir = _data_dir(args)
    try:
        ensure_data_dir(data_dir)
        accounts = Accounts(database_path(data_dir))
    except (OSError, sqlite3.Error) as exc:
        raise CliError(f"cannot open the accounts in {data_dir}: {exc}") from None
    try:
        yield accounts
    except sqlite3.Error as exc:
        raise CliError(f"cannot update the accounts in {data_dir}: {exc}") from None
    finally:
        accounts.close()


def _user_add(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        try:
            token = accounts.add_user(args.name, args.workspace)
        except ValueError as exc:
            raise CliError(str(exc), code=2) from None
    _emit(token)
    return 0


def _user_remove(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        removed = accounts.remove_user(args.name)
    if not removed:
        raise CliError(f"no user named {args.name!r}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        users = accounts.users()
    for name, workspaces in sorted(users.items()):
        _emit(to_json({"user": name, "workspaces": sorted(workspaces)}))
    return 0


def _publish(args: argparse.Namespace) -> int:
    with _client(args) as client:
        event = client.publish(
            args.area, args.event_type, args.payload, workspace_id=args.workspace
        )
    _emit(to_json(event))
    return 0


def _presence(args: argparse.Namespace) -> int:
    with _client(args) as client:
        entries = client.presence().get("presence", [])
    for entry in entries:
        _emit(to_json(entry))
    return 0


def _status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        entry = client.set_status(args.client_id, args.status, args.text)
    _emit(to_json(entry))
    return 0


def _feed(args: argparse.Namespace) -> int:
    with _client(args) as client:
        events = client.feed(limit=args.limit).get("events", [])
    for event in reversed(events):
        _emit(to_json(event))
    return 0


def _open(args: argparse.Namespace) -> int:
    from .auth import LAUNCH_CODE_TTL

    with _client(args) as client:
        url = client.launch_url()
    if args.print_url:
        _emit(url)
        return 0
    if not webbrowser.open(url):
        _say("could not start a browser; open this one-time link within "
             f"{LAUNCH_CODE_TTL:g} s:\n{url}")
        return 1
    _say("opened the activity page in your browser")
    return 0


class _Tail:
    """Writes the stream as JSON lines; decides when ``tail`` is done."""

    def __init__(self, count: int | None) -> None:
        self.count = count
        self.seen = 0
        self.done = threading.Event()
        self.failure: str | None = None
        self.client: RealtimeClient | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        if self.done.is_set():
            return
        try:
            _emit(to_json(event))
        except BrokenPipeError:  # the reader went away (| head)
            _silence_stdout()
            self.done.set()
            return
        self.seen += 1
        if self.count is not None and self.seen >= self.count:
            self.done.set()

    def on_gap(self, body: dict[str, Any]) -> None:
        _emit(to_json({"kind": "gap", **body}), sys.stderr)

    def on_reset(self, body: dict[str, Any]) -> None:
        _emit(to_json({"kind": "reset", **body}), sys.stderr)

    def on_state(self, state: ClientState, detail: str) -> None:
        if state is ClientState.STOPPED or self.done.is_set():
            return
        error = self.client.last_error if self.client is not None else None
        if (
            state is ClientState.RECONNECTING
            and error is not None
            and error.status in FATAL_STREAM_STATUSES
        ):
            self.failure = str(error)  # retrying cannot fix a refused token
            self.done.set()
            return
        _say(detail)


def _tail(args: argparse.Namespace) -> int:
    tail = _Tail(args.count)
    client = _client(
        args,
        last_event_id=args.last_event_id,
        client_ids=args.client_id,
        heartbeat=args.heartbeat,
        backoff=Backoff(),
        on_event=tail.on_event,
        on_gap=tail.on_gap,
        on_reset=tail.on_reset,
        on_state=tail.on_state,
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
    """A worker of ``serve --workers N`` (started by the supervisor, not by people)."""
    from .workers import run_worker

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    with _signals_set(stop):
        return run_worker(sys.stdin, sys.stdout, stop)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list == [WORKER_COMMAND]:
        return _worker()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        _say("error: a command is required (see --help)")
        return 2
    try:
        code: int = handler(args)
    except CliError as exc:
        _say(f"error: {exc}")
        return exc.code
    except ApiError as exc:
        _say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as exc:  # noqa: BLE001 - never show a user a traceback
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        _say(f"error: unexpected {type(exc).__name__}: {exc}")
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
