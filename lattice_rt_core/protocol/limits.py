"""The API's limits and its one rule for names: facts the server, the clients
and the tray app share (plain values and a pure function; imports nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_NAME", "NAME_PATTERN", "ApiLimits", "name_problem"]

#: characters in a name: ids, user and display names, workspace, area, event type
MAX_NAME = 128
#: the name rule as a JSON Schema pattern (length and lone surrogates aside):
#: no control character, and at least one character that is not whitespace
NAME_PATTERN = "^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$"


@dataclass(frozen=True, slots=True)
class ApiLimits:
    max_body: int = 1024 * 1024
    max_batch: int = 1000
    max_event_bytes: int = 64 * 1024
    max_name: int = MAX_NAME
    max_streams_per_user: int = 64
    max_presence_per_user: int = 64
    max_client_ids: int = 16
    #: characters in a presence entry's status_text (the name rule otherwise)
    max_status_text: int = 100


def name_problem(value: object, max_len: int = MAX_NAME) -> str | None:
    """What is wrong with ``value`` as a name, or None when it is a good one.

    The one rule for every name the server stores or shows (API fields and
    account names): a string of 1 to ``max_len`` characters, no control
    character, valid Unicode (no lone surrogate), not only whitespace.
    """
    if not isinstance(value, str):
        return "must be a string"
    if not value or len(value) > max_len:
        return f"must be 1 to {max_len} characters"
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        return "must not contain control characters"
    if not _valid_unicode(value):
        return "must be valid Unicode text (no lone surrogates)"
    if value.isspace():
        return "must not be only whitespace"
    return None


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
