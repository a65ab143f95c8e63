"""Every connection the app follows, kept in step with the settings.

:class:`ConnectionSet` holds one :class:`~lattice_rt_tray.services.connection.Connection`
per configured server, in the settings' order. :meth:`ConnectionSet.apply`
compares new settings with what runs and touches only what differs: a
connection added is built and started, one removed is stopped (presence left)
and dropped, one edited is reconfigured; the others go on undisturbed. It
routes the bridge's per-connection callbacks to their connection and
re-emits every connection's signals, so the composition root wires them once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

from PySide6.QtCore import QObject, Signal, Slot

from lattice_rt_core.net.api import ClientState
from lattice_rt_tray.logic.link_status import LinkStatus
from lattice_rt_tray.logic.resume import Identified
from lattice_rt_tray.logic.settings_values import ConnectionSettings, SettingsValues
from lattice_rt_tray.logic.status_machine import StatusState
from lattice_rt_tray.services.bridge import ClientBridge
from lattice_rt_tray.services.connection import Connection, Presence

__all__ = ["ConnectionFactory", "ConnectionSet"]

#: builds (not starts) the Connection for these settings and presence
ConnectionFactory = Callable[[ConnectionSettings, Presence, QObject], Connection]

#: the signals of a Connection that the set re-emits
_RELAYED = ("changed", "connected", "caught_up", "history_changed", "joined", "presence",
            "report")


class ConnectionSet(QObject):
    """Signals: those of :class:`Connection`, from every connection, plus
    added(str): a connection was built (its key).
    removed(str): a connection was removed (its key); it is stopping.
    """

    changed = Signal(str)
    connected = Signal(str, bool)
    caught_up = Signal(str, object)
    history_changed = Signal(str)
    joined = Signal(str, object)
    presence = Signal(str, object)
    report = Signal(str, str)
    added = Signal(str)
    removed = Signal(str)

    def __init__(
        self,
        bridge: ClientBridge,
        factory: ConnectionFactory,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._factory = factory
        self._items: dict[str, Connection] = {}
        self._order: list[str] = []
        self._status = StatusState()  # the user's, for every connection
        self._held = False
        bridge.state_changed.connect(self.on_state)
        bridge.identified.connect(self.on_identified)

    # ------------------------------------------------------------- access
    def __iter__(self) -> Iterator[Connection]:
        return (self._items[key] for key in self._order)

    def __len__(self) -> int:
        return len(self._order)

    def get(self, key: str) -> Connection | None:
        return self._items.get(key)

    def __getitem__(self, key: str) -> Connection:
        return self._items[key]

    def names(self) -> dict[str, str]:
        """Key -> name of every connection, in display order."""
        return {c.key: c.name for c in self}

    def statuses(self) -> list[LinkStatus]:
        return [c.status() for c in self]

    # -------------------------------------------------------------- apply
    def apply(self, values: SettingsValues, tokens: Mapping[str, str] | None) -> None:
        """Follow ``values``; ``tokens`` (key -> token) None: the keyring has not answered."""
        wanted = [c.key for c in values.connections]
        for key in [k for k in self._order if k not in wanted]:
            self._remove(key)
        new = [c for c in values.connections if c.key not in self._items]
        for settings in new:
            self._add(settings, settings.presence(values.display_name, values.workspaces))
        self._order = wanted
        for settings in new:
            self.added.emit(settings.key)
        for settings in values.connections:
            presence = settings.presence(values.display_name, values.workspaces)
            if tokens is not None and not settings.embedded:
                settings = replace(settings, token=tokens.get(settings.key, ""))
            self._items[settings.key].configure(settings, presence,
                                                token_ready=tokens is not None)

    def _add(self, settings: ConnectionSettings, presence: Presence) -> None:
        connection = self._factory(settings, presence, self)
        connection.keeper.status = self._status  # its first join says the current status
        if self._held:
            connection.hold_presence()
        for name in _RELAYED:
            getattr(connection, name).connect(getattr(self, name))
        self._items[settings.key] = connection

    def _remove(self, key: str) -> None:
        connection = self._items.pop(key)
        self._order.remove(key)
        for name in _RELAYED:  # nothing more from it reaches the app
            getattr(connection, name).disconnect(getattr(self, name))
        connection.stop()
        connection.retire()
        self.removed.emit(key)

    # ------------------------------------------------------------- status
    def send_status(self, status: StatusState, done: Callable[[], None] | None = None) -> None:
        """Tell every connection (the online ones now, the others when they join);
        ``done`` once every online one has answered or failed."""
        self._status = status
        connections = list(self)
        left = [len(connections)]

        def one_done() -> None:
            left[0] -= 1
            if left[0] == 0 and done is not None:
                done()

        if not connections and done is not None:
            done()
        for connection in connections:
            connection.send_status(status, one_done)

    def hold_presence(self) -> None:
        """Going to sleep: no connection joins until :meth:`rejoin`."""
        self._held = True
        for connection in self:
            connection.hold_presence()

    def rejoin(self, status: StatusState) -> None:
        """Awake with the true ``status``: every online connection joins with it first."""
        self._held = False
        self._status = status
        for connection in self:
            connection.rejoin(status)

    # ------------------------------------------------------ bridge routing
    @Slot(str, object, str)
    def on_state(self, key: str, state: ClientState, detail: str) -> None:
        connection = self._items.get(key)
        if connection is not None:
            connection.on_state(state, detail)

    @Slot(str, object)
    def on_identified(self, key: str, identified: Identified) -> None:
        connection = self._items.get(key)
        if connection is not None:
            connection.on_identified(identified)

    # ------------------------------------------------------------- quitting
    def shutdown(self, deadline: float, leave_by: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Every connection at once: leave presence, stop clients and servers (quit thread)."""
        self._bridge.close()
        threads = [
            threading.Thread(target=c.shutdown, args=(deadline, leave_by, clock),
                             name=f"quit-{c.key}", daemon=True)
            for c in list(self._items.values())
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - clock()))
