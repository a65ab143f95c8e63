"""The client commands load the client side only (issue 22, item 6: the CLI is quick).

Each command runs in a fresh interpreter against a real server on loopback;
afterwards that interpreter's ``sys.modules`` must hold none of the server
stack: no web framework, no Redis, no server, engine, HTTP app, process or
account-store module; and no third-party HTTP library (httpx) at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.server import RealtimeServer

#: what a client command must never load (a name or the start of a dotted one)
SERVER_STACK = (
    "starlette", "uvicorn", "redis", "sqlite3",
    "lattice_rt_core.server", "lattice_rt_core.engines", "lattice_rt_core.http",
    "lattice_rt_core.process", "lattice_rt_core.auth",
)

#: runs ``cli.main(argv)``, then writes its exit status and the modules it loaded
_PROBE = """
import json, sys
from lattice_rt_core import cli
argv, out = json.loads(sys.argv[1]), sys.argv[2]
code = cli.main(argv)
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules
            if any(m == name or m.startswith(name + ".") for name in SERVER_STACK)]


def _probe(argv: list[str], tmp_path: Path, stdin: str = "") -> tuple[int, list[str]]:
    out = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATTICE_RT_")}
    subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv), str(out)], input=stdin,
                   capture_output=True, text=True, env=env, timeout=60, check=False,
                   cwd=tmp_path)  # as from a shell: not the source tree (its egg-info)
    result = json.loads(out.read_text())
    return result["code"], result["modules"]


def test_the_probe_sees_the_server_stack(tmp_path: Path) -> None:
    # serve would load it: the probe and the list can tell
    assert _heavy(["starlette.routing", "lattice_rt_core.engines.redis.store", "redistools",
                   "lattice_rt_core.serverless", "lattice_rt_core.client"]) == [
        "starlette.routing", "lattice_rt_core.engines.redis.store"]


@pytest.mark.parametrize(
    ("argv", "code", "stdin"),
    [
        (["--version"], 0, ""),
        (["publish", "workflow", "workflow_run", "--payload", '{"run_id": "r1"}'], 0, ""),
        (["publish", "--batch", "-"], 0, '{"area": "a", "event_type": "b"}\n'),
        (["feed"], 0, ""),
        (["presence"], 0, ""),
        (["status", "me", "away"], 0, ""),
        (["tail", "--last-event-id", "0", "--count", "1"], 0, ""),
        (["open", "--print-url"], 0, ""),
        (["token"], 0, ""),
        (["user", "list", "--url", "{url}"], 0, ""),
        (["login", "--url", "{url}", "--email", "ada@example.com", "--password-stdin"], 1,
         "secret\n"),
        (["logout", "--url", "{url}"], 0, ""),
    ],
)
def test_a_client_command_loads_no_server_stack(
    tmp_path: Path, server: RealtimeServer, argv: list[str], code: int, stdin: str
) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        client.join(client_id="owner-tab")  # for status me
        client.publish("seed", "one")  # for tail
    argv = [a.replace("{url}", server.url) for a in argv]
    if "--url" in argv:
        argv += ["--token", server.owner_token]
    ran, modules = _probe(["--data-dir", str(server.data_dir), *argv], tmp_path, stdin)
    assert ran == code
    assert _heavy(modules) == []
    if argv[0] not in ("--version", "token", "logout"):  # these send nothing
        assert "lattice_rt_core.net.requests" in modules  # the command did its request
    # every command goes over http.client, the stream and the password sign-in too
    assert "httpx" not in modules
    assert "importlib.metadata" not in modules  # the version is read directly
