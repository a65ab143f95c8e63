"""``lattice-rt token`` and ``lattice-rt user ...``: the owner token and user accounts.

With a server URL (``--url`` or ``$LATTICE_RT_URL``) the user commands go
through that server's admin routes (owner token required); without one they
change the local database in the data directory, which works while a local
server runs. Both ways call the same account methods (:class:`Accounts`,
:class:`RemoteAccounts`), so the rules and the messages are the same. The
owner token itself is only ever read from the local data directory.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lattice_rt_core.commands.support import (
    PROG,
    URL_ENV,
    CliError,
    Remote,
    data_dir,
    emit,
    given_url,
    redis_option,
    redis_url,
    say,
)
from lattice_rt_core.paths import database_path, ensure_data_dir, read_owner_token
from lattice_rt_core.protocol.accounts import NoSuchUser, UserExists
from lattice_rt_core.protocol.events import to_json

if TYPE_CHECKING:
    from lattice_rt_core.auth.accounts import Accounts

__all__ = ["add_commands"]


class AccountAdmin(Protocol):
    """What the user commands need: :class:`Accounts` and :class:`RemoteAccounts` both fit."""

    def add_user(self, name: str, workspaces: Iterable[str] = ()) -> str: ...
    def grant(self, name: str, workspaces: Iterable[str]) -> set[str]: ...
    def revoke(self, name: str, workspaces: Iterable[str]) -> set[str]: ...
    def renew(self, name: str) -> str: ...
    def remove_user(self, name: str) -> None: ...
    def users(self) -> dict[str, set[str]]: ...


Handler = Callable[[argparse.Namespace], int]
Command = Callable[..., argparse.ArgumentParser]


def add_commands(command: Command, connection_options: Callable[..., None]) -> None:
    """Register ``token`` and ``user`` with the parser's ``command(name, handler, help)``."""
    token = command("token", _token,
                    "print the owner token (read from the local data directory, or from "
                    "the cluster's Redis with --redis)")
    redis_option(token, "print the owner token of the cluster in this Redis")
    user = command("user", _list, "manage user accounts (default: list them)")
    actions = user.add_subparsers(dest="user_command", metavar="ACTION")

    def action(name: str, handler: Handler, text: str, *, workspaces: str = "") -> None:
        sub = actions.add_parser(name, help=text, description=text)
        connection_options(sub, top=False)
        if name != "list":
            sub.add_argument("name", help="the user's name")
        if workspaces:
            sub.add_argument("--workspace", "-w", action="append", metavar="WS",
                             required=workspaces == "required", default=[],
                             help="a workspace (repeatable)")
        sub.set_defaults(handler=handler)

    action("add", _add, "create a user with workspaces; prints its token", workspaces="optional")
    action("grant", _grant, "add workspaces to a user", workspaces="required")
    action("revoke", _revoke, "take workspaces from a user", workspaces="required")
    action("renew", _renew, "give a user a new token (the old one stops working); prints it")
    action("list", _list, "list users and their workspaces")
    action("remove", _remove, "delete a user and its token")


def _token(args: argparse.Namespace) -> int:
    cluster = redis_url(args)
    if cluster is not None:
        emit(_cluster_token(cluster))
        return 0
    if given_url(args) is not None:
        raise CliError(
            f"the owner token is never fetched over the network: run `{PROG} token` on the "
            f"server's machine, without --url or ${URL_ENV}", code=2,
        )
    directory = data_dir(args)
    token = read_owner_token(directory)
    if token is None:
        raise CliError(
            f"no owner token in {directory} yet: start the server once with `{PROG} serve`"
        )
    emit(token)
    return 0


def _cluster_token(url: str) -> str:
    """The owner token a cluster keeps in Redis (whoever can read Redis can read it)."""
    from lattice_rt_core.engines.base import Unavailable
    from lattice_rt_core.engines.redis.engine import read_owner_token as cluster_token
    from lattice_rt_core.engines.redis.store import RedisKeys, safe_url

    try:
        token = cluster_token(url, RedisKeys())
    except Unavailable as exc:
        raise CliError(str(exc)) from None
    if token is None:
        raise CliError(f"no cluster in Redis at {safe_url(url)} yet: start a node with "
                       f"`{PROG} serve --redis URL`")
    return token


@contextmanager
def _accounts(args: argparse.Namespace) -> Iterator[AccountAdmin]:
    """The server's accounts when a URL is given, else the local database's."""
    try:
        if given_url(args) is not None:
            from lattice_rt_core.net.admin import RemoteAccounts

            with Remote(args).session() as client:
                yield RemoteAccounts(client)
        else:
            with _local(args) as accounts:
                yield accounts
    except UserExists as exc:
        raise CliError(
            f"{exc}: `{PROG} user grant {args.name} -w WS` adds workspaces, "
            f"`{PROG} user renew {args.name}` gives a new token"
        ) from None
    except NoSuchUser as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None


@contextmanager
def _local(args: argparse.Namespace) -> Iterator[Accounts]:
    # SQLite and the accounts only for the commands that change the local database:
    # every other command starts without them.
    import sqlite3

    from lattice_rt_core.auth.accounts import Accounts

    directory = data_dir(args)
    _refuse_a_foreign_data_dir(directory)
    try:
        ensure_data_dir(directory)
        accounts = Accounts(database_path(directory))
    except (OSError, sqlite3.Error) as exc:
        raise CliError(f"cannot open the accounts in {directory}: {exc}") from None
    try:
        yield accounts
    except sqlite3.Error as exc:
        raise CliError(f"cannot update the accounts in {directory}: {exc}") from None
    finally:
        accounts.close()


def _refuse_a_foreign_data_dir(directory: Path) -> None:
    """Another account's data dir (a service's) is changed through its server, not here.

    Files SQLite creates now (``-wal``, ``-shm``) would belong to this user,
    root included, and lock the server out of its own database.
    """
    if os.name != "posix":
        return
    try:
        owner = directory.stat().st_uid
    except OSError:
        return  # absent (created below) or unreadable (opening says why)
    if owner != os.geteuid():
        raise CliError(
            f"{directory} belongs to another user (uid {owner}), such as a system service: "
            "manage its users through its server with --url, or run this as that user"
        )


def _show(name: str, workspaces: set[str]) -> None:
    emit(to_json({"user": name, "workspaces": sorted(workspaces)}))
    if not workspaces:
        _no_workspace(name)


def _no_workspace(name: str) -> None:
    say(f"warning: {name} has no workspace: they see only events without one and may "
        f"publish nothing (`{PROG} user grant {name} -w WS`)")


def _add(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        token = accounts.add_user(args.name, args.workspace)
    emit(token)
    if not args.workspace:
        _no_workspace(args.name)
    return 0


def _grant(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        workspaces = accounts.grant(args.name, args.workspace)
    _show(args.name, workspaces)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        workspaces = accounts.revoke(args.name, args.workspace)
    _show(args.name, workspaces)
    return 0


def _renew(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        token = accounts.renew(args.name)
    emit(token)
    return 0


def _remove(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        accounts.remove_user(args.name)
    return 0


def _list(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        users = accounts.users()
    for name, workspaces in sorted(users.items()):
        emit(to_json({"user": name, "workspaces": sorted(workspaces)}))
    return 0
