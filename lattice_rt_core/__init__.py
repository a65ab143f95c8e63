"""Lattice realtime core: the bus, its journal, presence, the HTTP/SSE endpoint
and the client. Pure Python; never imports Qt."""

from .accounts import Accounts
from .auth import Authenticator, Principal
from .bus import RealtimeBus, Subscriber
from .defaults import PROTOCOL_VERSION
from .events import enrich, to_json
from .journal import Journal, JournalError
from .presence import PresenceRegistry
from .scope import WorkspaceScope, accepts
from .server import RealtimeServer, ServerConfig, ServerError
from .store import WorkspaceOSStore
from .version import __version__

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
