"""The installed version of the ``lattice-rt`` distribution.

The one place the version is written is ``[project] version`` in pyproject.toml.
At run time it is read back from the distribution's metadata, which pip writes on
install (also for editable installs) and which the PyInstaller bundle carries
(``copy_metadata("lattice-rt")`` in packaging/lattice-rt.spec). The CLI's
``--version``, ``/realtime/health`` and the app's About box all use this value.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["DISTRIBUTION", "UNKNOWN_VERSION", "__version__", "installed_version"]

DISTRIBUTION = "lattice-rt"
UNKNOWN_VERSION = "0+unknown"


def installed_version(distribution: str = DISTRIBUTION) -> str:
    """The version recorded in ``distribution``'s metadata, or ``UNKNOWN_VERSION``.

    A source tree that was never installed has no metadata; it still runs, and
    says plainly that its version is unknown rather than inventing one.
    """
    try:
        return version(distribution)
    except PackageNotFoundError:
        return UNKNOWN_VERSION


__version__ = installed_version()
