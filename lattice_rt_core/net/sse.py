"""Server-Sent Events read from a byte stream, as the HTML standard interprets them.

:class:`SseDecoder` is fed the stream's bytes in whatever pieces they arrive and
gives back the frames they complete (:class:`Frame`). It follows the standard's
"event stream interpretation": UTF-8 (bad bytes become U+FFFD), one leading
byte-order mark dropped, lines ended by CRLF, LF or CR alone (a CR at the end of
a piece waits for the next, which may begin with its LF), ``:`` comments
ignored, ``data`` lines joined with LF, an ``id`` holding NUL ignored and every
other ``id`` kept for the frames after it, ``retry`` taken only when it is all
ASCII digits, unknown fields ignored. A frame is given back at each blank line
that ends something (``data``, ``event``, ``retry``, or any frame once an id is
known), as httpx-sse does: the client reads the retry hint and the id of frames
without data too.

A line or frame longer than ``max_frame`` bytes' worth of text raises
:class:`FrameTooLarge`: a server that never ends a line cannot grow the
client's memory without bound.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_FRAME", "Frame", "FrameTooLarge", "SseDecoder"]

#: the most text one line or frame may hold (an event is at most 64 KiB of JSON)
MAX_FRAME = 8 * 2**20


class FrameTooLarge(ValueError):
    """A line or frame went past the decoder's limit."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One dispatched frame: its type (``message`` unless named), data, id and retry."""

    event: str
    data: str
    id: str
    retry: int | None

    def json(self) -> Any:
        """The data as JSON (``ValueError`` when it is not)."""
        return json.loads(self.data)


class SseDecoder:
    """Bytes in, frames out (see the module docstring). One decoder per stream."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max = max_frame
        self._started = False  # the byte-order mark is looked for once
        self._line = ""  # the start of a line not ended yet
        self._cr = False  # the last piece ended with CR: an LF first in the next is part of it
        self._event = ""
        self._data: list[str] = []
        self._size = 0  # characters of data in this frame so far
        self._id = ""
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[Frame]:
        """The frames that ``chunk`` completes (often none, often several)."""
        text = self._text.decode(chunk)
        if not text:  # an empty piece, or one inside a character
            return []
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._cr and text.startswith("\n"):
            text = text[1:]
        self._cr = text.endswith("\r")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        lines[0] = self._line + lines[0]
        self._line = lines.pop()  # the start of the next line (all of it when none ended)
        if len(self._line) > self._max:
            raise FrameTooLarge(f"a line of more than {self._max} characters")
        frames: list[Frame] = []
        for line in lines:
            frame = self._take(line)
            if frame is not None:
                frames.append(frame)
        return frames

    def _take(self, line: str) -> Frame | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._size += len(value) + 1
            if self._size > self._max:
                raise FrameTooLarge(f"a frame of more than {self._max} characters")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> Frame | None:
        if not (self._data or self._event or self._id or self._retry is not None):
            return None
        frame = Frame(self._event or "message", "\n".join(self._data), self._id, self._retry)
        self._event = ""
        self._data = []
        self._size = 0
        self._retry = None
        return frame
