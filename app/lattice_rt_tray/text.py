"""Counted words as people read them (pure): ``1 person``, ``3 people``, ``2 days``.

The rules are the core's (:mod:`lattice_rt_core.people`), so the tray app and
``lattice-rt`` count and word alike; the app imports them from here.
"""

from __future__ import annotations

from lattice_rt_core.people import people_online, plural

__all__ = ["people_online", "plural"]
