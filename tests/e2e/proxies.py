"""Real reverse proxies (nginx, Caddy) on loopback, configured from the shipped files.

The configurations under ``packaging/proxy/`` are what an admin installs; the
tests run them, changed only where a test must differ: loopback ports instead
of 443/80/8765, the test's certificate instead of the admin's, the test's host
name. Every change is an exact replacement of text the shipped file must
contain, so a file that drifts fails here instead of being tested half.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import TlsFiles

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "packaging" / "proxy"
NAME = "team.lattice.test"  # in the test certificate (tests/conftest.py TLS_NAMES)
WAIT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def replace_all(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the shipped configuration no longer contains {old!r}"
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class Ports:
    https: int  # the proxy's TLS port (443 in the shipped files)
    http: int  # its plain port (80): redirects only
    upstream: int  # lattice-rt serve (8765)


def nginx_conf(directory: Path, ports: Ports, tls: TlsFiles) -> Path:
    """A complete nginx.conf around the shipped site file (which nginx includes)."""
    site = replace_all((SHIPPED / "nginx.conf").read_text(), {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{ports.https} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "listen 80;": f"listen 127.0.0.1:{ports.http};",
        "listen [::]:80;": "",
        "server 127.0.0.1:8765;": f"server 127.0.0.1:{ports.upstream};",
        "server_name team.example.lan;": f"server_name {NAME} localhost;",
        "/etc/ssl/lattice-rt/fullchain.pem": str(tls.cert),
        "/etc/ssl/lattice-rt/privkey.pem": str(tls.key),
    })
    (directory / "site.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {directory / 'temp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = directory / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} info;\n"
        "worker_processes 1;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    access_log {directory / 'access.log'};\n"
        f"{temp}\n"
        f"    include {directory / 'site.conf'};\n"
        "}\n"
    )
    (directory / "temp").mkdir()
    return conf


def caddyfile(directory: Path, ports: Ports, tls: TlsFiles) -> Path:
    """The shipped Caddyfile with the test's certificate, ports and name."""
    site = replace_all((SHIPPED / "Caddyfile").read_text(), {
        "team.example.lan {":
            f"{NAME}:{ports.https}, localhost:{ports.https} {{\n    bind 127.0.0.1",
        "    # tls /etc/ssl/lattice-rt/fullchain.pem /etc/ssl/lattice-rt/privkey.pem":
            f"    tls {tls.cert} {tls.key}",
        "reverse_proxy 127.0.0.1:8765 {": f"reverse_proxy 127.0.0.1:{ports.upstream} {{",
    })
    # global options only a test needs: no admin API, no ACME, loopback and TCP only
    path = directory / "Caddyfile"
    path.write_text(
        "{\n"
        "    admin off\n"
        "    auto_https disable_redirects\n"
        f"    http_port {ports.http}\n"
        f"    https_port {ports.https}\n"
        f"    storage file_system {directory / 'storage'}\n"
        "    servers {\n        protocols h1 h2\n    }\n"
        "}\n\n" + site
    )
    return path


class ProxyProcess:
    """nginx or caddy in the foreground, its output in a file; stopped by :meth:`close`."""

    def __init__(self, kind: str, directory: Path, ports: Ports, tls: TlsFiles) -> None:
        self.kind = kind
        self.log = directory / f"{kind}.out"
        env = {**os.environ, "HOME": str(directory), "XDG_DATA_HOME": str(directory / "data"),
               "XDG_CONFIG_HOME": str(directory / "config")}
        if kind == "nginx":
            conf = nginx_conf(directory, ports, tls)
            check = subprocess.run([nginx_path(), "-t", "-p", str(directory), "-c", str(conf),
                                    "-e", str(directory / "error.log")],
                                   capture_output=True, text=True, check=False)
            assert check.returncode == 0, check.stderr
            command = [nginx_path(), "-p", str(directory), "-c", str(conf),
                       "-e", str(directory / "error.log"), "-g", "daemon off;"]
        else:
            conf = caddyfile(directory, ports, tls)
            command = [caddy_path(), "run", "--config", str(conf), "--adapter", "caddyfile"]
        with self.log.open("w") as out:
            self.popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                          env=env, cwd=directory, start_new_session=True)
        self._wait_listening(ports.https)

    def _wait_listening(self, port: int) -> None:
        deadline = time.monotonic() + WAIT
        while True:  # no readiness signal from either: poll the port (a condition)
            assert self.popen.poll() is None, self.output()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                return
            except OSError:
                assert time.monotonic() < deadline, f"{self.kind} did not listen: {self.output()}"
                time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


def nginx_path() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def caddy_path() -> str:
    return shutil.which("caddy") or "/usr/bin/caddy"
