"""The Qt binding keeps Python's reference counts right (regression: PySide6 6.12.0).

PySide6 6.12.0 on Python 3.11 gave back ``None`` from every Qt call that
returns nothing, and ``True`` from every signal ``emit()``, without taking a
reference for it: each call lost one, and once ``None``'s count ran out the
process aborted ("Fatal Python error: none_dealloc"), the test run at exit,
the tray app after a few thousand calls. pyproject.toml leaves that release
out. From Python 3.12 on, ``None`` and ``True`` are immortal and the loss
cannot be seen (nor hurt).
"""

from __future__ import annotations

import gc
import sys

import pytest
from PySide6.QtCore import QObject, Signal

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="None and True are immortal from Python 3.12"
)

CALLS = 500


class Emitter(QObject):
    fired = Signal()


def lost(obj: object, call: object) -> int:
    """References to ``obj`` gone after CALLS calls of ``call``."""
    gc.collect()
    before = sys.getrefcount(obj)
    for _ in range(CALLS):
        call()  # type: ignore[operator]
    gc.collect()
    return before - sys.getrefcount(obj)


def test_calls_that_return_nothing_keep_nones_count(qapp):
    thing = QObject()
    assert lost(None, lambda: thing.setObjectName("x")) < CALLS // 2


def test_emit_keeps_trues_count(qapp):
    emitter = Emitter()
    assert lost(True, emitter.fired.emit) < CALLS // 2
