"""The plain facts of talking to a server, without an HTTP library: the
client's states, its error (and how an error answer reads), the answers
retrying cannot change, and the rule for a server URL. The tray app's pure
modules use them without loading any of the client.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import os
import re
from urllib.parse import urlsplit

__all__ = [
    "NO_ACCOUNTS_MESSAGE", "NO_EVENTS_MESSAGE", "NO_PAGE_MESSAGE", "NO_REALTIME_MESSAGE",
    "NO_STATUS_MESSAGE", "REFUSED_STATUSES",
    "ApiError", "ClientState", "ServerKind", "accept_language", "answer_error", "check_url",
    "error_text", "loopback_host", "reason",
]

#: answers that retrying with the same token cannot change (checked on the slow schedule)
REFUSED_STATUSES = frozenset({401, 403})


class ServerKind(enum.Enum):
    """What a client learned it follows (from answers, never from one failed request)."""

    #: a lattice-rt server: health with its identity, event ids and resume, publish,
    #: status, presence that expires
    LATTICE_RT = "lattice-rt"
    #: the Lattice AI server (ltcai 2.0 to 11.5): the stream, the feed and presence
    #: join/leave only; frames without ids, a newest-first replay on every connect,
    #: seq starting again at 1 when it restarts, presence that never expires
    LATTICE_AI = "lattice-ai"
    #: answers HTTP, but none of the realtime routes (ltcai 11.6 and later)
    NO_REALTIME = "none"

    @property
    def numbered(self) -> bool:
        """Its frames carry ids: a stream resumes with Last-Event-ID."""
        return self is ServerKind.LATTICE_RT

    @property
    def expires(self) -> bool:
        """Its presence entries expire unless re-joined (so a keep-alive is needed)."""
        return self is ServerKind.LATTICE_RT


NO_REALTIME_MESSAGE = "this server has no realtime API (Lattice AI 11.6 and later moved it)"
# true of any server without the route, the Lattice AI server named as the one people meet
NO_EVENTS_MESSAGE = ("this server takes no events (it has no publish route, like the Lattice AI "
                     "server)")
NO_STATUS_MESSAGE = ("this server keeps no status (it has no status route, like the Lattice AI "
                     "server)")
NO_PAGE_MESSAGE = ("this server has no activity page (it has no launch route, like the Lattice AI "
                   "server)")
NO_ACCOUNTS_MESSAGE = ("this server has no accounts of lattice-rt's (it has no admin routes, like "
                       "the Lattice AI server)")


class ClientState(enum.Enum):
    CONNECTING = "connecting"  # first attempt
    CONNECTED = "connected"  # the stream is open
    RECONNECTING = "reconnecting"  # lost it, waiting or trying again
    STOPPED = "stopped"  # stop() was called; final


class ApiError(Exception):
    """A request failed: ``status`` is the HTTP status, 0 when there was no answer."""

    def __init__(self, status: int, message: str, *, unsupported: bool = False) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        #: the server lacks what was asked (no realtime API, no publish route): asking
        #: again cannot help until the server changes
        self.unsupported = unsupported

    def __str__(self) -> str:
        if self.status and not self.unsupported:  # unsupported: the message says it all
            return f"{self.message} (HTTP {self.status})"
        return self.message

    @property
    def refused(self) -> bool:
        """The server will not serve this token (401) or this request of it (403)."""
        return self.status in REFUSED_STATUSES

    @property
    def lasting(self) -> bool:
        """Retrying soon cannot change it (refused, or unsupported): the slow schedule."""
        return self.refused or self.unsupported


def answer_error(status: int, body: bytes, reason_phrase: str) -> ApiError:
    """An ApiError with the server's ``{"error"}`` text (or a short fallback) from an
    error answer's status, body and reason phrase."""
    message = ""
    try:
        value = json.loads(body)
        if isinstance(value, dict):
            message = error_text(value.get("error")) or error_text(value.get("detail"))
    except ValueError:  # UnicodeDecodeError among them
        pass
    if not message:
        text = body.decode("utf-8", "replace").strip()
        first = text.splitlines()[0] if text else ""
        message = first[:200] if first and not first.lstrip().startswith("<") else ""
    if not message:
        message = reason_phrase or "request failed"
    return ApiError(status, message)


def error_text(value: object) -> str:
    """An error body's text as the server wrote it: ``{"error"}`` (ours), ``{"detail"}``
    (FastAPI: a string, or a list of validation problems, each with a ``msg``)."""
    if isinstance(value, str):
        return value.strip()[:500]
    if isinstance(value, list):
        parts = []
        for item in value[:5]:
            if isinstance(item, dict) and isinstance(item.get("msg"), str):
                where = item.get("loc")
                field = ".".join(str(p) for p in where[1:]) if isinstance(where, list) else ""
                parts.append(f"{field}: {item['msg']}" if field else item["msg"])
        return "; ".join(parts)[:500]
    return ""


def reason(exc: Exception) -> str:
    """Why a connection or request failed, short."""
    text = str(exc).strip()
    if "Connection refused" in text:
        return "connection refused"
    return text or type(exc).__name__


def loopback_host(host: str) -> bool:
    """Is ``host`` (a name or an address, without brackets) this machine's loopback?"""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


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


def accept_language(environ: dict[str, str] | None = None) -> str:
    """The user's language for a server's messages (``LANGUAGE``/``LC_ALL``/``LANG``),
    English after it: ``de-DE,de;q=0.9,en;q=0.5``, or ``en``."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").split(":")[0].split(".")[0].split("@")[0]
        if value and value not in ("C", "POSIX"):
            tag = value.replace("_", "-")
            lang = tag.split("-")[0].lower()
            if lang == "en":
                return "en" if tag == "en" else f"{tag},en;q=0.9"
            return f"{tag},{lang};q=0.9,en;q=0.5" if tag != lang else f"{lang},en;q=0.5"
    return "en"
