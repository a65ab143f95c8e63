"""Accounts, launch codes and browser sessions of a cluster, in Redis.

:class:`RedisAccounts` has the methods of the local accounts (add a user,
grant, revoke, renew, remove, list; look a token up), as coroutines, with the
same rules and errors, so the admin routes work on any node and a change made
through one node holds on all at once. Only the SHA-256 of a user token is
stored. A token is looked up in Redis on every request (one script, one
round trip), never cached, so a removed user or a renewed token stops working
on every node with the change itself.

:class:`RedisSessions` keeps launch codes (single use, 60 s) and browser
sessions (12 h) as keys whose expiry is their lifetime; a key is the SHA-256
of the code or session id, so a copy of Redis holds no usable one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from redis.exceptions import RedisError, ResponseError

from lattice_rt_core.auth.accounts import token_digest
from lattice_rt_core.auth.callers import Principal
from lattice_rt_core.engines.base import Unavailable
from lattice_rt_core.engines.identity import new_token
from lattice_rt_core.engines.redis.store import RedisKeys
from lattice_rt_core.protocol.accounts import (
    NoSuchUser,
    UserExists,
    check_name,
    check_unlike,
    workspaces_of,
)

__all__ = ["RedisAccounts", "RedisSessions"]


# KEYS users, tokens, members, version; ARGV op (add, renew, remove, grant, revoke), name, the
# token digest or the workspaces as JSON, and for add the workspaces as JSON and the
# number of users the caller compared the name with (CHANGED when it is not that any more)
_CHANGE = r"""
local users, tokens, members, version = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op, name = ARGV[1], ARGV[2]
local old = redis.call('HGET', users, name)
if op == 'add' then
  if old then return redis.error_reply('EXISTS') end
  if ARGV[5] and redis.call('HLEN', users) ~= tonumber(ARGV[5]) then
    return redis.error_reply('CHANGED')
  end
  redis.call('HSET', users, name, ARGV[3])
  redis.call('HSET', tokens, ARGV[3], name)
  redis.call('HSET', members, name, ARGV[4])
  redis.call('INCR', version)
  return 'OK'
end
if not old then return redis.error_reply('NOUSER') end
if op == 'renew' then
  redis.call('HDEL', tokens, old)
  redis.call('HSET', users, name, ARGV[3])
  redis.call('HSET', tokens, ARGV[3], name)
elseif op == 'remove' then
  redis.call('HDEL', tokens, old)
  redis.call('HDEL', users, name)
  redis.call('HDEL', members, name)
else  -- 'grant' or 'revoke' ARGV[3] (a JSON list), in one step: concurrent changes add up
  local now = {}
  for _, ws in ipairs(cjson.decode(redis.call('HGET', members, name) or '[]')) do
    now[ws] = true
  end
  for _, ws in ipairs(cjson.decode(ARGV[3])) do now[ws] = (op == 'grant') or nil end
  local list = {}
  for ws in pairs(now) do list[#list + 1] = ws end
  table.sort(list)
  local text = #list > 0 and cjson.encode(list) or '[]'
  redis.call('HSET', members, name, text)
  redis.call('INCR', version)
  return text
end
redis.call('INCR', version)
return 'OK'
"""

# KEYS tokens, members; ARGV digest: {user, workspaces JSON} or {}
_RESOLVE = r"""
local user = redis.call('HGET', KEYS[1], ARGV[1])
if not user then return {} end
return {user, redis.call('HGET', KEYS[2], user) or '[]'}
"""

#: how often add_user compares again when other users were added meanwhile
_ADD_TRIES = 5


class _Changed(Exception):
    """The users changed between the comparison and the change."""


class RedisAccounts:
    """The cluster's users, token hashes and workspace memberships."""

    def __init__(self, client: Any, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys
        self._members = f"{keys.prefix}:members"
        #: moved by every change (nodes poll it to end revoked streams: Accounts.version)
        self._version = f"{keys.prefix}:accounts_version"
        self._change = client.register_script(_CHANGE)
        self._resolve = client.register_script(_RESOLVE)

    async def _run(self, *args: str) -> str:
        try:
            result = await self._change(keys=[self.keys.users, self.keys.tokens, self._members,
                                              self._version], args=list(args))
        except ResponseError as exc:
            if str(exc) == "EXISTS":
                raise UserExists(f"user {args[1]!r} already exists") from None
            if str(exc) == "CHANGED":
                raise _Changed from None
            if str(exc) == "NOUSER":
                raise NoSuchUser(f"no user named {args[1]!r}") from None
            raise Unavailable(f"Redis refused the change: {exc}") from None
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis is unreachable: {exc}") from None
        return bytes(result).decode()

    async def _call(self, name: str, *args: Any) -> Any:
        try:
            return await getattr(self.client, name)(*args)
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis is unreachable: {exc}") from None

    # ---------------------------------------------------------------- changes
    async def add_user(self, name: str, workspaces: Iterable[str] = ()) -> str:
        """Create ``name``; its token. :class:`UserExists` when the name is taken."""
        check_name("user name", name)
        spaces = workspaces_of(workspaces)
        token = new_token()
        for _ in range(_ADD_TRIES):
            # user names are unique after normalisation: compare with every name,
            # and add only if no user came or went meanwhile
            names = [bytes(n).decode() for n in await self._call("hkeys", self.keys.users)]
            check_unlike(name, names)
            try:
                await self._run("add", name, token_digest(token), json.dumps(spaces),
                                str(len(names)))
            except _Changed:
                continue
            return token
        raise Unavailable("the users changed while this one was being added; try again")

    async def grant(self, name: str, workspaces: Iterable[str]) -> set[str]:
        """Add workspaces to ``name``; all of its workspaces (atomic in Redis)."""
        changed = await self._run("grant", name, json.dumps(workspaces_of(workspaces)))
        return set(json.loads(changed))

    async def revoke(self, name: str, workspaces: Iterable[str]) -> set[str]:
        """Take workspaces from ``name``; what is left (atomic in Redis)."""
        changed = await self._run("revoke", name, json.dumps(workspaces_of(workspaces)))
        return set(json.loads(changed))

    async def renew(self, name: str) -> str:
        """A new token for ``name``; the old one stops working on every node at once."""
        token = new_token()
        await self._run("renew", name, token_digest(token))
        return token

    async def remove_user(self, name: str) -> None:
        await self._run("remove", name)

    # ---------------------------------------------------------------- lookups
    async def users(self) -> dict[str, set[str]]:
        rows = await self._call("hgetall", self._members)
        return {bytes(k).decode(): set(json.loads(v)) for k, v in rows.items()}

    async def lookup_token(self, token: str) -> tuple[str, frozenset[str]] | None:
        return await self.lookup_credential(token_digest(token))

    async def lookup_credential(self, digest: str) -> tuple[str, frozenset[str]] | None:
        try:
            found = await self._resolve(keys=[self.keys.tokens, self._members], args=[digest])
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis is unreachable: {exc}") from None
        if not found:
            return None
        return bytes(found[0]).decode(), frozenset(json.loads(found[1]))

    async def scopes_of(self, user: str) -> frozenset[str]:
        raw = await self._call("hget", self._members, user)
        return frozenset(json.loads(raw)) if raw is not None else frozenset()

    async def version(self) -> int:
        raw = await self._call("get", self._version)
        return int(raw) if raw is not None else 0


class RedisSessions:
    """Launch codes and browser sessions as Redis keys that expire with them."""

    def __init__(self, client: Any, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys

    def _key(self, kind: str, secret: str) -> str:
        return self.keys.secret(kind, token_digest(secret))

    async def put(self, kind: str, key: str, principal: Principal, ttl: float) -> None:
        value = json.dumps({"user": principal.user, "owner": principal.owner,
                            "credential": principal.credential})
        try:
            await self.client.set(self._key(kind, key), value, px=max(1, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis is unreachable: {exc}") from None

    async def get(self, kind: str, key: str, *, consume: bool) -> Principal | None:
        try:
            name = self._key(kind, key)
            raw = await (self.client.getdel(name) if consume else self.client.get(name))
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis is unreachable: {exc}") from None
        if raw is None:
            return None
        value = json.loads(raw)
        owner = bool(value["owner"])
        credential = value.get("credential")  # absent: minted before credentials were kept
        return Principal(str(value["user"]), None if owner else frozenset(), owner=owner,
                         credential=credential if isinstance(credential, str) else None)
