"""Counted words as people read them (pure): ``1 person``, ``3 people``, ``2 days``."""

from __future__ import annotations

__all__ = ["people_online", "plural"]


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the word in the right number (``plural_form`` defaults to ``-s``)."""
    if count == 1:
        return f"{count} {singular}"
    return f"{count} {plural_form or singular + 's'}"


def people_online(count: int) -> str:
    """``"1 person online"``, ``"3 people online"``."""
    return f"{plural(count, 'person', 'people')} online"
