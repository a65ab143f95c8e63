"""The marks of what has been shown, a small file per connection (no Qt).

``<data dir>/tray-shown/<connection key>.json`` holds one connection's
:class:`~lattice_rt_tray.logic.shown.ShownMarks`. It is read the first time the
connection's marks are asked for and written atomically (a temporary file,
fsync, rename, fsync of the folder) by :meth:`ShownFiles.save`, which the
controller calls before it shows a notification: a kill at any moment leaves
the old marks or the new ones, never a torn file. A file that cannot be read
is moved aside (``.damaged``), said in the log, and the marks start afresh.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from lattice_rt_tray.logic.resume import ServerIdentity
from lattice_rt_tray.logic.shown import ShownMarks

__all__ = ["SHOWN_DIR", "ShownFiles"]

log = logging.getLogger(__name__)

SHOWN_DIR = "tray-shown"
E = TypeVar("E", bound=Mapping[str, Any])
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ShownFiles:
    """Every connection's marks and their files under ``directory`` (the GUI thread's)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._marks: dict[str, ShownMarks] = {}
        self._dirty: set[str] = set()

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a connection key: {key!r}")
        return self.directory / f"{key}.json"

    def marks(self, key: str) -> ShownMarks:
        marks = self._marks.get(key)
        if marks is None:
            marks = self._marks[key] = self._read(key)
        return marks

    def fresh(self, key: str, identity: ServerIdentity | None,
              events: Iterable[E]) -> list[E]:
        """The events of ``events`` not shown before."""
        marks = self.marks(key)
        return [e for e in events if not marks.shown(identity, e)]

    def note(self, key: str, identity: ServerIdentity | None,
             events: Iterable[Mapping[str, Any]]) -> None:
        if self.marks(key).mark(identity, events):
            self._dirty.add(key)

    def save(self) -> list[str]:
        """Write every changed connection's file; a line per one that could not be."""
        problems = []
        for key in sorted(self._dirty):
            try:
                self._write(key, self._marks[key].to_text())
            except OSError as exc:
                problems.append(f"cannot record what was shown in {self.path(key)}: {exc}")
        self._dirty.clear()
        return problems

    def forget(self, key: str) -> None:
        """Connection ``key`` was removed: its marks and file go too."""
        self._marks.pop(key, None)
        self._dirty.discard(key)
        try:
            self.path(key).unlink()
        except OSError:
            pass

    # ------------------------------------------------------------ files
    def _read(self, key: str) -> ShownMarks:
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ShownMarks()
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("cannot read %s (%s): notifications start afresh", path, exc)
            return ShownMarks()
        try:
            return ShownMarks.from_text(text)
        except ValueError as exc:
            aside = path.with_name(path.name + ".damaged")
            log.warning("%s is damaged (%s): moved to %s, notifications start afresh",
                        path, exc, aside.name)
            try:
                os.replace(path, aside)
            except OSError:
                pass
            return ShownMarks()

    def _write(self, key: str, text: str) -> None:
        path = self.path(key)
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _sync_dir(self.directory)


def _sync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a folder)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
