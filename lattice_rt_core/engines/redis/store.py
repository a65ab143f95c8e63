"""The Redis engine's keys, its Lua scripts and how it connects.

Every key starts with one prefix in braces (``{lattice-rt}`` by default), so
a Redis Cluster keeps them in one slot and every script may touch them all.

==========================  ===========================================================
key                         holds
==========================  ===========================================================
``P:meta`` (hash)           ``epoch``, ``seq`` (the last seq handed out), ``first`` (the
                            epoch's first seq), ``server_id``, ``owner_token``,
                            ``owner_user``
``P:log`` (stream)          one entry per event, id ``<seq>-0``, fields ``w`` (workspace,
                            "" for none) and ``d`` (the event's JSON); ``MAXLEN ~`` the
                            retention
``P:events`` (channel)      one message per published batch: ``<epoch> <first seq>``,
                            then per event ``\\n<len(w)>:<w><json>``
``P:presence`` (hash)       client id -> the entry (JSON, without ``last_seen``)
``P:presence:user`` (hash)  client id -> its user
``P:presence:seen`` (zset)  client id -> last refresh, Redis ms (expiry)
``P:presence:proof`` (hash) client id -> last request from the client, Redis ms
``P:presence:count`` (hash) user -> how many entries
``P:presence:due`` (zset)   client id -> when its coalesced status event is due, Redis ms
``P:users``, ``P:tokens``   user -> SHA-256 of its token, and back
``P:member:<user>`` (set)   the user's workspaces
``P:code:<sha256>``,        a launch code's / a browser session's principal, with the
``P:session:<sha256>``      lifetime as the key's expiry
``P:idem:<sha256>``         a publish's ``Idempotency-Key`` (bound to its caller): the
                            fingerprint of what was published, ``\n``, the answer (the
                            events' JSON array); the window as the key's expiry
==========================  ===========================================================

The scripts run atomically. Every one that publishes an event goes through
the one ``append`` function: check the epoch, take the next seqs, ``XADD``
each event, ``PUBLISH`` the batch. Expiry decisions use Redis's own clock
(``TIME``), so the nodes' clocks never matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lattice_rt_core.protocol.defaults import REDIS_URL_ENV

__all__ = [
    "DEFAULT_PREFIX",
    "REDIS_URL_ENV",
    "RedisKeys",
    "SCRIPTS",
    "connect_async",
    "connect_sync",
    "safe_url",
]

DEFAULT_PREFIX = "{lattice-rt}"
#: seconds a command may take before the node calls Redis unreachable
COMMAND_TIMEOUT = 5.0
CONNECT_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class RedisKeys:
    prefix: str = DEFAULT_PREFIX

    @property
    def meta(self) -> str:
        return f"{self.prefix}:meta"

    @property
    def log(self) -> str:
        return f"{self.prefix}:log"

    @property
    def channel(self) -> str:
        return f"{self.prefix}:events"

    @property
    def presence(self) -> list[str]:
        """The presence keys in the order the scripts take them."""
        p = self.prefix
        return [f"{p}:presence", f"{p}:presence:user", f"{p}:presence:seen",
                f"{p}:presence:proof", f"{p}:presence:count", f"{p}:presence:due"]

    @property
    def users(self) -> str:
        return f"{self.prefix}:users"

    @property
    def tokens(self) -> str:
        return f"{self.prefix}:tokens"

    def member(self, user: str) -> str:
        return f"{self.prefix}:member:{user}"

    def secret(self, kind: str, digest: str) -> str:
        return f"{self.prefix}:{kind}:{digest}"

    def idempotency(self, key: str) -> str:
        return f"{self.prefix}:idem:{key}"


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit((parts.scheme, f"{user}***@{host}", parts.path, parts.query, ""))


def _options() -> dict[str, Any]:
    return {
        "socket_timeout": COMMAND_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_keepalive": True,
        "health_check_interval": 0,
    }


def connect_async(url: str) -> Any:
    """A ``redis.asyncio`` client that never retries a command by itself.

    A retried script could run twice (the reply lost, the write done): the
    engine decides what to do after an error, never the library.
    """
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(url, retry=Retry(NoBackoff(), 0), **_options())


def connect_sync(url: str) -> Any:
    """The blocking client, for the start-up check and ``lattice-rt token --redis``."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Redis.from_url(url, retry=Retry(NoBackoff(), 0), **_options())


# --------------------------------------------------------------------- scripts
# Shared by every script that publishes. ``events`` is a list of
# {workspace, json-after-seq} pairs: the node encodes each event once with
# seq 0 and sends what follows ``{"seq":0``; the script puts the real seq in
# front, so the JSON is byte for byte what the local engine would send.
_APPEND = r"""
local function fmt(n) return string.format('%d', n) end

local function current_seq(meta, epoch, floor)
  local m = redis.call('HMGET', meta, 'epoch', 'seq')
  if m[1] ~= epoch then return nil end
  local seq = tonumber(m[2])
  if seq < floor then return nil end  -- Redis lost events this node has seen
  return seq
end

local function append(meta, log, channel, epoch, seq, maxlen, events)
  local lines = {epoch .. ' ' .. fmt(seq + 1)}
  for i, ev in ipairs(events) do
    local s = seq + i
    local data = '{"seq":' .. fmt(s) .. ev[2]
    redis.call('XADD', log, 'MAXLEN', '~', maxlen, fmt(s) .. '-0', 'w', ev[1], 'd', data)
    lines[#lines + 1] = fmt(#ev[1]) .. ':' .. ev[1] .. data
  end
  local last = seq + #events
  redis.call('HSET', meta, 'seq', last)
  redis.call('PUBLISH', channel, table.concat(lines, '\n'))
  return last
end

local function pairs_from(args, start, n)
  local events = {}
  for i = 0, n - 1 do
    events[#events + 1] = {args[start + 2 * i], args[start + 2 * i + 1]}
  end
  return events
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS meta, log; ARGV epoch, floor, maxlen, channel, n, then n (workspace, json) pairs
_PUBLISH = _APPEND + r"""
local seq = current_seq(KEYS[1], ARGV[1], tonumber(ARGV[2]))
if not seq then return redis.error_reply('EPOCH the epoch changed') end
return append(KEYS[1], KEYS[2], ARGV[4], ARGV[1], seq, ARGV[3],
              pairs_from(ARGV, 6, tonumber(ARGV[5])))
"""

# KEYS meta, log, idem; ARGV epoch, floor, maxlen, channel, fingerprint, window ms, n,
# then n (workspace, json) pairs. A key already set answers {0, what it holds} and
# publishes nothing; otherwise {1, last seq}, and the key holds the answer (SET NX
# semantics: checked and set in the same atomic script).
_PUBLISH_ONCE = _APPEND + r"""
local stored = redis.call('GET', KEYS[3])
if stored then return {0, stored} end
local seq = current_seq(KEYS[1], ARGV[1], tonumber(ARGV[2]))
if not seq then return redis.error_reply('EPOCH the epoch changed') end
local events = pairs_from(ARGV, 8, tonumber(ARGV[7]))
local last = append(KEYS[1], KEYS[2], ARGV[4], ARGV[1], seq, ARGV[3], events)
local answer = {}
for i, ev in ipairs(events) do answer[i] = '{"seq":' .. fmt(seq + i) .. ev[2] end
redis.call('SET', KEYS[3], ARGV[5] .. '\n[' .. table.concat(answer, ',') .. ']',
           'PX', ARGV[6], 'NX')
return {1, last}
"""

# KEYS meta, log; ARGV known epoch, base (the highest seq this node saw), a new
# epoch id, server id, owner token, owner user (the last three kept if set).
# Starts a new epoch when there is none (first start, or the keyspace was
# lost), when Redis went back below what this node saw under the same epoch,
# or when this node comes from an older epoch whose seqs reach into the current
# one. A new epoch's first seq is above every seq anyone may hold.
_ENSURE_EPOCH = r"""
local meta, log = KEYS[1], KEYS[2]
local known, base = ARGV[1], tonumber(ARGV[2])
local m = redis.call('HMGET', meta, 'epoch', 'seq', 'first')
local function stream_last()
  local top = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
  if #top == 0 then return 0 end
  return tonumber(string.match(top[1][1], '^(%d+)'))
end
local function start(floor)
  floor = math.max(floor, stream_last())
  redis.call('HSET', meta, 'epoch', ARGV[3], 'seq', string.format('%d', floor),
             'first', string.format('%d', floor + 1))
end
if not m[1] then
  start(base)
elseif m[1] == known then
  if tonumber(m[2]) < base then start(base) end
elseif known ~= '' and base >= tonumber(m[3]) then
  start(math.max(base, tonumber(m[2])))
end
redis.call('HSETNX', meta, 'server_id', ARGV[4])
redis.call('HSETNX', meta, 'owner_token', ARGV[5])
redis.call('HSETNX', meta, 'owner_user', ARGV[6])
return redis.call('HMGET', meta, 'epoch', 'first', 'seq', 'server_id', 'owner_token',
                  'owner_user')
"""

# KEYS meta, log, presence, user, seen, proof, count, due
# ARGV epoch, floor, maxlen, channel, client id, expected entry ('' none),
#      new entry ('' removes it), user, mode, ttl ms, status due (ms; 0 none,
#      -1 unchanged), n, then n (workspace, json) pairs
# Compare-and-set of one presence entry and its events, atomically: the node
# read the entry, decided (presence.py's rules) and built the events; if the
# entry changed meanwhile, nothing is done ('CONFLICT') and the node decides
# again. Modes: 'write' (a request from the client: refreshes it), 'keep'
# (the entry changes, its times do not), 'expire' (removes it only if it is
# stale by Redis's clock, so however many nodes sweep, one expiry is one
# leave event).
_PRESENCE_WRITE = _APPEND + r"""
local meta, log, entries, users, seen, proof, count, due = unpack(KEYS)
local cid, expected, new, user, mode = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local cur = redis.call('HGET', entries, cid) or ''
if cur ~= expected then return {'CONFLICT'} end
local now = now_ms()
if mode == 'expire' then
  local at = tonumber(redis.call('ZSCORE', seen, cid) or '0')
  if at >= now - tonumber(ARGV[10]) then return {'FRESH'} end
end
local holder = redis.call('HGET', users, cid)
local n = tonumber(ARGV[12])
local seq = 0
if n > 0 then
  seq = current_seq(meta, ARGV[1], tonumber(ARGV[2]))
  if not seq then return redis.error_reply('EPOCH the epoch changed') end
end
if holder and (new == '' or holder ~= user) then
  if redis.call('HINCRBY', count, holder, -1) <= 0 then redis.call('HDEL', count, holder) end
end
if new == '' then
  redis.call('HDEL', entries, cid)
  redis.call('HDEL', users, cid)
  redis.call('ZREM', seen, cid)
  redis.call('HDEL', proof, cid)
  redis.call('ZREM', due, cid)
else
  if holder ~= user then redis.call('HINCRBY', count, user, 1) end
  redis.call('HSET', entries, cid, new)
  redis.call('HSET', users, cid, user)
  if mode == 'write' or not holder then
    redis.call('ZADD', seen, now, cid)
    redis.call('HSET', proof, cid, now)
  end
  local when = tonumber(ARGV[11])
  if when > 0 then redis.call('ZADD', due, when, cid)
  elseif when == 0 then redis.call('ZREM', due, cid) end
end
if n > 0 then
  seq = append(meta, log, ARGV[4], ARGV[1], seq, ARGV[3], pairs_from(ARGV, 13, n))
end
return {'OK', seq, now, redis.call('HLEN', entries)}
"""

# KEYS user, seen, proof; ARGV user, proof ('1': a request from the client,
# '0': an open stream), hold ms, then client ids. Refreshes the entries of
# ``user``; an open stream only within ``hold`` of the client's last request.
_PRESENCE_REFRESH = r"""
local users, seen, proof = KEYS[1], KEYS[2], KEYS[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hold = tonumber(ARGV[3])
local done = 0
for i = 4, #ARGV do
  local cid = ARGV[i]
  if redis.call('HGET', users, cid) == ARGV[1] then
    if ARGV[2] == '1' then
      redis.call('HSET', proof, cid, now)
      redis.call('ZADD', seen, 'XX', now, cid)
      done = done + 1
    elseif now - tonumber(redis.call('HGET', proof, cid) or '0') <= hold then
      redis.call('ZADD', seen, 'XX', now, cid)
      done = done + 1
    end
  end
end
return done
"""

# KEYS presence, a zset of times; ARGV age ms, at most how many, and '1' if a
# time exactly ``age`` old counts. The entries whose time is older than ``age``
# by Redis's clock (stale ones in ``seen``: past the TTL; due status events in
# ``due``: at or past their millisecond): {now ms, client id, entry, ...}
_PRESENCE_DUE = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local upto = now - tonumber(ARGV[1])
if ARGV[3] ~= '1' then upto = '(' .. upto end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', upto, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {now}
for _, cid in ipairs(due) do
  out[#out + 1] = cid
  out[#out + 1] = redis.call('HGET', KEYS[1], cid) or ''
end
return out
"""

#: name -> Lua source; :mod:`log` and the others register what they use
SCRIPTS = {
    "publish": _PUBLISH,
    "publish_once": _PUBLISH_ONCE,
    "ensure_epoch": _ENSURE_EPOCH,
    "presence_write": _PRESENCE_WRITE,
    "presence_refresh": _PRESENCE_REFRESH,
    "presence_due": _PRESENCE_DUE,
}
