"""Counted words and lists as people read them (pure): ``1 person``, ``a, b and c``.

The rules are the core's (:mod:`lattice_rt_core.protocol.people`), so the tray app and
``lattice-rt`` count and word alike; the app imports them from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from lattice_rt_core.protocol.people import people_online, plural

__all__ = ["and_list", "people_online", "plural"]


def and_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
