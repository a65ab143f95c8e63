"""A helper thread that loses its connection says so in one line, not a traceback.

The D-Bus library's receiver threads (the notifier's, the idle watcher's)
read from the session bus until it goes; when the bus ends first (a logout,
the desktop stopping before the app), the read fails in that thread and
Python would print its traceback to the terminal or ``~/.xsession-errors``.
A lost connection is no bug: :func:`quiet_lost_connections` makes
:data:`threading.excepthook` log it as one warning line; every other error in
a thread still goes to the hook that was there before (a bug keeps its
traceback).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["quiet_lost_connections"]

log = logging.getLogger(__name__)

#: what a read or write on a socket raises when the other side is gone
LOST = (ConnectionError, EOFError)


def quiet_lost_connections() -> Callable[[Any], object]:
    """Install the hook; returns the one it replaced (to put back)."""
    previous = threading.excepthook

    def hook(args: Any) -> None:
        if isinstance(args.exc_value, LOST):
            name = args.thread.name if args.thread is not None else "a thread"
            log.warning("%s ended: its connection was lost (%s)", name, args.exc_value)
            return
        previous(args)

    threading.excepthook = hook
    return previous
