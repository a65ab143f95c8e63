"""What the ``lattice-rt`` commands share: errors, output, the data dir, the server.

:class:`Remote` decides which server a client command talks to (``--url``,
else ``$LATTICE_RT_URL``, else the local server's ``server.json``), with which
token (``--token``, else ``$LATTICE_RT_TOKEN``, else the owner token, but only
for the local server) and CA file, and turns the server's refusals into one
line that says what to do.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lattice_rt_core.net.api import ApiError, check_url
from lattice_rt_core.net.discovery import discover
from lattice_rt_core.net.plain import PlainRequests
from lattice_rt_core.net.tls import CA_FILE_ENV
from lattice_rt_core.paths import default_data_dir, read_login, read_server_info
from lattice_rt_core.protocol.defaults import REDIS_URL_ENV

if TYPE_CHECKING:
    from lattice_rt_core.client import RealtimeClient
    from lattice_rt_core.net.requests import ApiRequests

__all__ = [
    "PROG",
    "TOKEN_ENV",
    "URL_ENV",
    "CliError",
    "Remote",
    "data_dir",
    "emit",
    "given_url",
    "redis_option",
    "redis_url",
    "say",
]

PROG = "lattice-rt"
URL_ENV = "LATTICE_RT_URL"
TOKEN_ENV = "LATTICE_RT_TOKEN"


class CliError(Exception):
    """A failure to report in one line (exit status ``code``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def emit(line: str, stream: TextIO | None = None) -> None:
    out = stream if stream is not None else sys.stdout
    out.write(line + "\n")
    out.flush()


def say(message: str) -> None:
    emit(f"{PROG}: {message}", sys.stderr)


def data_dir(args: argparse.Namespace) -> Path:
    given = getattr(args, "data_dir", None)
    return Path(given).expanduser() if given is not None else default_data_dir()


def given_url(args: argparse.Namespace) -> str | None:
    """The server URL the user named (option, then environment), or None."""
    url: str | None = getattr(args, "url", None) or os.environ.get(URL_ENV) or None
    return url


def redis_option(parser: argparse.ArgumentParser, text: str) -> None:
    """``--redis URL``: the Redis of a cluster (``serve``, ``token``)."""
    parser.add_argument("--redis", metavar="URL", default=None,
                        help=f"{text} (default: ${REDIS_URL_ENV})")


def redis_url(args: argparse.Namespace) -> str | None:
    """``--redis``, else ``$LATTICE_RT_REDIS_URL``, else None."""
    url: str | None = (getattr(args, "redis", None)
                       or os.environ.get(REDIS_URL_ENV, "").strip() or None)
    return url


class Remote:
    """The server a client command talks to; see the module docstring."""

    def __init__(self, args: argparse.Namespace) -> None:
        directory = data_dir(args)
        url = given_url(args)
        if url is not None:
            try:
                url = check_url(url)
            except ValueError as exc:
                raise CliError(str(exc), code=2) from None
        token = getattr(args, "token", None) or os.environ.get(TOKEN_ENV) or None
        #: the token is a session ``lattice-rt login`` kept for this URL
        self.signed_in = False
        if token is None and url is not None:
            token = read_login(directory, url)
            self.signed_in = token is not None
        info = read_server_info(directory)
        self.local_url: str | None = str(info["url"]).rstrip("/") if info else None
        try:
            self.url, self.token = discover(directory, url=url, token=token)
        except ApiError as exc:
            raise CliError(str(exc)) from None
        self.ca_file: str | None = getattr(args, "ca_file", None) or os.environ.get(CA_FILE_ENV)

    def client(self, **kwargs: Any) -> RealtimeClient:
        """A client with the live stream (``tail``) and the password sign-in."""
        from lattice_rt_core.client import RealtimeClient

        try:
            return RealtimeClient(self.url, self.token, ca_file=self.ca_file, **kwargs)
        except ApiError as exc:  # an unusable CA file
            raise CliError(str(exc)) from None

    @contextmanager
    def session(self) -> Iterator[ApiRequests]:
        """The server's routes for a few requests, whose failures leave as
        :class:`CliError` with :meth:`explain`'s text."""
        try:
            requests = PlainRequests(self.url, self.token, ca_file=self.ca_file)
        except ApiError as exc:  # an unusable CA file
            raise CliError(str(exc)) from None
        with requests:
            try:
                yield requests
            except ApiError as exc:
                raise CliError(self.explain(exc)) from None

    def explain(self, error: ApiError) -> str:
        """One line for a failed request; a refused token says what was (not) sent where."""
        if error.status != 401:
            return str(error)
        if self.signed_in:
            return (f"the session for {self.url} has ended ({error}): sign in again with "
                    f"`{PROG} login --url {self.url}`")
        if self.token:
            return f"token refused by {self.url} (HTTP 401)"
        if self.local_url is not None:
            return (
                f"{self.url} needs a token (HTTP 401): the local owner token is only sent to "
                f"{self.local_url} (server.json); give --token or set {TOKEN_ENV}"
            )
        return f"{self.url} needs a token (HTTP 401): give --token or set {TOKEN_ENV}"
