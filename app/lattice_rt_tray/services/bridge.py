"""The one way client callbacks reach the GUI thread.

The :class:`RealtimeClient` calls ``on_event`` / ``on_gap`` / ``on_reset`` /
``on_state`` on its own thread. :class:`ClientBridge` only appends what it got
to a queue (cheap, never touches Qt objects) and, once per quiet period, wakes
the GUI thread through a queued signal. There a short single-shot timer
flushes the queue in order: runs of events go out as *one* batch, so a flood
of 10,000 events in a second becomes a few dozen model updates instead of
10,000, and a long backlog is flushed in slices so no single slice stalls the
GUI thread. No timer runs while nothing arrives.

Every item carries the key of the connection it came from, and each client
gets its own :class:`Sink` (:meth:`ClientBridge.attach`): when a connection
moves to another endpoint, whatever its old client still says (a late
"stopped" from a thread stuck in a TCP connect) is dropped instead of
confusing the new one, and the other connections are not affected. Runs of
events of one connection go out as one batch. After
:meth:`ClientBridge.close` everything is dropped without touching Qt, so a
straggling thread cannot reach a deleted object.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from lattice_rt_core.net.api import ClientState
from lattice_rt_tray.logic.resume import Identified

__all__ = ["ClientBridge", "Sink"]

DEFAULT_INTERVAL_MS = 30
# Events per signal at most: handling one costs the GUI thread ~5-10 µs (model,
# notifications, status), more while other threads hold the GIL, so a backlog
# is handed over in slices of a few milliseconds with the event loop (paints,
# input) running in between.
DEFAULT_SLICE = 500

_EVENT, _GAP, _RESET, _STATE, _IDENTIFIED = range(5)


class ClientBridge(QObject):
    """Client callbacks in, GUI-thread signals out (in arrival order).

    Every signal's first argument is the connection's key.

    Signals:
        events_received(str, object): a list of enriched events, oldest first.
        gap_received(str, object): an ``event: gap`` body, a dict (events were missed).
        reset_received(str, object): an ``event: reset`` body, a dict (server behind us).
        state_changed(str, object, str): the ClientState and its human detail.
        identified(str, object): the client's resume decision before a connect
            (a :class:`~lattice_rt_tray.logic.resume.Identified`), before the state
            and events that follow it.
    """

    # ``object``, not ``list``/``dict``: PySide6 would convert a list or dict
    # argument to a QVariantList/QVariantMap (every event in it) and back,
    # once per connected slot; ``object`` passes the Python value through.
    events_received = Signal(str, object)
    gap_received = Signal(str, object)
    reset_received = Signal(str, object)
    state_changed = Signal(str, object, str)
    identified = Signal(str, object)
    _wake = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        slice_size: int = DEFAULT_SLICE,
    ) -> None:
        super().__init__(parent)
        self._queue: deque[tuple[str, int, int, Any]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._urgent = False  # something but events is queued: hand it over at once
        self._interval = interval_ms
        self._generation = 0  # the last one handed out, whatever the connection
        self._current: dict[str, int] = {}  # connection key -> its sink's generation
        self._closed = False
        self._slice = max(1, slice_size)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.on_flush)
        self._wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------ client thread side
    def attach(self, server: str) -> Sink:
        """Callbacks for a new client of connection ``server``; its earlier ones go quiet."""
        with self._lock:
            self._generation += 1
            self._current[server] = self._generation
            return Sink(self, server, self._generation)

    def detach(self, server: str) -> None:
        """Drop what connection ``server``'s clients say from now on (removed, off)."""
        with self._lock:
            self._current.pop(server, None)

    def close(self) -> None:
        """Drop everything from now on (quitting)."""
        with self._lock:
            self._closed = True
            self._current.clear()

    def _put(self, server: str, generation: int, kind: int, item: Any) -> None:
        # Events wait for the batching interval; a state change, gap, reset or resume
        # decision is rare and what the user waits on (connected, joined): at once.
        urgent = kind != _EVENT
        with self._lock:
            if self._closed or self._current.get(server) != generation:
                return
            self._queue.append((server, generation, kind, item))
            if self._scheduled and (self._urgent or not urgent):
                return
            self._scheduled = True
            self._urgent = self._urgent or urgent
        self._wake.emit()

    # --------------------------------------------------- GUI thread side
    @Slot()
    def _on_wake(self) -> None:
        with self._lock:
            urgent = self._urgent
        if urgent:
            self._timer.start(0)
        elif not self._timer.isActive():
            self._timer.start(self._interval)

    @Slot()
    def on_flush(self) -> None:
        """Emit what is queued, up to one slice of events; reschedule for the rest."""
        with self._lock:
            self._scheduled = self._urgent = False
        batch: list[dict[str, Any]] = []
        batch_server = ""
        budget = self._slice
        queue = self._queue
        current = self._current
        while queue and budget > 0:
            server, generation, kind, item = queue.popleft()
            if current.get(server) != generation:
                continue
            if batch and (kind != _EVENT or server != batch_server):
                self.events_received.emit(batch_server, batch)
                batch = []
            if kind == _EVENT:
                batch.append(item)
                batch_server = server
                budget -= 1
            elif kind == _GAP:
                self.gap_received.emit(server, item)
            elif kind == _RESET:
                self.reset_received.emit(server, item)
            elif kind == _STATE:
                self.state_changed.emit(server, *item)
            else:
                self.identified.emit(server, item)
        if batch:
            self.events_received.emit(batch_server, batch)
        if queue:
            with self._lock:
                self._scheduled = True
            QTimer.singleShot(0, self, self.on_flush)

    def pending(self) -> int:
        return len(self._queue)


class Sink:
    """The callbacks one RealtimeClient of one connection is given (any thread)."""

    __slots__ = ("_bridge", "_generation", "_server")

    def __init__(self, bridge: ClientBridge, server: str, generation: int) -> None:
        self._bridge = bridge
        self._server = server
        self._generation = generation

    def on_event(self, event: dict[str, Any]) -> None:
        self._bridge._put(self._server, self._generation, _EVENT, event)  # noqa: SLF001

    def on_gap(self, body: dict[str, Any]) -> None:
        self._bridge._put(self._server, self._generation, _GAP, body)  # noqa: SLF001

    def on_reset(self, body: dict[str, Any]) -> None:
        self._bridge._put(self._server, self._generation, _RESET, body)  # noqa: SLF001

    def on_state(self, state: ClientState, detail: str) -> None:
        self._bridge._put(self._server, self._generation, _STATE, (state, detail))  # noqa: SLF001

    def on_identified(self, identified: Identified) -> None:
        self._bridge._put(self._server, self._generation, _IDENTIFIED, identified)  # noqa: SLF001
