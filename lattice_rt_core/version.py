"""The installed version of the ``lattice-rt`` distribution.

The one place the version is written is ``[project] version`` in pyproject.toml.
At run time it is read back from the distribution's metadata, which pip writes on
install (also for editable installs) and which the PyInstaller bundle carries
(``copy_metadata("lattice-rt")`` in packaging/lattice-rt.spec). The CLI's
``--version``, ``/realtime/health`` and the app's About box all use this value.

The record is read straight from the first ``<name>-<version>.dist-info`` (its
``METADATA``) or ``<name>.egg-info`` (its ``PKG-INFO``: the one setuptools leaves
in a source tree) in a directory of ``sys.path``, where :mod:`importlib.metadata`
finds it first too: importing that module takes longer than a whole ``lattice-rt
publish`` spends on anything else but the interpreter and http.client, and 1 MB
of the tray app's memory. Anything else (an egg, a distribution only in a zip
file, none) is left to it.
"""

from __future__ import annotations

import os
import re
import sys

__all__ = ["DISTRIBUTION", "UNKNOWN_VERSION", "__version__", "installed_version"]

DISTRIBUTION = "lattice-rt"
UNKNOWN_VERSION = "0+unknown"


def installed_version(distribution: str = DISTRIBUTION) -> str:
    """The version recorded in ``distribution``'s metadata, or ``UNKNOWN_VERSION``.

    A source tree that was never installed has no metadata; it still runs, and
    says plainly that its version is unknown rather than inventing one.
    """
    recorded = _dist_info_version(distribution)
    if recorded is not None:
        return recorded
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return UNKNOWN_VERSION


def _dist_info_version(distribution: str) -> str | None:
    """The ``Version:`` of ``distribution``'s first record on ``sys.path`` when that is
    one dist-info or egg-info directory; None otherwise: importlib.metadata decides."""
    wanted = _normalized(distribution)
    for entry in sys.path:
        if entry.lower().endswith(".egg"):
            return None  # an egg holds its record its own way
        try:
            with os.scandir(entry or ".") as found:
                records = [e.name for e in found if _record_of(e.name) == wanted]
        except OSError:  # absent, or a file (a zip): importlib.metadata's part
            continue
        if not records:
            continue
        if len(records) != 1:
            return None
        name = "METADATA" if records[0].lower().endswith(".dist-info") else "PKG-INFO"
        try:
            with open(os.path.join(entry or ".", records[0], name),
                      encoding="utf-8") as metadata:
                for line in metadata:
                    if not line.strip():
                        break  # the headers end here
                    key, _, value = line.partition(":")
                    if key.strip().lower() == "version" and value.strip():
                        return value.strip()
        except (OSError, UnicodeDecodeError):
            pass
        return None
    return None


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _record_of(filename: str) -> str | None:
    """The distribution a ``.dist-info``/``.egg-info`` name records, as importlib.metadata
    reads it (``Lattice.RT-0.1.0.dist-info``: ``lattice_rt``); None for another file."""
    low = filename.lower()
    if not low.endswith((".dist-info", ".egg-info")):
        return None
    return _normalized(low.rpartition(".")[0].partition("-")[0])


__version__ = installed_version()
