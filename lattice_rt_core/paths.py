"""Where a lattice-rt installation keeps its files, and reading them back.

The data directory holds the journal and accounts database, the owner token,
``server.lock`` (locked by the one server using the directory) and, while a
server runs, ``server.json`` (its URL, pid and instance id). It is private to
the user: mode 0700, the secrets in it 0600.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import platformdirs

__all__ = [
    "APP_NAME",
    "DATABASE_FILE",
    "DATA_DIR_ENV",
    "LOCK_FILE",
    "OWNER_TOKEN_FILE",
    "SERVER_INFO_FILE",
    "database_path",
    "default_data_dir",
    "ensure_data_dir",
    "read_owner_token",
    "read_server_info",
    "remove_server_info",
    "write_private_json",
    "write_server_info",
]

log = logging.getLogger(__name__)

APP_NAME = "lattice-rt"
DATA_DIR_ENV = "LATTICE_RT_DATA_DIR"
DATABASE_FILE = "lattice-rt.sqlite"
OWNER_TOKEN_FILE = "owner.token"
SERVER_INFO_FILE = "server.json"
#: the sessions ``lattice-rt login`` got from servers that sign in with a password
LOGINS_FILE = "logins.json"
#: the file a running server holds an exclusive OS lock on (see dirlock.py)
LOCK_FILE = "server.lock"

_DIR_MODE = 0o700


def default_data_dir() -> Path:
    """``$LATTICE_RT_DATA_DIR`` when set, else the platform's user data dir."""
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def ensure_data_dir(path: Path | str) -> Path:
    """Create ``path`` (and parents) private to the user; fix a looser mode.

    Raises ``NotADirectoryError`` when ``path`` exists and is not a directory,
    ``OSError`` when it cannot be created.
    """
    directory = Path(path).expanduser()
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory} exists and is not a directory")
    directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    if os.name == "posix" and stat.S_IMODE(directory.stat().st_mode) != _DIR_MODE:
        directory.chmod(_DIR_MODE)
    return directory


def database_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / DATABASE_FILE


def read_server_info(data_dir: Path | str) -> dict[str, Any] | None:
    """The ``server.json`` a running server wrote, or None when absent or unusable.

    A file that is not a JSON object with a string ``url`` counts as absent.
    """
    try:
        text = (Path(data_dir) / SERVER_INFO_FILE).read_text(encoding="utf-8")
        info = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str) or not info["url"]:
        return None
    return info


def read_owner_token(data_dir: Path | str) -> str | None:
    """The owner token (first line of ``owner.token``), or None when there is none."""
    try:
        text = (Path(data_dir) / OWNER_TOKEN_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.strip().splitlines()
    token = lines[0].strip() if lines else ""
    return token or None


def write_server_info(data_dir: Path | str, url: str, *, auth: bool, instance: str) -> bool:
    """Say in ``server.json`` that this process serves ``url`` (atomically, mode 0600).

    ``instance`` is the writer's own random id: :func:`remove_server_info`
    removes the file only while it still carries it (a pid alone can be
    another process's after a restart, or the same in another container).
    Only the holder of the data directory's lock calls it. False (and a
    warning) when the file cannot be written.
    """
    from lattice_rt_core.version import __version__

    info = {"url": url, "pid": os.getpid(), "version": __version__, "auth": auth,
            "instance": instance}
    path = Path(data_dir) / SERVER_INFO_FILE
    try:
        write_private_json(path, info)
    except OSError as exc:
        log.warning("cannot write %s: %s", path, exc)
        return False
    return True


def write_private_json(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON, atomically and readable by its owner only
    (a reader sees the old file or the new one, never half of one). Raises OSError."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def remove_server_info(data_dir: Path | str, instance: str) -> bool:
    """Remove ``server.json`` if it is still the one ``instance`` wrote; True if removed.

    A server whose data directory was deleted and made again by another
    server finds that server's file there: it is left alone.
    """
    info = read_server_info(data_dir)
    if info is None or info.get("instance") != instance:
        return False
    try:
        (Path(data_dir) / SERVER_INFO_FILE).unlink()
    except OSError:
        return False
    return True


def read_login(data_dir: Path | str, url: str) -> str | None:
    """The session token ``lattice-rt login`` kept for ``url``, or None."""
    token = _read_logins(data_dir).get(url.rstrip("/"))
    return token if isinstance(token, str) and token else None


def write_login(data_dir: Path | str, url: str, token: str | None) -> Path:
    """Keep (None: forget) the session token for ``url`` (atomically, mode 0600); the file."""
    directory = ensure_data_dir(data_dir)
    logins = _read_logins(directory)
    if token is None:
        logins.pop(url.rstrip("/"), None)
    else:
        logins[url.rstrip("/")] = token
    path = directory / LOGINS_FILE
    write_private_json(path, logins)
    return path


def _read_logins(data_dir: Path | str) -> dict[str, Any]:
    try:
        logins = json.loads((Path(data_dir) / LOGINS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return logins if isinstance(logins, dict) else {}
