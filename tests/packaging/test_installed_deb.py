"""Smoke test of the built .deb on this machine: install, run, remove.

Run by ``make package-test`` (which builds the package and sets LATTICE_RT_DEB);
needs root because it really installs the package with dpkg. The tests share
one installation and run in file order: install, check what was installed,
run the installed server and tray app, then remove and check that nothing is
left behind.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse
from lrt_build import depends, icons
from lrt_build.debian import AUTOSTART_TEMPLATE, PACKAGE, PROXY_EXAMPLES, SERVICE_UNIT, deb_version
from lrt_build.project import CLI_EXE, DESKTOP_ID, INSTALL_PREFIX, TRAY_EXE, load_project

ROOT = Path(__file__).resolve().parents[2]
DEB = Path(os.environ.get("LATTICE_RT_DEB", "/nonexistent.deb"))
#: Where a package may put files, and where dpkg keeps its records of it.
WATCHED = ("/opt", "/usr", "/etc", "/var/lib/dpkg/info", "/var/lib/dpkg/alternatives")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Upper bounds for a program to do something it normally does in about a second.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def _run(*command: str, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=check, **kwargs)


def _snapshot() -> set[str]:
    paths: set[str] = set()
    for top in WATCHED:
        for dirpath, dirnames, filenames in os.walk(top):
            paths.add(dirpath)
            paths.update(os.path.join(dirpath, name) for name in dirnames + filenames)
    return paths


def _dpkg_status() -> str:
    """dpkg's two-letter state of the package ("ii" installed, "rc" config files
    left), or "" when dpkg has no record of it."""
    status = _run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", PACKAGE, check=False)
    state = status.stdout.strip() if status.returncode == 0 else ""
    return "" if state == "un" else state


def _is_installed() -> bool:
    return _dpkg_status().startswith("ii")


def _unowned(paths: set[str]) -> list[str]:
    """The paths no installed package owns (others' concurrent apt runs are not ours)."""
    if not paths:
        return []
    result = _run("dpkg-query", "-S", *sorted(paths), check=False)
    claimed = {line.split(": ", 1)[1] for line in result.stdout.splitlines() if ": " in line}
    return sorted(path for path in paths if path not in claimed)


def _depends_groups(field: str) -> list[list[str]]:
    groups = []
    for group in field.split(","):
        names = [alt.strip().split(" ")[0].split(":")[0] for alt in group.split("|")]
        groups.append([name for name in names if name])
    return groups


def _installed_packages() -> dict[str, tuple[list[list[str]], list[str]]]:
    """package -> (its Depends+Pre-Depends groups, what it Provides), for installed ones."""
    out = _run(
        "dpkg-query", "-W",
        "-f=${Package}\t${db:Status-Abbrev}\t${Depends}, ${Pre-Depends}\t${Provides}\n",
    ).stdout
    packages = {}
    for line in out.splitlines():
        name, status, deps, provides = (line.split("\t") + ["", "", ""])[:4]
        if status.startswith("ii"):
            groups = [g for g in _depends_groups(deps) if g]
            provided = [p.strip().split(" ")[0] for p in provides.split(",") if p.strip()]
            packages[name] = (groups, provided)
    return packages


def _closure(field: str, packages: dict[str, tuple[list[list[str]], list[str]]]) -> set[str]:
    """Every installed package that ``field`` pulls in, directly or through others."""
    providers: dict[str, set[str]] = {}
    for name, (_groups, provided) in packages.items():
        for virtual in provided:
            providers.setdefault(virtual, set()).add(name)
    seen: set[str] = set()
    pending = [g for g in _depends_groups(field) if g]
    while pending:
        for alternative in pending.pop():
            for name in ({alternative} & packages.keys()) | providers.get(alternative, set()):
                if name not in seen:
                    seen.add(name)
                    pending.extend(packages[name][0])
    return seen


@dataclass
class Installed:
    before: set[str]
    depends: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: the system PATH, a temp home, no venv, no display."""
        runtime = self.home / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env = {
            "PATH": SYSTEM_PATH,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_RUNTIME_DIR": str(runtime),
            "LANG": "C.UTF-8",
            "QT_QPA_PLATFORM": "offscreen",
        }
        env.update(extra)
        return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    if os.geteuid() != 0:
        pytest.fail("the package smoke test installs with dpkg: run it as root")
    if not DEB.is_file():
        pytest.fail(f"LATTICE_RT_DEB={DEB} is not a file")
    if _dpkg_status():
        pytest.fail(
            f"dpkg already knows {PACKAGE} ({_dpkg_status()}); purge it first: "
            f"dpkg --purge {PACKAGE}"
        )
    field = _run("dpkg-deb", "--field", str(DEB), "Depends").stdout.strip()
    packages = _installed_packages()
    if any(not _closure(" | ".join(group), packages) for group in _depends_groups(field)):
        # Satisfy Depends before the snapshot, so the snapshot is of the machine
        # the package is installed onto, not of what apt brings in for it.
        _run("apt-get", "satisfy", "-y", "--no-install-recommends", field,
             env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    before = _snapshot()
    try:
        result = _run("dpkg", "-i", str(DEB), check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        home = tmp_path_factory.mktemp("home")
        yield Installed(before=before, depends=field, home=home)
    finally:
        if _dpkg_status():  # a test failed before the removal test, or dpkg -i did
            _run("dpkg", "--purge", PACKAGE, check=False)


def test_installed_version_is_the_pyproject_version(installed: Installed) -> None:
    version = load_project(ROOT).version
    status = _run("dpkg-query", "-W", "-f=${Version}", PACKAGE).stdout
    assert status == deb_version(version)
    for exe in (CLI_EXE, TRAY_EXE):
        answer = _run(exe, "--version", env=installed.env())
        assert answer.stdout.split() == [exe, version]


def test_programs_are_on_the_path_and_files_in_place(installed: Installed) -> None:
    for exe in (TRAY_EXE, CLI_EXE):
        assert shutil.which(exe, path=SYSTEM_PATH) == f"/usr/bin/{exe}"
        assert os.path.realpath(f"/usr/bin/{exe}") == f"{INSTALL_PREFIX}/{exe}"
        assert os.access(f"{INSTALL_PREFIX}/{exe}", os.X_OK)
    desktop = Path(f"/usr/share/applications/{DESKTOP_ID}.desktop")
    _run("desktop-file-validate", str(desktop))
    for size in icons.HICOLOR_SIZES:
        icon = Path(f"/usr/share/icons/hicolor/{size}x{size}/apps/{DESKTOP_ID}.png")
        assert icons.png_size(icon) == (size, size)
    dangling = [
        str(path) for path in Path(INSTALL_PREFIX).rglob("*")
        if path.is_symlink() and not path.exists()
    ]
    assert dangling == []
    assert Path(AUTOSTART_TEMPLATE).is_file()
    assert not Path(f"/etc/xdg/autostart/{DESKTOP_ID}.desktop").exists()


def test_the_bundle_carries_the_licences_the_about_dialog_shows(installed: Installed) -> None:
    from lattice_rt_tray.system.licences import PYTHON_LICENCE_DIR, shipped_distributions

    internal = Path(INSTALL_PREFIX) / "_internal"
    bundled = {_normal(d.name): d for d in metadata.distributions(path=[str(internal)])}
    for dist in shipped_distributions():
        there = bundled.get(_normal(dist.name))
        assert there is not None, f"{dist.name}'s metadata is not in the bundle"
        assert there.version == dist.version
        for name in dist.metadata.get_all("License-File") or ():
            assert there.read_text(f"licenses/{name}") or there.read_text(name), (dist.name, name)
    assert (internal / PYTHON_LICENCE_DIR / "LICENSE.txt").is_file()
    for text in ("LGPL-3.0.txt", "GPL-3.0.txt"):
        assert (internal / "lattice_rt_tray" / "licences" / text).is_file()


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_team_server_unit_is_installed_not_enabled_and_verifies(
    installed: Installed,
) -> None:
    assert Path(SERVICE_UNIT).is_file()
    assert {p.name for p in Path(PROXY_EXAMPLES).iterdir()} == {
        "nginx.conf", "nginx-cluster.conf", "Caddyfile"}
    verify = _run("systemd-analyze", "verify", SERVICE_UNIT, check=False)
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")
    security = _run("systemd-analyze", "security", "--offline=yes", "--threshold=20",
                    SERVICE_UNIT, check=False)
    assert security.returncode == 0, security.stdout[-2000:]
    # installed, not enabled: no [Install] link anywhere under /etc
    assert not list(Path("/etc/systemd").rglob(f"{PACKAGE}.service"))


def test_the_units_command_serves_as_an_unprivileged_user_without_a_home(
    installed: Installed,
) -> None:
    """What the unit runs, as a DynamicUser-like account: no home, umask 077, no privileges.

    (systemd itself does not run in the test container, so the unit's sandbox
    is not applied; ``systemd-analyze`` checks it above.)
    """
    uid = 65534  # nobody: an account that owns nothing else here, like a dynamic user
    state = Path(tempfile.mkdtemp(prefix="lattice-rt-state-"))
    os.chown(state, uid, uid)
    state.chmod(0o700)
    data_dir = state / "lattice-rt"
    env = {"PATH": SYSTEM_PATH, "HOME": "/", "LANG": "C.UTF-8",
           "LATTICE_RT_DATA_DIR": str(data_dir), "LATTICE_RT_SERVE_ARGS": "--port 0"}
    log = installed.home / "unit-server.log"
    try:
        with log.open("w") as output:
            process = subprocess.Popen(
                ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--no-new-privs", "sh", "-c",
                 f"umask 077 && exec /usr/bin/{CLI_EXE} serve $LATTICE_RT_SERVE_ARGS"],
                env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
            )
        try:
            _wait_for_file(data_dir / "server.json", process)
            url = json.loads((data_dir / "server.json").read_text())["url"]
            token = (data_dir / "owner.token").read_text().strip()
            health = httpx.get(f"{url}/realtime/health",
                               headers={"Authorization": f"Bearer {token}"}, timeout=10.0)
            assert health.status_code == 200 and health.json()["user"], log.read_text()
            assert _stop(process) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert data_dir.stat().st_uid == uid and data_dir.stat().st_mode & 0o777 == 0o700
        assert not (data_dir / "server.json").exists()
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_installed_files_match_their_checksums(installed: Installed) -> None:
    result = _run("dpkg", "--verify", PACKAGE, check=False)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_every_linked_library_resolves_through_depends(installed: Installed) -> None:
    report = depends.link_report(Path(INSTALL_PREFIX))
    assert report.missing == {}
    owners = depends.owning_packages(sorted(report.external))
    closure = _closure(installed.depends, _installed_packages())
    outside = {lib: pkg for lib, pkg in owners.items() if pkg not in closure}
    assert outside == {}, "linked libraries from packages not in Depends"


class EventStream:
    """The server's SSE stream read on a thread into a queue, for waiting on events."""

    def __init__(self, url: str, token: str) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(10.0, read=60.0),
        )
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._opened.wait(START_TIMEOUT):
            raise AssertionError("the event stream did not open")

    def _read(self) -> None:
        try:
            with connect_sse(self._client, "GET", "/realtime/stream") as source:
                self._opened.set()
                for sse in source.iter_sse():
                    if sse.event == "message" and sse.data:
                        self.events.put(json.loads(sse.data))
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by close(), or the server stopped

    def wait_for(self, area: str, event_type: str) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            if event.get("area") == area and event.get("event_type") == event_type:
                return event
        raise AssertionError(f"no {area}/{event_type} event within {START_TIMEOUT} s")

    def close(self) -> None:
        self._client.close()
        self._thread.join(STOP_TIMEOUT)


@dataclass
class Server:
    process: subprocess.Popen[str]
    data_dir: Path
    url: str
    token: str
    log: Path


def _wait_for_file(path: Path, process: subprocess.Popen[str]) -> None:
    """Poll for a file the program writes once ready (no cross-process signal exists)."""
    deadline = time.monotonic() + START_TIMEOUT
    while not path.is_file():
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before writing {path}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {START_TIMEOUT} s")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[str]) -> int:
    """SIGTERM, then the exit status; failing if it takes longer than STOP_TIMEOUT."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"did not exit within {STOP_TIMEOUT} s of SIGTERM") from None


@pytest.fixture(scope="module")
def server(installed: Installed) -> Iterator[Server]:
    data_dir = installed.home / "server-data"
    log = installed.home / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [CLI_EXE, "serve", "--port", "0", "--data-dir", str(data_dir)],
            env=installed.env(), stdout=output, stderr=subprocess.STDOUT, text=True,
        )
    try:
        _wait_for_file(data_dir / "server.json", process)
        info = json.loads((data_dir / "server.json").read_text())
        token = (data_dir / "owner.token").read_text().strip()
        yield Server(process=process, data_dir=data_dir, url=info["url"], token=token, log=log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_installed_server_answers_health(installed: Installed, server: Server) -> None:
    response = httpx.get(
        f"{server.url}/realtime/health",
        headers={"Authorization": f"Bearer {server.token}"}, timeout=10.0,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == load_project(ROOT).version
    metrics = httpx.get(f"{server.url}/metrics",
                        headers={"Authorization": f"Bearer {server.token}"}, timeout=10.0)
    assert metrics.status_code == 200  # prometheus-client is in the bundle
    assert "lattice_rt_streams_open" in metrics.text
    _assert_from_depends(installed, _loaded_libraries(server.process.pid))


@pytest.fixture(scope="module")
def events(server: Server) -> Iterator[EventStream]:
    """The server's stream, open until the end (a reader blocked between
    heartbeats cannot be interrupted sooner than the server closing it)."""
    stream = EventStream(server.url, server.token)
    try:
        yield stream
    finally:
        stream.close()


def test_installed_tray_app_joins_presence_and_quits_cleanly(
    installed: Installed, server: Server, events: EventStream
) -> None:
    log = installed.home / "tray.log"
    with log.open("w") as output:
        tray = subprocess.Popen(
            [TRAY_EXE, *tray_arguments(installed, server)],
            env=installed.env(), stdout=output, stderr=subprocess.STDOUT, text=True,
        )
    try:
        try:
            joined = events.wait_for("presence", "join")
        except AssertionError:
            raise AssertionError(f"tray app did not join:\n{log.read_text()}") from None
        client_id = joined["payload"]["client_id"]
        assert joined["payload"].get("display_name") == DISPLAY_NAME
        present = httpx.get(
            f"{server.url}/realtime/presence",
            headers={"Authorization": f"Bearer {server.token}"}, timeout=10.0,
        ).json()["presence"]
        assert client_id in [entry["client_id"] for entry in present]

        libraries = _loaded_libraries(tray.pid)
        code = _stop(tray)
        assert code == 0, log.read_text()
        left = events.wait_for("presence", "leave")
        assert left["payload"]["client_id"] == client_id
        assert left["payload"]["reason"] == "left"  # it said goodbye, it did not time out
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.wait()
    _assert_from_depends(installed, libraries)


def _assert_from_depends(installed: Installed, libraries: set[str]) -> None:
    """Every library a running program loaded belongs to a package Depends pulls in."""
    assert libraries, "no shared libraries seen: /proc/<pid>/maps was not read"
    owners = depends.owning_packages(sorted(libraries))
    closure = _closure(installed.depends, _installed_packages())
    outside = {lib: pkg for lib, pkg in owners.items() if pkg not in closure}
    assert outside == {}, "a running program loaded libraries from packages not in Depends"


DISPLAY_NAME = "package smoke test"


def tray_arguments(installed: Installed, server: Server) -> list[str]:
    """Point the installed tray app at the test server through a settings file."""
    settings = installed.home / "tray-settings.ini"
    settings.write_text(
        "[server]\n"
        "mode=remote\n"
        f"url={server.url}\n"
        f"token={server.token}\n"
        "[presence]\n"
        f"display_name={DISPLAY_NAME}\n"
    )
    return ["--settings", str(settings), "--data-dir", str(installed.home / "tray-data")]


def _loaded_libraries(pid: int) -> set[str]:
    """Shared libraries the process has mapped from outside the bundle."""
    libraries = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and ".so" in parts[5] and parts[5].startswith("/"):
            path = parts[5].removesuffix(" (deleted)")
            if not path.startswith(INSTALL_PREFIX + "/"):
                libraries.add(path)
    return libraries


def test_installed_server_stops_cleanly_on_sigterm(server: Server) -> None:
    code = _stop(server.process)
    assert code == 0, server.log.read_text()
    assert not (server.data_dir / "server.json").exists()


def test_removal_leaves_nothing_behind_but_user_data(installed: Installed) -> None:
    result = _run("dpkg", "-r", PACKAGE, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not _is_installed()
    after = _snapshot()
    assert _unowned(after - installed.before) == []
    assert sorted(installed.before - after) == []
    # No conffiles and no postrm: dpkg keeps no record of it ("rc") after dpkg -r.
    assert _dpkg_status() == ""
    assert (installed.home / "server-data" / "owner.token").is_file()  # user data stays
