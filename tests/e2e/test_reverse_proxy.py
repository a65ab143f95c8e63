"""The shipped nginx and Caddy configurations, run for real in front of ``lattice-rt serve``.

For each proxy (one module-wide setup: a serve process and the proxy on
loopback ports, TLS with the test CA): the stream through the proxy delivers
at once (no buffering) and its heartbeats pass, resume by ``Last-Event-ID``
replays exactly what was missed, presence works, the Host the proxy forwards
is accepted because of ``--allow-host`` (and nothing else is), and the
``X-Forwarded-Proto`` it sets is believed because of ``--trust-proxy``.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.api import ClientState
from lattice_rt_core.paths import read_owner_token
from tests.conftest import TlsFiles
from tests.e2e.chromium_tls import trust_flags
from tests.e2e.proxies import NAME, SHIPPED, Ports, ProxyProcess, caddy_path, free_port, nginx_path
from tests.e2e.test_activity_browser import Browser, chromium_path, text_of
from tests.hardening.helpers import ServeProcess

WAIT = 30.0


@dataclass
class Proxied:
    kind: str
    url: str  # through the proxy, by a name the certificate holds
    token: str
    ca: Path
    ports: Ports
    serve: ServeProcess
    proxy: ProxyProcess


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def proxied(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles
) -> Iterator[Proxied]:
    kind = str(request.param)
    if shutil.which(nginx_path() if kind == "nginx" else caddy_path()) is None:
        pytest.skip(f"{kind} is not installed (scripts/sysdeps.sh test installs it)")
    directory = tmp_path_factory.mktemp(kind)
    https, http = free_port(), free_port()
    serve = ServeProcess(
        "--port", "0", "--data-dir", str(directory / "data"), "--heartbeat", "1",
        "--allow-host", f"{NAME}:{https}", "--allow-host", f"localhost:{https}",
        "--trust-proxy", "127.0.0.1",
    )
    try:
        upstream = int(serve.url().rsplit(":", 1)[1])
        ports = Ports(https=https, http=http, upstream=upstream)
        proxy = ProxyProcess(kind, directory, ports, tls_files)
        token = read_owner_token(directory / "data")
        assert token is not None
        try:
            yield Proxied(kind, f"https://localhost:{https}", token, tls_files.ca, ports,
                          serve, proxy)
        finally:
            proxy.close()
    finally:
        serve.close()


def _client(proxied: Proxied, **kwargs: Any) -> RealtimeClient:
    return RealtimeClient(proxied.url, proxied.token, ca_file=proxied.ca, **kwargs)


def test_the_stream_delivers_through_the_proxy_at_once(proxied: Proxied) -> None:
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    connected: queue.Queue[str] = queue.Queue()
    stream = _client(
        proxied, on_event=events.put,
        on_state=lambda state, detail: state is ClientState.CONNECTED and connected.put(detail),
    )
    with stream, _client(proxied) as publisher:
        stream.start()
        connected.get(timeout=WAIT)
        for n in range(3):  # one at a time: a buffering proxy would hold each one back
            published = publisher.publish("workflow", "workflow_run", {"n": n},
                                          workspace_id="ws")
            assert events.get(timeout=WAIT) == published


def test_heartbeats_pass_through_the_proxy(proxied: Proxied) -> None:
    headers = {"Authorization": f"Bearer {proxied.token}"}
    with httpx.Client(verify=_verify(proxied), timeout=WAIT) as http:
        with http.stream("GET", proxied.url + "/realtime/stream",
                         params={"last_event_id": "999999999"}, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line == ": heartbeat":  # serve --heartbeat 1: the first comes within 1 s
                    break


def test_resume_by_last_event_id_through_the_proxy(proxied: Proxied) -> None:
    with _client(proxied) as publisher:
        first, *rest = publisher.publish_many(
            [{"event_type": f"resume_{n}", "workspace_id": "ws"} for n in range(3)]
        )
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    with _client(proxied, last_event_id=first["seq"], on_event=events.put) as stream:
        stream.start()
        assert [events.get(timeout=WAIT) for _ in rest] == rest
        assert stream.last_event_id == rest[-1]["seq"]


def test_presence_through_the_proxy(proxied: Proxied) -> None:
    client_id = f"{proxied.kind}-desk"
    with _client(proxied) as client:
        entry = client.join(workspace_id="ws", client_id=client_id, display_name="Ada")
        assert entry["client_id"] == client_id
        present = {e["client_id"]: e for e in client.presence()["presence"]}
        assert present[client_id]["display_name"] == "Ada"
        client.leave(client_id)
        assert client_id not in {e["client_id"] for e in client.presence()["presence"]}


def test_forwarded_proto_is_believed_from_the_trusted_proxy(proxied: Proxied) -> None:
    with _client(proxied) as client:
        url = client.launch_url()
    # the server itself speaks plain http; the link says what the browser must use
    assert url.startswith(f"https://localhost:{proxied.ports.https}/activity?code=")


def test_the_proxy_forwards_the_host_the_client_asked_for(proxied: Proxied) -> None:
    """A team name (in the certificate and in --allow-host) reaches the server unchanged."""
    answer = _launch(proxied, f"{NAME}:{proxied.ports.https}", sni=NAME)
    assert answer.status_code == 200, answer.text
    assert answer.json()["url"].startswith(f"https://{NAME}:{proxied.ports.https}/activity?")


def test_a_host_the_server_was_not_told_about_is_refused(proxied: Proxied) -> None:
    if proxied.kind == "caddy":
        pytest.skip("Caddy answers a Host none of its sites has itself, without the server")
    answer = _launch(proxied, f"other.test:{proxied.ports.https}", sni="localhost")
    assert (answer.status_code, answer.json()) == (403, {"error": "forbidden host"})


def _launch(proxied: Proxied, host: str, sni: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {proxied.token}", "Host": host}
    with httpx.Client(verify=_verify(proxied), timeout=WAIT) as http:
        return http.post(proxied.url + "/realtime/launch", headers=headers,
                         extensions={"sni_hostname": sni})


def test_plain_http_to_the_proxy_redirects_to_https(proxied: Proxied) -> None:
    if proxied.kind == "caddy":
        pytest.skip("Caddy's own redirect listens on port 80 (disabled for the test)")
    response = httpx.get(f"http://localhost:{proxied.ports.http}/activity", timeout=WAIT)
    assert response.status_code == 301
    assert response.headers["location"] == "https://localhost/activity"


def _verify(proxied: Proxied) -> Any:
    from lattice_rt_core.net.tls import client_context

    return client_context(proxied.ca)


def test_the_shipped_caddyfile_validates_as_shipped(tmp_path: Path) -> None:
    """``caddy validate`` and ``caddy adapt`` on the file exactly as shipped."""
    if shutil.which(caddy_path()) is None:
        pytest.skip("caddy is not installed (scripts/sysdeps.sh test installs it)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    shipped = str(SHIPPED / "Caddyfile")
    checked = subprocess.run([caddy_path(), "validate", "--config", shipped, "--adapter",
                              "caddyfile"], capture_output=True, text=True, env=env, check=False)
    assert checked.returncode == 0 and "Valid configuration" in checked.stdout + checked.stderr
    adapted = subprocess.run([caddy_path(), "adapt", "--config", shipped, "--adapter",
                              "caddyfile"], capture_output=True, text=True, env=env, check=True)
    server = json.loads(adapted.stdout)["apps"]["http"]["servers"]["srv0"]
    handlers = server["routes"][0]["handle"][0]["routes"][0]["handle"]
    proxy = next(h for h in handlers if h["handler"] == "reverse_proxy")
    assert proxy["flush_interval"] == -1 and proxy["upstreams"] == [{"dial": "127.0.0.1:8765"}]
    body = next(h for h in handlers if h["handler"] == "request_body")
    assert body["max_size"] == 1024 * 1024  # the server's own limit


@pytest.mark.browser
def test_the_activity_page_through_the_proxy(
    proxied: Proxied, tmp_path: Path, tls_files: TlsFiles
) -> None:
    """Chromium at https://team.lattice.test:<port>: Origin https://, Host as typed."""
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (scripts/sysdeps.sh test installs it)")
    base = f"https://{NAME}:{proxied.ports.https}"
    chrome = Browser(tmp_path / "profile", flags=trust_flags(tls_files, NAME))
    page = chrome.page()
    try:
        with _client(proxied) as client:
            answer = _launch(proxied, f"{NAME}:{proxied.ports.https}", sni=NAME)
            page.navigate(answer.json()["url"])
            page.wait_for("document.querySelector('#status[data-state=\"connected\"]')")
            assert page.evaluate("location.origin") == base
            client.publish("graph", "indexed", {"note": f"via-{proxied.kind}-9c2"},
                           workspace_id="ws")
            page.wait_for(text_of("#feed li.event", f"via-{proxied.kind}-9c2"))
            client.join(workspace_id="ws-proxy", display_name=f"Ada via {proxied.kind}")
            page.wait_for(text_of('#presence [data-workspace="ws-proxy"]',
                                  f"Ada via {proxied.kind}"))
    finally:
        page.close()
        chrome.close()
