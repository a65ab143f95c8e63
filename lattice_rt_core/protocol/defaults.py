"""Every default of the protocol and the server, defined once.

The reference's numbers (feed 200, feed page 50, replay tail 10, heartbeat
15 s, stats version "2.0.0") and this project's own (port, presence TTL, retention,
backlog, retry hint). Everything else imports them from here: the bus, the
server's configuration, the CLI's option defaults and help texts, the client,
the OpenAPI document and the tray app.
"""

from __future__ import annotations

__all__ = [
    "ADMIN_PREFIX",
    "AUTH_FAILURE_LIMIT",
    "AUTH_FAILURE_WINDOW",
    "DEFAULT_BACKLOG",
    "DEFAULT_FEED_LIMIT",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_RETENTION",
    "DEFAULT_RETRY_MS",
    "DEFAULT_STATUS",
    "DEFAULT_TTL",
    "FEED_LIMIT",
    "IDEMPOTENCY_KEY_MAX",
    "IDEMPOTENCY_WINDOW",
    "HEAD_TIMEOUT",
    "MAX_CLIENT_CONNECTIONS",
    "MAX_HEAD_BYTES",
    "PRESENCE_STATUSES",
    "PROTOCOL_VERSION",
    "REDIS_URL_ENV",
    "REPLAY_TAIL",
    "REVOCATION_INTERVAL",
    "STATUS_INTERVAL",
    "TLS_HANDSHAKE_TIMEOUT",
    "WORKER_COMMAND",
]

#: the stats ``version`` reference clients know (the protocol, not this package)
PROTOCOL_VERSION = "2.0.0"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: seconds between ``: heartbeat`` comments on an idle stream
DEFAULT_HEARTBEAT = 15.0
#: seconds before a presence entry that is not refreshed expires
DEFAULT_TTL = 45.0
#: events kept in the durable journal
DEFAULT_RETENTION = 500
#: events a subscriber may fall behind before it gets a gap (the shared ring)
DEFAULT_BACKLOG = 4096
#: the ``retry:`` hint every stream starts with, in milliseconds
DEFAULT_RETRY_MS = 3000
#: events in the feed ring (``/realtime/feed`` is clamped to it)
FEED_LIMIT = 200
#: events ``/realtime/feed`` answers when the request names no ``limit``
DEFAULT_FEED_LIMIT = 50
#: in-scope events replayed to a stream that does not resume
REPLAY_TAIL = 10
#: what a presence entry's ``status`` may say: at the desk, no input for a while,
#: gone (screen locked, asleep, idle long), do not disturb
PRESENCE_STATUSES = ("active", "idle", "away", "dnd")
#: the status of an entry whose client never named one (every older client)
DEFAULT_STATUS = "active"
#: seconds: a presence entry's status events are at most one per this interval
#: (changes in between are shown at once and published as one when it is over)
STATUS_INTERVAL = 1.0
#: where the owner's account routes live (http/owner.py; net/admin.py calls them)
ADMIN_PREFIX = "/realtime/admin"
#: bytes a request head (request line and headers) may take; more is a 431
MAX_HEAD_BYTES = 64 * 1024
#: seconds a request head may take from its first byte (or from the connection)
HEAD_TIMEOUT = 10.0
#: seconds a TLS handshake may take
TLS_HANDSHAKE_TIMEOUT = 10.0
#: connections one client address may hold at once (0: no cap; reverse proxies
#: named by --trust-proxy are not counted)
MAX_CLIENT_CONNECTIONS = 256
#: failed authentications (401s) one client address may have within
#: AUTH_FAILURE_WINDOW seconds; then its requests with a credential are 429s
AUTH_FAILURE_LIMIT = 20
AUTH_FAILURE_WINDOW = 10.0
#: seconds a publish's ``Idempotency-Key`` is remembered (a retry within them
#: gets the first answer and publishes nothing)
IDEMPOTENCY_WINDOW = 24 * 3600.0
#: characters an ``Idempotency-Key`` may have (printable ASCII)
IDEMPOTENCY_KEY_MAX = 200
#: seconds between a server's looks at the accounts' version while user streams
#: are open: a stream of a removed or renewed token (or a narrowed grant) ends
#: within about this long, on every node
REVOCATION_INTERVAL = 0.25

#: the Redis of a cluster (``serve --redis``, ``token --redis``)
REDIS_URL_ENV = "LATTICE_RT_REDIS_URL"
#: the hidden command that runs a child endpoint (see the CLI's main)
WORKER_COMMAND = "_worker"
