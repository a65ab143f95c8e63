"""The ``lattice-rt-tray`` entry point: start the endpoint's process first, then the app.

The embedded endpoint runs in a child process (:class:`~lattice_rt_core.process.child.ChildServer`).
Started here, before Qt or anything else is imported, the child imports the
server's stack on another core while this process imports the windows', so
the tray icon and a serving endpoint are ready at about the same time. The
child waits for its configuration; if the app needs no embedded endpoint (or
is already running) it is dismissed unused.

A frozen bundle has one executable: it is also the child (``_worker``).
"""

from __future__ import annotations

import sys

from lattice_rt_core.process.child import WORKER_COMMAND, spawn_warm

__all__ = ["main"]

_NO_APP = ("-h", "--help", "--version")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == [WORKER_COMMAND]:
        from lattice_rt_core.cli import main as cli

        return cli(args)
    warm = None if any(a in _NO_APP for a in args) else spawn_warm()
    from lattice_rt_tray.system.qt_import_hook import keep_no_sources

    keep_no_sources()  # before the app's modules: Qt would keep each one's source
    from lattice_rt_tray.main import main as run

    return run(args, warm=warm)


if __name__ == "__main__":
    raise SystemExit(main())
