"""A server's identity in ``stats``: a stable ``server_id`` and the data ``epoch``.

Clients (the tray app) key what they remember, their resume point above all,
by these two: the server id names the server whatever URL reaches it, and
the epoch changes whenever the server's history starts from nothing (a new
journal, a Redis keyspace that was flushed), so a remembered seq from an
older epoch is never taken for a current one.

Local engine: the id is kept in ``server.id`` in the data directory, the
epoch in the journal. Redis engine: both live in Redis (see redis_keys.py).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

__all__ = [
    "SERVER_ID_FILE",
    "load_or_create_server_id",
    "new_epoch",
    "new_server_id",
    "new_token",
]

log = logging.getLogger(__name__)

SERVER_ID_FILE = "server.id"


def new_epoch() -> str:
    """A random data epoch (64 bits as hex)."""
    return secrets.token_hex(8)


def new_server_id() -> str:
    """A random server id (128 bits as hex)."""
    return secrets.token_hex(16)


def load_or_create_server_id(data_dir: Path) -> str:
    """The id in ``data_dir/server.id``, made on first use.

    A directory that cannot be written gets an id for this run only.
    """
    path = Path(data_dir) / SERVER_ID_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
        if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
            return text
    except (OSError, UnicodeDecodeError):
        pass
    server_id = new_server_id()
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(server_id + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot keep the server id in %s (%s): it changes with every start", path, exc)
    return server_id


def new_token() -> str:
    """256 random bits as 64 hex digits.

    Hex, not base64url: a token that starts with ``-`` reads as an option on
    a command line (``lattice-rt --token -x...`` would be a usage error).
    """
    return secrets.token_hex(32)
