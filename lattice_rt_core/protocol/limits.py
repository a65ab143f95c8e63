"""The API's limits and its one rule for names: facts the server, the clients
and the tray app share (plain values and pure functions; only the standard
library's Unicode tables).

A name must not lie about what it is (issue 20, item 7): no control character
(C0, DEL, C1), no bidirectional control (which can draw ``\u202enimda`` as
"admin"), not made only of characters that draw nothing (whitespace, format
characters such as U+200B and U+FEFF, the Hangul fillers), and no more than
:data:`MAX_MARKS` combining marks in a row (which draw over the rows above).
:func:`name_key` is what two names must not share to be told apart (user names).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_MARKS", "MAX_NAME", "NAME_PATTERN", "ApiLimits", "name_key", "name_problem",
           "same_name"]

#: characters in a name: ids, user and display names, workspace, area, event type
MAX_NAME = 128
#: combining marks in a row a name may have (Vietnamese and Indic scripts use a few)
MAX_MARKS = 4

_CONTROLS = "\\u0000-\\u001f\\u007f-\\u009f"  # C0, DEL, C1 (U+0085, U+009B among them)
_BIDI = "\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"  # marks, embeddings, isolates
#: characters that draw nothing (besides whitespace): every format character
#: (Unicode category Cf), the Hangul fillers, the braille blank, the combining
#: grapheme joiner and the variation selectors of the basic plane
_INVISIBLE_BMP = ("\\u00ad\\u034f\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2"
                  "\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f\\u202a-\\u202e"
                  "\\u2060-\\u2064\\u2066-\\u206f\\u2800\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0"
                  "\\ufff9-\\ufffb")
#: the same beyond the basic plane (Python's re only: ECMA-262 without the u flag
#: cannot name them, so the OpenAPI pattern leaves them to the server)
_INVISIBLE_ASTRAL = ("\\U000110bd\\U000110cd\\U00013430-\\U00013438\\U0001bca0-\\U0001bca3"
                     "\\U0001d173-\\U0001d17a\\U000e0001\\U000e0020-\\U000e007f"
                     "\\U000e0100-\\U000e01ef")
_FORBIDDEN = re.compile(f"[{_CONTROLS}{_BIDI}]")
_VISIBLE = re.compile(f"[^\\s{_CONTROLS}{_INVISIBLE_BMP}{_INVISIBLE_ASTRAL}]")
_INVISIBLE = re.compile(f"[{_INVISIBLE_BMP}{_INVISIBLE_ASTRAL}]")

#: the name rule as a JSON Schema pattern (length, lone surrogates, stacked marks
#: and the invisible characters beyond the basic plane aside): no control or
#: bidirectional character, at least one character that draws something
NAME_PATTERN = (f"^[^{_CONTROLS}{_BIDI}]*[^\\s{_CONTROLS}{_INVISIBLE_BMP}]"
                f"[^{_CONTROLS}{_BIDI}]*$")


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

    The one rule for every name the server stores or shows (API fields, status
    lines and account names): a string of 1 to ``max_len`` characters, no
    control character, no bidirectional control, valid Unicode (no lone
    surrogate), not only whitespace or other characters that draw nothing, at
    most :data:`MAX_MARKS` combining marks in a row.
    """
    if not isinstance(value, str):
        return "must be a string"
    if not value or len(value) > max_len:
        return f"must be 1 to {max_len} characters"
    forbidden = _FORBIDDEN.search(value)
    if forbidden is not None:
        if forbidden.group() > "\x9f":
            return ("must not contain bidirectional controls "
                    f"(U+{ord(forbidden.group()):04X})")
        return "must not contain control characters"
    if not _valid_unicode(value):
        return "must be valid Unicode text (no lone surrogates)"
    if value.isspace():
        return "must not be only whitespace"
    if _VISIBLE.search(value) is None:
        return "must not be only invisible characters"
    run = 0
    for c in value:
        run = run + 1 if unicodedata.category(c).startswith("M") else 0
        if run > MAX_MARKS:
            return f"must not stack more than {MAX_MARKS} combining marks"
    return None


def name_key(name: str) -> str:
    """What tells two names apart for a person: NFKC, case-folded, without the
    characters that draw nothing. ``Alice``, fullwidth ``ａlice`` and
    ``alice\u200b`` all have the key of ``alice``."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return _INVISIBLE.sub("", folded)


def same_name(name: str, names: Iterable[str]) -> str | None:
    """The first of ``names`` a person cannot tell from ``name``, or None."""
    key = name_key(name)
    return next((other for other in names if name_key(other) == key), None)


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
