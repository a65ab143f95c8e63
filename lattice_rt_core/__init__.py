"""Lattice realtime core: the bus, its journal, presence, the HTTP/SSE endpoint
and the client. Pure Python; never imports Qt."""

from lattice_rt_core.accounts import Accounts
from lattice_rt_core.auth import Authenticator, Principal
from lattice_rt_core.bus import RealtimeBus, Subscriber
from lattice_rt_core.defaults import PROTOCOL_VERSION
from lattice_rt_core.events import enrich, to_json
from lattice_rt_core.journal import Journal, JournalError
from lattice_rt_core.presence import PresenceRegistry
from lattice_rt_core.scope import WorkspaceScope, accepts
from lattice_rt_core.server import RealtimeServer, ServerConfig, ServerError
from lattice_rt_core.store import WorkspaceOSStore
from lattice_rt_core.version import __version__

__all__ = [
    "PROTOCOL_VERSION",
    "Accounts",
    "Authenticator",
    "Journal",
    "JournalError",
    "PresenceRegistry",
    "Principal",
    "RealtimeBus",
    "RealtimeServer",
    "ServerConfig",
    "ServerError",
    "Subscriber",
    "WorkspaceOSStore",
    "WorkspaceScope",
    "__version__",
    "accepts",
    "enrich",
    "to_json",
]
