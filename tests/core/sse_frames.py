"""A tiny SSE frame parser for tests (the spec's field rules, no I/O)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Frame:
    event: str
    data: str
    id: str | None
    comment: bool = False

    def json(self) -> Any:
        return json.loads(self.data)


def parse(raw: bytes) -> list[Frame]:
    frames: list[Frame] = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        event, data, ident, comment = "message", [], None, False
        for line in block.split("\n"):
            if line.startswith(":"):
                comment = True
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                ident = value
        if data or comment:
            frames.append(Frame(event, "\n".join(data), ident, comment and not data))
    return frames
