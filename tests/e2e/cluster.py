"""A real cluster on loopback: redis-server, N ``lattice-rt serve --redis`` nodes, nginx.

nginx runs the shipped ``packaging/proxy/nginx-cluster.conf``, changed only
where a test must differ: plain HTTP on a loopback port instead of TLS on
443, the test's node ports. Every change is an exact replacement of text the
shipped file must contain, so a file that drifts fails here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.servers import free_port
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "packaging" / "proxy" / "nginx-cluster.conf"
WAIT = 30.0


class Node:
    """One ``lattice-rt serve --redis URL`` process on a fixed port."""

    def __init__(self, redis: RedisServer, port: int, proxy_port: int, data_dir: Path,
                 heartbeat: float, presence_ttl: float) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.command = [
            sys.executable, "-m", "lattice_rt_core.cli", "serve", "--redis", redis.url,
            "--port", str(port), "--data-dir", str(data_dir), "--heartbeat", str(heartbeat),
            "--presence-ttl", str(presence_ttl), "--allow-host", f"127.0.0.1:{proxy_port}",
        ]
        self.log = data_dir.with_suffix(".log")
        self.popen: subprocess.Popen[str] | None = None

    def start(self) -> Node:
        with self.log.open("a") as err:
            self.popen = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=err,
                                          text=True)
        assert self.popen.stdout is not None
        banner = self.popen.stdout.readline()
        assert " serving http://" in banner, (banner, self.log.read_text())
        return self

    def kill(self) -> None:
        """kill -9: no clean stop, no presence leave, streams cut mid-write."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(WAIT)
        if self.popen.stdout is not None:
            self.popen.stdout.close()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self.popen is not None and self.popen.stdout is not None:
            self.popen.stdout.close()

    def stats(self, token: str) -> dict[str, object]:
        body = httpx.get(self.url + "/realtime/health",
                         headers={"Authorization": f"Bearer {token}"}, timeout=WAIT).json()
        stats: dict[str, object] = body["stats"]
        return stats


def nginx_conf(directory: Path, proxy_port: int, node_ports: list[int]) -> Path:
    """A complete nginx.conf around the shipped cluster site (plain HTTP, loopback)."""
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;"
                        for p in node_ports)
    site = SHIPPED.read_text()
    for old, new in {
        "    server 127.0.0.1:8765 max_fails=1 fail_timeout=5s;\n"
        "    server 127.0.0.1:8766 max_fails=1 fail_timeout=5s;\n"
        "    server 127.0.0.1:8767 max_fails=1 fail_timeout=5s;": servers,
        "listen 443 ssl http2;": f"listen 127.0.0.1:{proxy_port};",
        "listen [::]:443 ssl http2;": "",
        "    ssl_certificate     /etc/ssl/lattice-rt/fullchain.pem;\n": "",
        "    ssl_certificate_key /etc/ssl/lattice-rt/privkey.pem;\n": "",
        "    ssl_protocols TLSv1.2 TLSv1.3;\n": "",
        "listen 80;": f"listen 127.0.0.1:{free_port()};",
        "listen [::]:80;": "",
        "server_name team.example.lan;": "server_name 127.0.0.1 localhost;",
    }.items():
        assert old in site, f"the shipped configuration no longer contains {old!r}"
        site = site.replace(old, new)
    (directory / "site.conf").write_text(site)
    temp = "\n".join(f"    {kind}_temp_path {directory / 'temp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (directory / "temp").mkdir(exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} info;\n"
        "worker_processes 1;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    access_log {directory / 'access.log'};\n"
        f"{temp}\n"
        f"    include {directory / 'site.conf'};\n"
        "}\n"
    )
    return conf


class Nginx:
    """nginx in the foreground with the cluster configuration."""

    def __init__(self, directory: Path, port: int, node_ports: list[int]) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = nginx_conf(directory, port, node_ports)
        base = [binary, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
        check = subprocess.run([*base, "-t"], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr
        self.popen = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + WAIT
        while True:  # nginx has no readiness signal: the port answering is the condition
            assert self.popen.poll() is None, (directory / "error.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.05)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


class Cluster:
    """Redis, ``count`` nodes and nginx in front; :meth:`close` stops them all."""

    def __init__(self, directory: Path, count: int = 3, *, heartbeat: float = 1.0,
                 presence_ttl: float = 45.0) -> None:
        self.redis = RedisServer(directory / "redis").start()
        self.proxy_port = free_port()
        self.nodes = [
            Node(self.redis, free_port(), self.proxy_port, directory / f"node{i}", heartbeat,
                 presence_ttl)
            for i in range(count)
        ]
        for node in self.nodes:
            node.start()
        self.nginx = Nginx(directory, self.proxy_port, [n.port for n in self.nodes])
        self.url = self.nginx.url
        from lattice_rt_core.engines.redis.engine import read_owner_token
        from lattice_rt_core.engines.redis.store import RedisKeys

        token = read_owner_token(self.redis.url, RedisKeys())
        assert token is not None
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        self.nginx.close()
        for node in self.nodes:
            node.stop()
        self.redis.stop()
