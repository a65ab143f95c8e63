"""The page's session in headless Chromium against a second listener (issue 20, item 1).

Cookies are not isolated by port: whatever the server's origin keeps in a
cookie, Chromium also sends to any other listener on the same host. The test
listener here stands for any local user's server on another loopback port
(or, mapped by name, another site): it records every request it gets and
serves the page an attacker would. What it receives must sign nobody in, and
a sign-in link it makes the browser follow must not replace the session.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.http.openapi import openapi_document
from lattice_rt_core.server import RealtimeServer
from tests.e2e.test_activity_browser import (
    WAIT,
    Browser,
    Page,
    chromium_path,
    sign_in,
    text_of,
)
from tests.hardening.helpers import add_users

pytestmark = pytest.mark.browser

ATTACKER_NAME = "attacker.test"  # another site, resolved to loopback by the browser


class Listener:
    """A plain HTTP server on another loopback port that records what it is sent."""

    def __init__(self, link: str = "") -> None:
        self.requests: list[dict[str, str]] = []
        self.pixel = threading.Event()
        self.link = link
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                listener.requests.append({"path": self.path, **dict(self.headers.items())})
                if self.path == "/pixel.png":
                    listener.pixel.set()
                    body, ctype = b"", "image/png"
                else:
                    body = ("<!doctype html><title>elsewhere</title>"
                            f"<a id=go href='{listener.link}'>go</a>"
                            "<img src='/pixel.png'>").encode()
                    ctype = "text/html"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(WAIT)


@pytest.fixture
def listener() -> Iterator[Listener]:
    other = Listener()
    try:
        yield other
    finally:
        other.close()


@pytest.fixture
def browser_flags() -> list[str]:
    return [f"--host-resolver-rules=MAP {ATTACKER_NAME} 127.0.0.1"]


@pytest.fixture
def tab(page: Page) -> Page:
    return page


def _click(tab: Page, element_id: str) -> None:
    """Click what navigates the tab, and wait for the page it leads to."""
    tab.pending.clear()
    tab.evaluate(f"setTimeout(() => document.getElementById('{element_id}').click(), 0)")
    tab.wait_event("Page.loadEventFired")


def _routes() -> list[tuple[str, str, bool]]:
    """(method, path, needs a credential) of every route the server documents."""
    routes = []
    for path, operations in openapi_document("x")["paths"].items():
        for method, operation in operations.items():
            public = {} in operation.get("security", [])
            routes.append((method.upper(), path.replace("{name}", "activity.js"), not public))
    return routes


def _answer(method: str, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """The status and (unless it is a stream) the body of one request."""
    extra = {"json": {}} if method == "POST" else {}
    with httpx.stream(method, url, headers=headers, timeout=WAIT,
                      **extra) as r:  # type: ignore[arg-type]
        if r.headers.get("content-type", "").startswith("text/event-stream"):
            return r.status_code, b""  # a stream that opened: never read to its end
        return r.status_code, r.read()


def test_another_loopback_port_gets_nothing_that_signs_in(
    tab: Page, server: RealtimeServer, listener: Listener
) -> None:
    # fails without: the session in the page's origin storage instead of a cookie
    with RealtimeClient(server.url, server.owner_token) as client:
        client.publish("workspace", "note_added", {"title": "private-9c1"}, workspace_id="ws")
        sign_in(tab, client)
        tab.wait_for(text_of("#feed li.event", "private-9c1"))
    session = tab.evaluate("localStorage.getItem('lattice-rt.session')")
    assert session
    tab.navigate(f"http://127.0.0.1:{listener.port}/")
    assert listener.pixel.wait(WAIT)  # the other port's page loaded its own image
    # what the other origin's script can see of ours: nothing
    assert tab.evaluate("[document.cookie, localStorage.length, sessionStorage.length]") == [
        "", 0, 0]
    received = {r["Cookie"] for r in listener.requests if "Cookie" in r}
    replays = [{"Cookie": cookie} for cookie in sorted(received)] or [{}]
    # and even the page's own session id, were it ever in a cookie, signs nobody in
    replays.append({"Cookie": f"lrt_session={session}; session={session}"})
    for headers in replays:
        for method, path, needs_credential in _routes():
            status, body = _answer(method, server.url + path, headers)
            if needs_credential:
                assert status == 401, (method, path, headers, status)
            else:
                assert status < 500, (method, path)
                if path == "/realtime/health":
                    assert "user" not in json.loads(body) and "stats" not in json.loads(body)
                assert b"private-9c1" not in body, (method, path)
    # and the page itself is still signed in when the browser comes back
    tab.navigate(f"{server.url}/activity")
    tab.wait_for("document.querySelector('#status[data-state=\"connected\"]')")
    tab.wait_for(text_of("#feed li.event", "private-9c1"))


@pytest.mark.parametrize("attacker_host", [ATTACKER_NAME, "127.0.0.1"],
                         ids=["cross-site", "same-site-other-port"])
def test_a_sign_in_link_from_elsewhere_does_not_replace_the_session(
    tab: Page, server: RealtimeServer, listener: Listener, attacker_host: str
) -> None:
    # fails without: the confirm page for a sign-in link not opened by the user (login CSRF)
    token = add_users(server.data_dir, {"mallory": ["ws-mallory"]})["mallory"]
    with RealtimeClient(server.url, token) as mallory:
        listener.link = mallory.launch_url()
    with RealtimeClient(server.url, server.owner_token) as client:
        client.publish("workspace", "note_added", {"title": "owner-only-51e"},
                       workspace_id="ws-owner")
        sign_in(tab, client)
        assert "signed in as owner" in tab.wait_for(text_of("#footer", "signed in as"))
        tab.navigate(f"http://{attacker_host}:{listener.port}/")
        _click(tab, "go")  # the attacker's page follows the link
        confirm = tab.wait_for(text_of("body", "mallory"))
        assert "another site" in confirm
        assert tab.evaluate("location.origin") == server.url

        # the browser is still the owner's: its page shows what only the owner sees
        tab.navigate(f"{server.url}/activity")
        tab.wait_for("document.querySelector('#status[data-state=\"connected\"]')")
        tab.wait_for(text_of("#feed li.event", "owner-only-51e"))
        assert "signed in as owner" in tab.wait_for(text_of("#footer", "signed in as"))

    # the confirm page's own button is the way to switch, on purpose
    with RealtimeClient(server.url, token) as mallory:
        listener.link = mallory.launch_url()
    tab.navigate(f"http://{attacker_host}:{listener.port}/")
    _click(tab, "go")
    tab.wait_for("document.querySelector('#confirm')")
    _click(tab, "confirm")
    assert "signed in as mallory" in tab.wait_for(text_of("#footer", "signed in as mallory"))
    assert tab.evaluate("location.pathname + location.search") == "/activity"
    feed = tab.evaluate("Array.from(document.querySelectorAll('#feed li.event'))"
                        ".map((n) => n.textContent).join('\\n')")
    assert "owner-only-51e" not in feed
    assert json.loads(tab.evaluate("JSON.stringify(Object.keys(localStorage))")) != []


def test_a_link_the_browser_is_started_with_signs_in_at_once(
    server: RealtimeServer, tmp_path: Path
) -> None:
    # how `lattice-rt open` and the tray open the page: the URL on the browser's command
    # line (Sec-Fetch-Site: none), so a first sign-in needs no confirmation
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (scripts/sysdeps.sh test installs it)")
    with RealtimeClient(server.url, server.owner_token) as client:
        url = client.launch_url()
    chrome = Browser(tmp_path / "profile", start=url)
    try:
        page = chrome.page()
        try:
            # until the start page's navigation commits, the tab holds an empty document
            if not page.call("Page.getFrameTree")["frameTree"]["frame"]["url"].startswith(
                    server.url):
                page.wait_event("Page.frameNavigated")
            assert "signed in as owner" in page.wait_for(text_of("#footer", "signed in as"))
            assert page.evaluate("location.pathname + location.search") == "/activity"
            assert page.evaluate("document.querySelector('#confirm')") is None
        finally:
            page.close()
    finally:
        chrome.close()
