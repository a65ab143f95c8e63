"""The real Lattice AI server (PyPI's ``ltcai``), each release in a venv of its own.

``python -m tests.lattice_ai.server install 2.0.0 11.5.2`` builds the venvs
(``make test`` runs it before pytest, so no test waits for pip); the tests
start servers with :class:`LatticeServer` on a free loopback port, with HOME
and the data directory in a temporary folder, and drive them through the
server's own API, as a user's browser would.

What a release needs, measured: ``ltcai`` without its dependencies (it pins
dozens the realtime routes never touch) plus ``fastapi uvicorn python-multipart
pillow httpx`` (and ``cryptography`` from 8.0). The 2.0.0 wheel imports a
top-level ``setup`` module it does not ship; its sdist's ``setup.py`` is put on
``PYTHONPATH``. Wheels are kept in the cache, so a rebuilt venv needs no network.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

__all__ = ["VERSIONS", "LatticeServer", "ensure_venv", "venv_ready"]

#: the first and the last release with realtime on PyPI (the range the app supports)
VERSIONS = ("2.0.0", "11.5.2")
CACHE_ENV = "LATTICE_RT_TEST_CACHE"
_DEPENDENCIES = ("fastapi", "uvicorn", "python-multipart", "pillow>=10,<13", "httpx")
_CRYPTOGRAPHY = "cryptography>=42,<49"
_READY_TIMEOUT = 90.0


def cache_root() -> Path:
    given = os.environ.get(CACHE_ENV)
    return Path(given) if given else Path.home() / ".cache" / "lattice-rt-tests" / "ltcai"


def _venv(version: str) -> Path:
    return cache_root() / version


def venv_ready(version: str) -> bool:
    return (_venv(version) / ".ready").exists()


def _pip(python: Path, *args: str, quiet: bool = False) -> None:
    """pip in ``python``'s venv; ``quiet``: its complaints are not shown (a first try)."""
    subprocess.run([str(python), "-m", "pip", "-q", "--disable-pip-version-check", *args,
                    *(("--no-warn-conflicts",) if args[0] == "install" else ())],
                   check=True, timeout=900,
                   stderr=subprocess.DEVNULL if quiet else None)


def ensure_venv(version: str) -> Path:
    """The venv of ``version``, built once (locked against a second builder)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = _venv(version)
    with open(root / f".{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if venv_ready(version):
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # half built: start again
        wheels = root / "wheels"
        wheels.mkdir(exist_ok=True)
        requirements = [*_DEPENDENCIES]
        if int(version.split(".")[0]) >= 8:
            requirements.append(_CRYPTOGRAPHY)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        python = venv / "bin" / "python"
        local = ("--no-index", "--find-links", str(wheels))
        try:  # offline first: the wheels of an earlier build
            _pip(python, "install", *local, "--no-deps", f"ltcai=={version}", quiet=True)
            _pip(python, "install", *local, *requirements, quiet=True)
        except subprocess.CalledProcessError:  # not all there yet: fetch them
            _pip(python, "download", "-d", str(wheels), "--no-deps", f"ltcai=={version}")
            _pip(python, "download", "-d", str(wheels), *requirements)
            _pip(python, "install", *local, "--no-deps", f"ltcai=={version}")
            _pip(python, "install", *local, *requirements)
        if version == "2.0.0":
            _sdist_setup(python, venv, wheels, version)
        (venv / ".ready").write_text(version)
    return venv


def _sdist_setup(python: Path, venv: Path, wheels: Path, version: str) -> None:
    """The top-level ``setup.py`` of the sdist, alone in a folder for ``PYTHONPATH``."""
    sdist = wheels / f"ltcai-{version}.tar.gz"
    if not sdist.exists():
        _pip(python, "download", "-d", str(wheels), "--no-deps", "--no-binary", ":all:",
             f"ltcai=={version}")
    target = venv / "setup-module"
    target.mkdir(exist_ok=True)
    with tarfile.open(sdist) as archive:
        member = archive.getmember(f"ltcai-{version}/setup.py")
        source = archive.extractfile(member)
        assert source is not None
        (target / "setup.py").write_bytes(source.read())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LatticeServer:
    """One Lattice AI server (``LTCAI``), started in ``folder``; a context manager.

    ``auth`` starts it with ``LATTICEAI_REQUIRE_AUTH=true``: every request then
    needs a session (:meth:`register`, :meth:`login`). Each account action sends a
    fresh ``X-Forwarded-For`` (the server trusts loopback as a proxy here), since
    the server allows 5 registrations an hour and 10 logins per 5 minutes per
    address.
    """

    def __init__(self, version: str, folder: Path, *, auth: bool = False) -> None:
        self.version = version
        self.folder = folder
        self.auth = auth
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = folder / "ltcai.log"

    # ---------------------------------------------------------------- process
    def start(self) -> LatticeServer:
        venv = ensure_venv(self.version)
        home, data = self.folder / "home", self.folder / "data"
        home.mkdir(parents=True, exist_ok=True)
        data.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LATTICE", "PYTHON"))}
        env.update(HOME=str(home), LATTICEAI_DATA_DIR=str(data), LATTICEAI_PORT=str(self.port),
                   LATTICEAI_ENABLE_TELEGRAM="0", LATTICEAI_TRUSTED_PROXIES="127.0.0.1",
                   PYTHONUNBUFFERED="1")
        if self.auth:
            env["LATTICEAI_REQUIRE_AUTH"] = "true"
        setup = venv / "setup-module"
        if setup.exists():
            env["PYTHONPATH"] = str(setup)
        log = open(self._log, "ab")  # noqa: SIM115 - the child writes it for its life
        self.proc = subprocess.Popen(
            [str(venv / "bin" / "LTCAI"), "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Its feed answers (``/health`` probes a model server: slow, and not ours to ask)."""
        deadline = time.monotonic() + _READY_TIMEOUT
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"ltcai {self.version} exited {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                answer = httpx.get(f"{self.url}/realtime/feed", params={"limit": 1}, timeout=2)
                if answer.status_code in (200, 401):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"ltcai {self.version} did not answer in time:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.2)  # polling another process: nothing to wait on

    def stop(self) -> None:
        """SIGINT (SIGTERM hangs while a stream is open), then SIGKILL after 3 s."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def restart(self) -> None:
        """Stop and start again on the same port and data (its seq starts at 1 again)."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> LatticeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- the API
    def call(self, method: str, path: str, token: str | None = None,
             body: Any = None, **params: Any) -> Any:
        headers = {"X-Forwarded-For": f"10.{uuid.uuid4().int % 250}.{os.getpid() % 250}.7"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        answer = httpx.request(method, self.url + path, json=body, params=params or None,
                               headers=headers, timeout=30)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def register(self, email: str, password: str) -> None:
        self.call("POST", "/register", body={"email": email, "password": password,
                                             "name": email.split("@")[0],
                                             "nickname": email.split("@")[0]})

    def login(self, email: str, password: str) -> str:
        answer = httpx.post(self.url + "/login", json={"email": email, "password": password},
                            headers={"X-Forwarded-For": f"10.9.{uuid.uuid4().int % 250}.1"},
                            timeout=30)
        answer.raise_for_status()
        token = answer.cookies.get("session_token")
        assert token, answer.headers
        return token

    def create_workflow(self, name: str, token: str | None = None) -> str:
        answer = self.call("POST", "/workflows/api/definitions", token,
                           body={"name": name, "nodes": []})
        return str(answer["workflow"]["id"])

    def run_workflow(self, workflow_id: str, token: str | None = None) -> None:
        self.call("POST", f"/workflows/api/definitions/{workflow_id}/run", token, body={})

    def create_org(self, name: str, token: str | None = None) -> str:
        answer = self.call("POST", "/workspace/orgs", token, body={"name": name})
        return str(answer["workspace"]["workspace_id"])

    def join(self, client_id: str, token: str | None = None,
             workspace_id: str | None = None) -> dict[str, Any]:
        body = {"client_id": client_id}
        if workspace_id is not None:
            body["workspace_id"] = workspace_id
        answer: dict[str, Any] = self.call("POST", "/realtime/presence/join", token, body=body)
        return answer

    def leave(self, client_id: str, token: str | None = None) -> None:
        self.call("POST", "/realtime/presence/leave", token, body={"client_id": client_id})

    def feed(self, token: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.call("GET", "/realtime/feed", token,
                                                  limit=limit)["events"]
        return events

    def presence(self, token: str | None = None) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.call("GET", "/realtime/presence", token)["presence"]
        return entries

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll the server until ``predicate`` holds (it is another process)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout:g} s; server log:\n{self.log_tail()}")
            time.sleep(0.1)


@contextlib.contextmanager
def running(version: str, folder: Path, *, auth: bool = False) -> Iterator[LatticeServer]:
    with LatticeServer(version, folder, auth=auth) as server:
        yield server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lattice_ai.server")
    sub = parser.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install", help="build the venvs of these releases (cached)")
    install.add_argument("versions", nargs="*", default=list(VERSIONS))
    args = parser.parse_args(argv)
    for version in args.versions:
        started = time.monotonic()
        venv = ensure_venv(version)
        print(f"ltcai {version}: {venv} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
