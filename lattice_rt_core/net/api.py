"""The plain facts of talking to a server, without an HTTP library: the
client's states, its error, the answers retrying cannot change, and the rule
for a server URL. The tray app's pure modules use them without loading httpx.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ["REFUSED_STATUSES", "ApiError", "ClientState", "check_url"]

#: answers that retrying with the same token cannot change (checked on the slow schedule)
REFUSED_STATUSES = frozenset({401, 403})


class ClientState(enum.Enum):
    CONNECTING = "connecting"  # first attempt
    CONNECTED = "connected"  # the stream is open
    RECONNECTING = "reconnecting"  # lost it, waiting or trying again
    STOPPED = "stopped"  # stop() was called; final


class ApiError(Exception):
    """A request failed: ``status`` is the HTTP status, 0 when there was no answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status})" if self.status else self.message

    @property
    def refused(self) -> bool:
        """The server will not serve this token (401) or this request of it (403)."""
        return self.status in REFUSED_STATUSES


def check_url(text: str) -> str:
    """``text`` as a server URL without a trailing slash; ValueError saying what is wrong."""
    url = text.strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"server URL must start with http:// or https://, got {text!r}")
    url = url.rstrip("/")
    bad = next((c for c in url if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise ValueError(f"invalid server URL {text!r}: a non-printable character ({bad!r})")
    try:
        parsed = urlsplit(url)
        host = parsed.hostname
        port = parsed.port  # out of range or not a number raises ValueError too
    except ValueError as exc:
        digits = re.search(r":([0-9]+)$", urlsplit(url).netloc)
        problem = f"port {digits[1]} is not a TCP port" if digits else str(exc)
        raise ValueError(f"invalid server URL {text!r}: {problem}") from None
    after_ip6 = parsed.netloc.rpartition("]")[2] if "[" in parsed.netloc else ""
    if not host or any(c.isspace() or c == "%" for c in host) or after_ip6[:1] not in ("", ":"):
        raise ValueError(f"invalid server URL {text!r}: no valid host name")
    if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            problem = f"Invalid IPv4 address {host!r}"
            raise ValueError(f"invalid server URL {text!r}: {problem}") from None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"invalid server URL {text!r}: port {port} is not a TCP port")
    if parsed.query or parsed.fragment:
        raise ValueError(f"invalid server URL {text!r}: no query or fragment expected")
    return url
