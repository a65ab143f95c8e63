"""The in-process producer: a workspace store whose every timeline write
reaches the realtime bus through one ``event_sink`` hook, as in the reference.

Any code that records a timeline event is realtime by construction; realtime
delivery is best effort and never breaks the write.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from lattice_rt_core.protocol.events import now_iso

__all__ = ["EventSink", "WorkspaceOSStore"]

log = logging.getLogger(__name__)

EventSink = Callable[[dict[str, Any]], Any]
TIMELINE_LIMIT = 500


class WorkspaceOSStore:
    """A minimal workspace store: a capped timeline plus the realtime sink.

    ``default_workspace`` is used when a write names no workspace (the
    reference resolves the scope from the store's current workspace).
    """

    def __init__(
        self,
        *,
        event_sink: EventSink | None = None,
        default_workspace: str | None = None,
        timeline_limit: int = TIMELINE_LIMIT,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self.event_sink = event_sink
        self.default_workspace = default_workspace
        self._clock = clock
        self._lock = threading.Lock()
        self._timeline: deque[dict[str, Any]] = deque(maxlen=timeline_limit)

    def record_timeline_event(
        self,
        area: str,
        event_type: str,
        payload: dict[str, Any] | None,
        workspace_id: str | None = None,
    ) -> dict[str, Any]:
        event = {
            "id": f"timeline-{uuid.uuid4().hex}",
            "area": area,
            "event_type": event_type,
            "timestamp": self._clock(),
            "workspace_id": workspace_id or self.default_workspace,
            "payload": payload if payload is not None else {},
        }
        with self._lock:
            self._timeline.append(event)
        sink = self.event_sink
        if sink is not None:
            try:
                sink(event)
            except Exception:  # noqa: BLE001 - realtime must never break a write
                log.exception("event sink failed; the write itself succeeded")
        return event

    def timeline(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._timeline)
        return items[::-1][:limit]
