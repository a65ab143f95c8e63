"""The /activity page over HTTPS in headless Chromium, from a server with its own TLS.

The page's requests carry ``Origin: https://127.0.0.1:<port>``; the server's
guard must take its own https origin, or the stream and every call are refused.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.conftest import TlsFiles
from tests.e2e.chromium_tls import trust_flags
from tests.e2e.test_activity_browser import Browser, chromium_path, sign_in, text_of

pytestmark = pytest.mark.browser


@pytest.fixture
def https_browser(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Browser]:
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (scripts/sysdeps.sh test installs it)")
    chrome = Browser(tmp_path / "profile", flags=trust_flags(tls_files))
    try:
        yield chrome
    finally:
        chrome.close()


def test_the_activity_page_works_over_https(
    https_browser: Browser, data_dir: Path, tls_files: TlsFiles
) -> None:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                                      tls_cert=tls_files.cert, tls_key=tls_files.key))
    srv.start()
    page = https_browser.page()
    try:
        with RealtimeClient(srv.url, srv.owner_token, ca_file=tls_files.ca) as client:
            sign_in(page, client)
            assert page.evaluate("location.protocol + '//' + location.host") == srv.url
            client.publish("workflow", "workflow_run", {"note": "over-tls-4b1"},
                           workspace_id="ws")
            page.wait_for(text_of("#feed li.event", "over-tls-4b1"))
            client.join(workspace_id="ws", display_name="Ada over TLS")
            page.wait_for(text_of('#presence [data-workspace="ws"]', "Ada over TLS"))
    finally:
        page.close()
        srv.stop()


def test_over_tls_every_answer_has_hsts_and_no_cookie_lacks_secure(
    https_browser: Browser, data_dir: Path, tls_files: TlsFiles
) -> None:
    # fails without: guard.StrictTransport (issue 20, item 1)
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                                      tls_cert=tls_files.cert, tls_key=tls_files.key))
    srv.start()
    page = https_browser.page()
    try:
        page.call("Network.enable")
        with RealtimeClient(srv.url, srv.owner_token, ca_file=tls_files.ca) as client:
            sign_in(page, client)
        seen = [m["params"]["response"] for m in page.pending
                if m["method"] == "Network.responseReceived"]
        assert {r["url"].split("?")[0].removeprefix(srv.url) for r in seen} >= {
            "/activity", "/activity/static/activity.js", "/realtime/session",
            "/realtime/feed"}
        for response in seen:  # what Chromium itself got, page, files and API alike
            headers = {k.lower(): v for k, v in response["headers"].items()}
            assert headers.get("strict-transport-security") == "max-age=31536000", (
                response["url"])
        cookies = page.call("Network.getAllCookies")["cookies"]
        assert all(c["secure"] for c in cookies), cookies
        with httpx.Client(verify=ssl.create_default_context(cafile=str(tls_files.ca))) as plain:
            for path in ("/realtime/health", "/realtime/feed", "/nope"):  # 200, 401, 404
                r = plain.get(srv.url + path)
                assert r.headers["strict-transport-security"] == "max-age=31536000", path
            # not to "localhost": it would hold every other program's plain HTTP there
            r = plain.get(f"https://localhost:{srv.port}/realtime/health")
            assert r.status_code == 200 and "strict-transport-security" not in r.headers
    finally:
        page.close()
        srv.stop()
