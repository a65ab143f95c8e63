"""Stop PySide6 keeping the source of every module imported after it.

PySide6 replaces ``__import__`` to serve ``from __feature__ import
snake_case, true_property``, and after every import it asks whether the new
module's source mentions "PySide6" (``_mod_uses_pyside`` in its embedded
``feature`` module: a module that does not is left out of feature switching).
It asks with ``inspect.getsource``, which goes through ``linecache``, and
``linecache`` keeps every line it read: about 200 files and 90,000 lines in
the tray app, 7 MB of its memory at rest, never freed (clearing the cache
afterwards gives none of it back: the lines are spread among objects that
live as long as the process). A frozen bundle has no sources, so this is the
cost of running from a Python install.

:func:`keep_no_sources` answers the same question from the module file's
bytes, read and dropped. The app selects no feature, so the answer changes
nothing it does; an install whose PySide6 has no such check is left as it is.
"""

from __future__ import annotations

import sys
from types import ModuleType

__all__ = ["keep_no_sources", "uses_pyside"]

_FEATURE = "PySide6.support.feature"


def keep_no_sources() -> bool:
    """Import Qt's core and replace its source check; whether there was one."""
    import PySide6.QtCore  # noqa: F401  (installs the import hook and its feature module)

    feature = sys.modules.get(_FEATURE)
    if not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = uses_pyside  # type: ignore[union-attr]
    return True


def uses_pyside(module: ModuleType) -> bool:
    """Whether the source file of ``module`` mentions PySide6 (False without one)."""
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if not isinstance(origin, str) or not origin.endswith(".py"):
        return False  # built in, an extension, frozen: no source, as PySide6's check says
    try:
        with open(origin, "rb") as source:
            return b"PySide6" in source.read()
    except OSError:
        return False
