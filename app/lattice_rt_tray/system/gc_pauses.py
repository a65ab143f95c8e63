"""Keep the garbage collector's full passes short in the long-running app.

A full (generation 2) collection holds the GIL, so it stops every thread,
the GUI thread included, while it walks every container object the
interpreter tracks. Once the app is up, nearly all of those are modules,
classes, functions and Qt wrappers that live as long as the process (about
60,000 here): a full pass over them frees nothing and took 25-60 ms, often in
the middle of a flood of events (the flood is what allocates enough to
trigger one). :func:`freeze_survivors` collects once and then moves every
surviving object into the permanent generation (``gc.freeze()``), so later
full passes walk only what was made since (activity rows, the embedded
server's buffers): a few milliseconds.

Frozen objects are still freed when their last reference goes; only a cycle
among them would never be collected, which is why this is done once, after
startup, and not again.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

__all__ = ["freeze_survivors"]

log = logging.getLogger(__name__)


def freeze_survivors(clock: Callable[[], float] = time.perf_counter) -> int:
    """Collect, then exempt everything still alive from later collections.

    Returns how many objects are frozen now.
    """
    started = clock()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("froze %d objects after startup in %.0f ms", frozen, (clock() - started) * 1000)
    return frozen
