"""PlainRequests (the standard library): the routes, and every failure in one line."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lattice_rt_core.net.api import ApiError
from lattice_rt_core.net.plain import PlainRequests
from lattice_rt_core.server import RealtimeServer


def _failure(url: str, call: str = "health", **kwargs: Any) -> ApiError:
    with PlainRequests(url, "t0ken", **kwargs) as client, pytest.raises(ApiError) as caught:
        getattr(client, call)()
    return caught.value


def test_the_routes_against_a_real_server(server: RealtimeServer) -> None:
    with PlainRequests(server.url, server.owner_token) as client:
        assert client.hello()["status"] == "ok"
        first = client.publish("workflow", "workflow_run", {"run_id": "r1"}, workspace_id="ws1",
                               idempotency_key="k1")
        again = client.publish("workflow", "workflow_run", {"run_id": "r1"}, workspace_id="ws1",
                               idempotency_key="k1")
        assert first == again and first["seq"] == 1 and first["actor"] == "owner"
        assert [e["seq"] for e in client.feed(limit=5)["events"]] == [1]
        entry = client.join(workspace_id="ws1", display_name="Ada")
        assert client.set_status(entry["client_id"], "away")["status"] == "away"
        assert [e["client_id"] for e in client.presence()["presence"]] == [entry["client_id"]]


def test_the_same_failures_in_the_same_words(server: RealtimeServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for url, expected in (  # no server there; a token the server refuses
        (refused, f"cannot connect to {refused} (connection refused)"),
        (server.url, "authentication required (HTTP 401)"),
    ):
        assert str(_failure(url, "feed")) == expected


class _Odd(http.server.BaseHTTPRequestHandler):
    """Answers by path: what a proxy or a broken server might send."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.seen.append(self.path)
        if "/gateway/" in self.path:
            self._answer(502, b"Bad Gateway from the proxy\n<p>ignored</p>", "text/plain")
        elif "/html/" in self.path:
            self._answer(503, b"<html><body>down</body></html>", "text/html")
        elif "/detail/" in self.path:
            body = {"detail": [{"loc": ["body", "area"], "msg": "field required"}]}
            self._answer(422, json.dumps(body).encode(), "application/json")
        elif "/list/" in self.path:
            self._answer(200, b"[1, 2]", "application/json")
        elif "/hang/" in self.path:
            self.server.release.wait()  # type: ignore[attr-defined]
        elif "/drop/" in self.path:
            self.close_connection = True
        else:
            self._answer(200, b'{"events": [], "next_before": null}', "application/json")

    def _answer(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        for name, value in (("Content-Type", ctype), ("Content-Length", str(len(body)))):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def odd() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Odd)
    httpd.daemon_threads = True
    httpd.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.release.set()  # type: ignore[attr-defined]
        httpd.shutdown()
        httpd.server_close()
        _Odd.seen.clear()


#: the path prefix of an odd answer -> what a request of health fails with
ODD_ANSWERS = {
    "/gateway": "Bad Gateway from the proxy (HTTP 502)",
    "/html": "Service Unavailable (HTTP 503)",
    "/detail": "area: field required (HTTP 422)",
    "/list": "/realtime/health answered an unexpected shape (HTTP 200)",
    "/hang": "{url} did not answer in time",
}


@pytest.mark.parametrize(("prefix", "expected"), ODD_ANSWERS.items())
def test_odd_answers_read_the_same(odd: str, prefix: str, expected: str) -> None:
    url = odd + prefix
    assert str(_failure(url, request_timeout=0.5)) == expected.replace("{url}", url)


def test_a_dropped_connection_is_one_line(odd: str) -> None:
    url = odd + "/drop"
    assert str(_failure(url)).startswith(f"request to {url} failed (")


def test_a_path_prefix_and_the_query_reach_the_server_alike(odd: str) -> None:
    with PlainRequests(odd + "/behind/proxy", "t0ken") as client:
        assert client.history(before=7, limit=3) == ([], None)
    assert _Odd.seen == ["/behind/proxy/realtime/feed?limit=3&before=7"]
