"""Fixtures shared by every test directory: a real endpoint on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.server import RealtimeServer, ServerConfig

from .redis_server import RedisServer, unique_prefix


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run long soak/stress tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def server_config(data_dir: Path) -> ServerConfig:
    return ServerConfig(port=0, data_dir=data_dir, owner_user="owner")


@pytest.fixture
def server(server_config: ServerConfig) -> Iterator[RealtimeServer]:
    srv = RealtimeServer(server_config)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def owner(server: RealtimeServer) -> Iterator[httpx.Client]:
    """An httpx client authenticated as the owner."""
    with httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=10.0,
    ) as client:
        yield client


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server per test module (tests keep apart by key prefix)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_prefix() -> str:
    return unique_prefix()
