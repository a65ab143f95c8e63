"""Fixtures shared by every test directory: a real endpoint on a loopback port, test TLS files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme

from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.redis_server import RedisServer, unique_prefix


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


@dataclass(frozen=True)
class TlsFiles:
    """A test CA and a server certificate it signed, as PEM files."""

    ca: Path  # the CA certificate a client must be told to trust
    cert: Path  # the server's certificate chain
    key: Path  # its private key
    names: tuple[str, ...]  # what the certificate is valid for


#: the names the test server certificate is issued for
TLS_NAMES = ("127.0.0.1", "localhost", "team.lattice.test")


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A fresh CA (made by the test, trusted by nobody else) and a server certificate."""
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA(organization_name="lattice-rt test CA")
    issued = ca.issue_cert(*TLS_NAMES)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key",
                     TLS_NAMES)
    ca.cert_pem.write_to_path(str(files.ca))
    issued.private_key_pem.write_to_path(str(files.key))
    files.cert.write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
    return files


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
