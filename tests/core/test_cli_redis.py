"""The CLI's Redis options: one clear line for every failure, never the password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.servers import free_port
from tests.redis_server import RedisServer

WAIT = 30.0


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lattice_rt_core.cli", *args],
                          capture_output=True, text=True, timeout=WAIT,
                          env={**os.environ, "LATTICE_RT_REDIS_URL": "", **(env or {})})


def test_an_unreachable_redis_is_one_line_without_the_password(data_dir: Path) -> None:
    url = f"redis://ann:s3cret@127.0.0.1:{free_port()}/0"
    for args in (("token", "--redis", url),
                 ("serve", "--port", "0", "--data-dir", str(data_dir), "--redis", url)):
        out = cli(*args)
        assert out.returncode == 1, out
        lines = out.stderr.strip().splitlines()
        assert lines[-1].startswith("lattice-rt: error: cannot reach Redis at "
                                    "redis://ann:***@127.0.0.1:"), lines
        assert "s3cret" not in out.stderr + out.stdout and "Traceback" not in out.stderr


def test_token_names_the_cluster_only_once_a_node_started(redis_server: RedisServer) -> None:
    empty = f"{redis_server.url[:-1]}9"  # database 9: no cluster there
    out = cli("token", env={"LATTICE_RT_REDIS_URL": empty})
    assert out.returncode == 1
    assert out.stderr.strip() == (f"lattice-rt: error: no cluster in Redis at {empty} yet: "
                                  "start a node with `lattice-rt serve --redis URL`")
