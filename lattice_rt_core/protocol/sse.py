"""Server-Sent Events encoding (sans-IO, byte exact).

Every function returns the complete bytes of one frame, ending in a blank line.
Data is always a single line of JSON produced by :func:`events.to_json`, which
never contains CR or LF, so no field can inject a frame.
"""

from __future__ import annotations

from typing import Any

from lattice_rt_core.protocol.events import to_json

__all__ = [
    "encode_comment",
    "encode_data",
    "encode_event",
    "encode_named",
    "encode_retry",
]


def encode_event(event: dict[str, Any]) -> bytes:
    """A data frame for an enriched event: ``id: <seq>`` then ``data: <json>``."""
    return encode_data(to_json(event), event_id=event.get("seq"))


def encode_data(data: str, *, event_id: object = None) -> bytes:
    if "\n" in data or "\r" in data:
        raise ValueError("SSE data must be a single line")
    head = f"id: {_single_line(event_id)}\n" if event_id is not None else ""
    return f"{head}data: {data}\n\n".encode()


def encode_named(name: str, body: Any, *, event_id: object = None) -> bytes:
    """A named event (``event: <name>``); named events never fire ``onmessage``."""
    head = f"id: {_single_line(event_id)}\n" if event_id is not None else ""
    return f"{head}event: {_single_line(name)}\ndata: {to_json(body)}\n\n".encode()


def encode_comment(text: str = "heartbeat") -> bytes:
    return f": {_single_line(text)}\n\n".encode()


def encode_retry(milliseconds: int) -> bytes:
    return f"retry: {int(milliseconds)}\n\n".encode()


def _single_line(value: object) -> str:
    text = str(value)
    if "\n" in text or "\r" in text or "\x00" in text:
        raise ValueError(f"SSE field value must be a single line: {text!r}")
    return text
