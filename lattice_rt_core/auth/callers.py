"""Who is calling: owner token, user accounts, browser launch codes and sessions.

* The owner token (256 bits) is generated on first start and kept in the data
  dir with mode 0600; its holder sees everything (scope ``None``).
* Users and their workspace memberships are :class:`~lattice_rt_core.auth.accounts.Accounts`;
  the scope of a user is the set of workspaces they belong to (the
  reference's ``allowed_scopes``).
* A browser cannot send a bearer header with ``EventSource``: it gets a
  single-use launch code (60 s) that ``GET /activity?code=`` exchanges for an
  HttpOnly, SameSite=Strict session cookie. No long-lived token is ever put in
  a URL.
* :class:`SecretRedactor` keeps tokens, codes and sessions out of log lines.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lattice_rt_core.auth.accounts import AccountStore, token_digest
from lattice_rt_core.engines.identity import new_token
from lattice_rt_core.paths import OWNER_TOKEN_FILE
from lattice_rt_core.protocol.scope import WorkspaceScope

__all__ = [
    "Authenticator",
    "MemorySessions",
    "Principal",
    "SESSION_COOKIE",
    "SecretRedactor",
    "SessionStore",
    "load_or_create_owner_token",
]

log = logging.getLogger(__name__)

#: the browser session's cookie (HttpOnly, SameSite=Strict; see page.py)
SESSION_COOKIE = "lrt_session"
LAUNCH_CODE_TTL = 60.0
SESSION_TTL = 12 * 3600.0


def load_or_create_owner_token(data_dir: Path) -> str:
    """Read ``owner.token``, creating it (mode 0600) on first start."""
    path = data_dir / OWNER_TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
        if token:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return token
    except FileNotFoundError:
        pass
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)
    return token


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``scope`` None means: sees every workspace.

    ``credential`` names the user token the caller came with, or that minted
    the launch code or session it came with (the token's SHA-256): what it
    may do ends with that token (:meth:`Authenticator.recheck`). None for
    the owner and without authentication. It is not part of the caller's
    identity (two principals of one user and scope are equal).
    """

    user: str
    scope: WorkspaceScope
    owner: bool = False
    credential: str | None = field(default=None, compare=False)

    def may_use(self, workspace_id: str | None) -> bool:
        """May this caller publish to / join ``workspace_id``?"""
        if self.scope is None:
            return True
        return workspace_id is not None and workspace_id in self.scope


class SessionStore(Protocol):
    """Launch codes (``kind`` "code") and browser sessions ("session") with a lifetime."""

    async def put(self, kind: str, key: str, principal: Principal, ttl: float) -> None: ...

    async def get(self, kind: str, key: str, *, consume: bool) -> Principal | None: ...


class MemorySessions:
    """:class:`SessionStore` in this process's memory, timed by the injected ``clock``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tables: dict[str, dict[str, tuple[Principal, float]]] = {}

    async def put(self, kind: str, key: str, principal: Principal, ttl: float) -> None:
        with self._lock:
            self._prune()
            self._tables.setdefault(kind, {})[key] = (principal, self._clock() + ttl)

    async def get(self, kind: str, key: str, *, consume: bool) -> Principal | None:
        with self._lock:
            table = self._tables.get(kind, {})
            item = table.pop(key, None) if consume else table.get(key)
            if item is None:
                return None
            principal, expires = item
            if self._clock() >= expires:
                table.pop(key, None)
                return None
        return principal

    def _prune(self) -> None:
        now = self._clock()
        for table in self._tables.values():
            for key in [k for k, (_, exp) in table.items() if exp <= now]:
                del table[key]


class Authenticator:
    """Resolves bearer tokens and session cookies to a :class:`Principal`.

    Its methods are coroutines: with the Redis engine, accounts, launch codes
    and sessions live in Redis (one round trip per request); the local
    engine's SQLite and memory answer at once.
    """

    def __init__(
        self,
        *,
        owner_token: str | None,
        owner_user: str,
        accounts: AccountStore | None,
        sessions: SessionStore | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self._owner_token = owner_token
        self._owner = Principal(owner_user, None, owner=True)
        self._accounts = accounts
        self._sessions = sessions if sessions is not None else MemorySessions(clock)

    async def from_bearer(self, token: str) -> Principal | None:
        if not self.enabled:
            return Principal("", None)
        if not token:
            return None
        if self._owner_token is not None and hmac.compare_digest(
            token.encode("utf-8", "surrogatepass"), self._owner_token.encode()
        ):
            return self._owner
        if self._accounts is None:
            return None
        credential = token_digest(token)
        found = await self._accounts.lookup_credential(credential)
        if found is None:
            return None
        return Principal(found[0], found[1], credential=credential)

    async def resolve(self, authorization: str | None, session: str | None) -> Principal | None:
        """The caller from an ``Authorization`` header value or a session cookie."""
        if not self.enabled:
            return Principal("", None)
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer":
                return await self.from_bearer(value.strip())
            return None
        if session:
            return await self._current(await self._sessions.get("session", session,
                                                                 consume=False))
        return None

    async def issue_launch_code(self, principal: Principal) -> str:
        code = secrets.token_urlsafe(32)
        await self._sessions.put("code", code, principal, LAUNCH_CODE_TTL)
        return code

    async def redeem(self, code: str) -> str | None:
        """Exchange a launch code (once) for a new session id."""
        principal = await self._current(await self._sessions.get("code", code, consume=True))
        if principal is None:
            return None
        session = secrets.token_urlsafe(32)
        await self._sessions.put("session", session, principal, SESSION_TTL)
        return session

    async def recheck(self, principal: Principal) -> Principal | None:
        """``principal`` as it is now: None once its token was removed or renewed.

        Its workspaces are read again (they may have changed since it was
        authenticated). The owner and an unauthenticated caller never change.
        A user principal without a credential (a session minted by a server
        before credentials were kept) is no longer valid: fails closed.
        """
        if principal.owner or not self.enabled or self._accounts is None:
            return principal
        if principal.credential is None:
            return None
        found = await self._accounts.lookup_credential(principal.credential)
        if found is None or found[0] != principal.user:
            return None
        return Principal(found[0], found[1], credential=principal.credential)

    async def accounts_version(self) -> int | None:
        """What changes with every change of the accounts (None: no accounts)."""
        if not self.enabled or self._accounts is None:
            return None
        return await self._accounts.version()

    async def _current(self, principal: Principal | None) -> Principal | None:
        # a code or session lives as long as the token that minted it, and sees
        # the memberships of now
        return None if principal is None else await self.recheck(principal)


_REDACTED = "[redacted]"
# code=, token=, session ids in a URL or a Cookie header; a bearer credential
_SECRET_PARAM = re.compile(
    rf"(?i)(\b(?:code|token|access_token|session|{SESSION_COOKIE})=)[^&\s\"';#,]+"
)
_BEARER = re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+")


class SecretRedactor(logging.Filter):
    """A logging filter that removes credentials from the records it sees.

    Redacts the value of ``code=``, ``token=``, ``access_token=``, ``session=``
    and ``lrt_session=`` (URLs, cookies), ``Bearer <credential>``, and every
    literal secret given, in the message, its arguments and a traceback. The
    record still formats as before (an access log keeps its argument tuple).
    Attach it to each logger whose records must be clean: a logger's filters
    do not run for records of its child loggers.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        text = _SECRET_PARAM.sub(lambda m: m.group(1) + _REDACTED, text)
        return _BEARER.sub(lambda m: m.group(1) + _REDACTED, text)

    def _arg(self, value: object) -> object:
        if value is None or isinstance(value, (bool, int, float)):
            return value
        text = value if isinstance(value, str) else _str(value)
        clean = self.redact(text)
        return value if clean == text else clean

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._arg(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: self._arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break logging
        return ""
