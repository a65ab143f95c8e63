"""The local engine's files in the data directory, opened with a person's error.

The journal (a damaged file is moved aside and a new one started; one that
merely cannot be written is left alone), the accounts, whether the directory
takes writes at all, and the login name the owner is shown as.
"""

from __future__ import annotations

import getpass
import logging
import os
import time
from pathlib import Path

from lattice_rt_core.auth.accounts import Accounts
from lattice_rt_core.engines.local.journal import Journal, JournalError
from lattice_rt_core.paths import database_path
from lattice_rt_core.process.config import ServerError

__all__ = ["login_name", "open_accounts", "open_journal", "writable"]

log = logging.getLogger(__name__)


def open_journal(data_dir: Path, retention: int) -> Journal:
    """The journal; a damaged file is moved aside and a new one started.

    A file that cannot be written (but is not damaged) is left alone: the
    server refuses to start with a message saying so.
    """
    path = database_path(data_dir)
    try:
        return _checked_journal(path, retention)
    except JournalError as exc:
        if not exc.corrupt:
            raise ServerError(f"cannot open the journal {path}: {exc}") from exc
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        log.error("%s; moving it aside to %s and starting a new one", exc, aside.name)
        try:
            for suffix in ("", "-wal", "-shm"):
                src = Path(str(path) + suffix)
                if src.exists():
                    src.rename(Path(str(aside) + suffix))
            return _checked_journal(path, retention)
        except (OSError, JournalError) as again:
            raise ServerError(f"cannot open the journal {path}: {again}") from again
    except OSError as exc:  # sqlite3.OperationalError is not an OSError
        raise ServerError(f"cannot open the journal {path}: {exc}") from exc


def _checked_journal(path: Path, retention: int) -> Journal:
    journal = Journal(path, retention=retention)
    try:
        journal.check()
    except JournalError:
        journal.discard()
        raise
    return journal


def open_accounts(data_dir: Path, *, read_only: bool) -> Accounts | None:
    """The accounts of ``data_dir``; None in a read-only directory that has none."""
    path = database_path(data_dir)
    try:
        if read_only:
            if not path.exists():
                log.warning("no accounts database in %s: only the owner token works", data_dir)
                return None
            return Accounts(path, read_only=True)
        return Accounts(path)
    except JournalError as exc:
        raise ServerError(f"cannot open the accounts in {path}: {exc}") from exc


def writable(directory: Path) -> bool:
    """Can files be created in ``directory``? (Asks the file system, so root is no exception.)"""
    probe = directory / f".write-test-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return True
    except OSError:
        return False
    os.close(fd)
    try:
        probe.unlink()
    except OSError:
        pass
    return True


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "owner"
