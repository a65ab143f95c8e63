"""``lattice-rt login`` and ``logout``: a session from a server that signs in with a
password (the Lattice AI server in auth mode), kept per URL in ``logins.json``.

Later commands with that ``--url`` send it as their token (:class:`Remote`); the
password is never kept.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from lattice_rt_core.commands.support import URL_ENV, CliError, data_dir, given_url, say
from lattice_rt_core.net.api import check_url
from lattice_rt_core.net.tls import CA_FILE_ENV
from lattice_rt_core.paths import write_login

__all__ = ["add_commands"]


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``login`` and ``logout`` with the parser's ``command(name, handler, help)``."""
    login = command("login", _login,
                    "sign in with a password to a server that has sign-in (the Lattice AI "
                    "server in auth mode) and keep the session for that --url")
    login.add_argument("--email", metavar="EMAIL", help="the account (default: asked)")
    login.add_argument("--password-stdin", action="store_true",
                       help="read the password from standard input (default: asked, not "
                            "echoed; also read from standard input when it is not a terminal)")
    command("logout", _logout, "forget the session kept for --url")


def _login_url(args: argparse.Namespace) -> str:
    url = given_url(args)
    if url is None:
        raise CliError(f"which server? give --url (or set {URL_ENV})", code=2)
    try:
        return check_url(url)
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None


def _login(args: argparse.Namespace) -> int:
    import getpass

    from lattice_rt_core.client import RealtimeClient

    url = _login_url(args)
    email = args.email
    if not email:
        sys.stderr.write("Email: ")
        sys.stderr.flush()
        email = sys.stdin.readline().strip()
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
    if not email or not password:
        raise CliError("an email and a password are needed to sign in", code=2)
    ca_file = getattr(args, "ca_file", None) or os.environ.get(CA_FILE_ENV)
    with RealtimeClient(url, ca_file=ca_file) as client:
        token = client.sign_in(email, password)
    try:
        path = write_login(data_dir(args), url, token)
    except OSError as exc:
        raise CliError(f"signed in, but cannot keep the session: {exc}") from None
    say(f"signed in to {url} as {email}; the session is kept in {path} for --url {url}")
    return 0


def _logout(args: argparse.Namespace) -> int:
    url = _login_url(args)
    try:
        write_login(data_dir(args), url, None)
    except OSError as exc:
        raise CliError(f"cannot forget the session: {exc}") from None
    say(f"forgot the session for {url}")
    return 0
