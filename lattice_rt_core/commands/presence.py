"""``lattice-rt presence`` and ``lattice-rt status``: who is present, and one's status."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from lattice_rt_core.commands.support import CliError, Remote, emit, say
from lattice_rt_core.net.api import NO_STATUS_MESSAGE, ServerKind
from lattice_rt_core.protocol.defaults import PRESENCE_STATUSES
from lattice_rt_core.protocol.events import to_json
from lattice_rt_core.protocol.people import person_name, presence_summary

if TYPE_CHECKING:
    from lattice_rt_core.net.requests import ApiRequests

__all__ = ["add_commands"]


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    command("presence", _presence,
            "print who is present, one JSON line each (with status and status_text), "
            "and how many people that is (on stderr)")

    status = command("status", _status,
                     "set the status (and status line) of a person's presence; prints the "
                     "entries changed")
    status.add_argument("who", metavar="WHO",
                        help="'me' (every entry of your user), a person's name (display name "
                             "or user, any case: all their entries) or an entry's client_id")
    status.add_argument("status", metavar="STATUS", choices=PRESENCE_STATUSES,
                        help=f"one of {', '.join(PRESENCE_STATUSES)}")
    status.add_argument("--text", "-t", metavar="TEXT",
                        help="a short status line (default: none, which clears it)")


def _presence(args: argparse.Namespace) -> int:
    with Remote(args).session() as client:
        entries = client.presence().get("presence", [])
    for entry in entries:
        emit(to_json(entry))
    say(presence_summary(entries))
    return 0


def _status(args: argparse.Namespace) -> int:
    with Remote(args).session() as client:
        for client_id in _whose(client, args.who):
            emit(to_json(client.set_status(client_id, args.status, args.text)))
    return 0


def _whose(client: ApiRequests, who: str) -> list[str]:
    """The client ids ``who`` names: an entry's id, ``me`` or a person (see ``status``)."""
    entries = [e for e in client.presence().get("presence", [])
               if isinstance(e, dict) and isinstance(e.get("client_id"), str)]
    if any(e["client_id"] == who for e in entries):
        return [who]
    if who == "me":
        user = client.hello().get("user")  # who the token is (a server without health: none)
        if client.kind is not ServerKind.LATTICE_RT:
            raise CliError(NO_STATUS_MESSAGE)
        mine = [e["client_id"] for e in entries if user and e.get("user") == user]
        if not mine:
            raise CliError(f"you ({user or 'this token'}) have no presence entry on "
                           f"{client.base_url}")
        return mine
    wanted = who.casefold()
    named = [e["client_id"] for e in entries
             if wanted in (person_name(e).casefold(), str(e.get("user") or "").casefold())]
    if not named:
        present = ", ".join(sorted({person_name(e) for e in entries})) or "nobody"
        raise CliError(f"nobody called {who!r} is present on {client.base_url} (present: "
                       f"{present}); give 'me', a person's name or a client_id")
    return named
