"""Lattice realtime core: the bus, its journal, presence, the HTTP/SSE endpoint
and the client. Pure Python; never imports Qt.

Importing the package loads nothing else: each name below comes from its
module the first time it is used (PEP 562), so a client command or a pure
module of the tray app never pays for a server it does not run.
"""

from __future__ import annotations

import importlib
from typing import Any

#: every public name of the package, and the module that holds it
_WHERE = {
    "PROTOCOL_VERSION": "lattice_rt_core.protocol.defaults",
    "Accounts": "lattice_rt_core.auth.accounts",
    "Authenticator": "lattice_rt_core.auth.callers",
    "Journal": "lattice_rt_core.engines.local.journal",
    "JournalError": "lattice_rt_core.engines.local.journal",
    "PresenceRegistry": "lattice_rt_core.engines.presence",
    "Principal": "lattice_rt_core.auth.callers",
    "RealtimeBus": "lattice_rt_core.engines.local.bus",
    "RealtimeClient": "lattice_rt_core.client",
    "RealtimeServer": "lattice_rt_core.server",
    "ServerConfig": "lattice_rt_core.server",
    "ServerError": "lattice_rt_core.server",
    "Subscriber": "lattice_rt_core.engines.local.bus",
    "WorkspaceOSStore": "lattice_rt_core.store",
    "WorkspaceScope": "lattice_rt_core.protocol.scope",
    "__version__": "lattice_rt_core.version",
    "accepts": "lattice_rt_core.protocol.scope",
    "enrich": "lattice_rt_core.protocol.events",
    "to_json": "lattice_rt_core.protocol.events",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
