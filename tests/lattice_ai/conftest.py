"""A real Lattice AI server per test, for each release the app supports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lattice_ai.server import VERSIONS, LatticeServer


@pytest.fixture(params=VERSIONS, ids=[f"ltcai-{v}" for v in VERSIONS])
def lattice(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LatticeServer]:
    """A Lattice AI server in local mode (no sign-in)."""
    with LatticeServer(request.param, tmp_path / "ltcai") as server:
        yield server


@pytest.fixture(params=VERSIONS, ids=[f"ltcai-{v}" for v in VERSIONS])
def lattice_auth(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LatticeServer]:
    """A Lattice AI server in auth mode (LATTICEAI_REQUIRE_AUTH=true)."""
    with LatticeServer(request.param, tmp_path / "ltcai", auth=True) as server:
        yield server
