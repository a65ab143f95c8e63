"""The client goes through the environment's HTTP proxy, as curl and httpx do: a real
tinyproxy on loopback, forwarding plain requests and tunnelling TLS (``CONNECT``) to a
real server on this machine's own non-loopback address (loopback is never proxied).
"""

from __future__ import annotations

import queue
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.api import ApiError, ClientState
from lattice_rt_core.net.proxy import Proxy, ProxyError, proxy_for
from lattice_rt_core.server import RealtimeServer, ServerConfig

WAIT = 20.0
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


# ------------------------------------------------------------------ the rules
@pytest.mark.parametrize(("url", "env", "expected"), [
    ("http://team.example:8765", {"http_proxy": "http://p:3128"}, ("p", 3128)),
    ("http://team.example:8765", {"HTTP_PROXY": "p:3128"}, ("p", 3128)),
    ("http://team.example:8765", {"http_proxy": "http://a:1", "HTTP_PROXY": "http://b:2"},
     ("a", 1)),
    ("https://team.example", {"https_proxy": "http://p"}, ("p", 80)),
    ("https://team.example", {"http_proxy": "http://p:3128"}, None),  # not for https
    ("https://team.example", {"ALL_PROXY": "http://p:9"}, ("p", 9)),
    ("http://[2001:db8::1]:8765", {"http_proxy": "http://[2001:db8::9]:3128"},
     ("2001:db8::9", 3128)),
])
def test_the_proxy_for_a_url(url: str, env: dict[str, str], expected: Any) -> None:
    proxy = proxy_for(url, env)
    assert (None if proxy is None else (proxy.host, proxy.port)) == expected


@pytest.mark.parametrize("url", [
    "http://localhost:8765", "http://127.0.0.1:8765", "http://127.3.4.5:1", "http://[::1]:8765",
    "https://team.example", "https://a.team.example", "http://10.1.2.3:8765",
    "https://other.example:8443",
])
def test_loopback_and_what_no_proxy_names_go_direct(url: str) -> None:
    env = {"all_proxy": "http://p:3128",
           "no_proxy": ".team.example, 10.0.0.0/8,other.example:8443"}
    assert proxy_for(url, env) is None
    assert proxy_for("https://other.example:443", env) is not None  # another port
    assert proxy_for("http://x.example", {**env, "NO_PROXY": "*", "no_proxy": ""}) is None


def test_the_proxys_credentials_and_what_cannot_be_used(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = proxy_for("http://team.example", {"http_proxy": "http://ada:p%40ss@p:3128"})
    assert proxy == Proxy("p", 3128, {"Proxy-Authorization": "Basic YWRhOnBAc3M="})
    assert proxy.url == "http://p:3128"
    with pytest.raises(ProxyError, match=r"^https_proxy=socks5://p:1080: only http:// "
                                         r"proxies are supported, not socks5://$"):
        proxy_for("https://team.example", {"https_proxy": "socks5://p:1080"})
    _clear(monkeypatch)
    monkeypatch.setenv("http_proxy", "socks5://p:1080")
    with pytest.raises(ApiError, match="only http:// proxies are supported"):
        RealtimeClient("http://team.example")  # never a silent direct connection


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


# ------------------------------------------------------------ a real proxy
def _own_address() -> str:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            pytest.skip("no network interface besides loopback to reach through a proxy")
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("no network interface besides loopback to reach through a proxy")
    return address


@dataclass
class TinyProxy:
    url: str
    log: Path

    def requests(self) -> list[str]:
        """The request lines it logged (``GET http://...``, ``CONNECT host:port``)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line.split("): ", 1)[1].rsplit(" HTTP/", 1)[0]
                for line in text.splitlines() if "]: Request (file descriptor" in line]


@pytest.fixture
def tinyproxy() -> Iterator[TinyProxy]:
    binary = shutil.which("tinyproxy")
    assert binary, "tinyproxy is missing: scripts/sysdeps.sh test installs it"
    # it writes its log as nobody when started as root: a folder nobody can reach
    directory = Path(tempfile.mkdtemp(prefix="lattice-tinyproxy-"))
    directory.chmod(0o777)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = directory / "tinyproxy.conf"
    conf.write_text(f'Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 600\n'
                    f'User nobody\nGroup nogroup\nLogLevel Info\n'
                    f'LogFile "{directory / "log"}"\nPidFile "{directory / "pid"}"\n')
    proc = subprocess.Popen([binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WAIT
        while True:  # until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, "tinyproxy exited"
                assert time.monotonic() < deadline, "tinyproxy does not listen"
                time.sleep(0.02)
        yield TinyProxy(f"http://127.0.0.1:{port}", directory / "log")
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def proxied_env(monkeypatch: pytest.MonkeyPatch, tinyproxy: TinyProxy) -> TinyProxy:
    _clear(monkeypatch)
    monkeypatch.setenv("http_proxy", tinyproxy.url)
    monkeypatch.setenv("HTTPS_PROXY", tinyproxy.url)
    return tinyproxy


def _serve(data_dir: Path, address: str, **tls: Any) -> RealtimeServer:
    server = RealtimeServer(ServerConfig(host=address, port=0, data_dir=data_dir,
                                         owner_user="owner", allowed_hosts=(address,), **tls))
    server.start()
    return server


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_requests_and_the_stream_go_through_the_proxy(
    scheme: str, proxied_env: TinyProxy, tmp_path: Path
) -> None:
    address = _own_address()
    tls: dict[str, Any] = {}
    ca_file = None
    if scheme == "https":
        ca = trustme.CA()
        issued = ca.issue_cert(address)
        ca_file, cert, key = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        issued.private_key_pem.write_to_path(str(key))
        cert.write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
        tls = {"tls_cert": cert, "tls_key": key}
    server = _serve(tmp_path / "data", address, **tls)
    try:
        assert server.url == f"{scheme}://{address}:{server.port}"
        events: queue.Queue[dict[str, Any]] = queue.Queue()
        connected: queue.Queue[str] = queue.Queue()
        with RealtimeClient(server.url, server.owner_token, ca_file=ca_file,
                            on_event=events.put,
                            on_state=lambda state, detail: state is ClientState.CONNECTED
                            and connected.put(detail)) as client:
            assert client.health()["status"] == "ok"
            client.start()
            connected.get(timeout=WAIT)
            published = client.publish("workflow", "workflow_run", {"run_id": "r1"})
            assert events.get(timeout=WAIT)["seq"] == published["seq"]
        seen = proxied_env.requests()
        origin = f"{address}:{server.port}"
        if scheme == "http":  # each request forwarded, whole URLs
            assert f"GET http://{origin}/realtime/health" in seen
            assert any(line.startswith(f"GET http://{origin}/realtime/stream") for line in seen)
            assert f"POST http://{origin}/realtime/events" in seen
        else:  # each connection a tunnel: the proxy sees where, never what
            assert seen and set(seen) == {f"CONNECT {origin}"}
    finally:
        server.stop()


def test_loopback_goes_direct_and_a_dead_proxy_is_named(
    proxied_env: TinyProxy, server: RealtimeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        assert client.health()["status"] == "ok"
    assert proxied_env.requests() == []  # the owner's token never reaches a proxy
    address = _own_address()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("http_proxy", dead)
    with RealtimeClient(f"http://{address}:8765") as client, pytest.raises(ApiError) as caught:
        client.health()
    assert str(caught.value) == (f"cannot connect to http://{address}:8765 (connection refused) "
                                 f"through the proxy {dead}")
