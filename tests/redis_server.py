"""The tests' ``redis-server`` (bench/redis_server.py) and what the tests add to it.

Never a system service: the process is the test's child, its data lives in a
temporary directory and it goes when the test (module) is done.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import redis

from bench.redis_server import RedisServer as _RedisServer
from bench.redis_server import RedisStartError

__all__ = ["RedisServer", "unique_prefix"]


def unique_prefix() -> str:
    """A key prefix of its own, so tests sharing one Redis never see each other."""
    return "{t-" + secrets.token_hex(6) + "}"


class RedisServer(_RedisServer):
    """``persistent``: the AOF on with fsync always (nothing acknowledged is lost)."""

    def __init__(self, directory: Path, *, persistent: bool = False) -> None:
        try:
            super().__init__(directory, appendfsync="always" if persistent else None)
        except RedisStartError as exc:
            pytest.fail(str(exc))

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)
