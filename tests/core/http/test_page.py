"""The browser's way in over a real server: launch codes, the page, its files."""

from __future__ import annotations

import httpx
import pytest

from lattice_rt_core.server import RealtimeServer


def test_launch_code_is_single_use_and_sets_a_strict_cookie(
    server: RealtimeServer, owner: httpx.Client
) -> None:
    launch = owner.post("/realtime/launch").json()
    assert launch["url"].startswith(server.url + "/activity?code=")
    with httpx.Client(base_url=server.url) as browser:
        assert browser.get("/activity").status_code == 401
        r = browser.get(launch["url"])
        assert r.status_code == 303 and r.headers["location"] == "/activity"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert browser.get("/realtime/feed").status_code == 200  # the cookie works
        assert browser.get("/activity").status_code in (200, 404)
        assert browser.post("/realtime/launch").status_code == 401  # cookie cannot mint codes
    with httpx.Client(base_url=server.url) as other:
        assert other.get(launch["url"]).status_code == 401  # used already


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("activity.js", "text/javascript"), ("activity.css", "text/css")],
)
def test_the_pages_files_are_served_with_their_type_and_no_auth(
    server: RealtimeServer, name: str, media_type: str
) -> None:
    r = httpx.get(f"{server.url}/activity/static/{name}")
    assert r.status_code == 200 and r.content
    assert r.headers["content-type"].startswith(media_type)
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["activity.html", "nope.css", "activity", "..%2Fauth.py"])
def test_anything_else_under_static_is_not_found(server: RealtimeServer, name: str) -> None:
    r = httpx.get(f"{server.url}/activity/static/{name}")
    assert r.status_code == 404 and r.json() == {"error": "not found"}


@pytest.mark.parametrize("name", ["x%00.js", "activity%00.js", "a%00b.css", "%2e%00.png"])
def test_an_invalid_file_name_is_not_found_and_logs_nothing(
    server: RealtimeServer, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    # fails without: the name check and the ValueError in page._static_bytes (issue 20,
    # item 8: a NUL in the name was a 500 with a 3.4 KB traceback per request)
    with caplog.at_level("DEBUG"):
        r = httpx.get(f"{server.url}/activity/static/{name}")
        assert r.status_code == 404 and r.json() == {"error": "not found"}
        # the server still answers (and, on its loop, has logged what it would)
        assert httpx.get(f"{server.url}/realtime/health").status_code == 200
    noisy = [rec for rec in caplog.records if rec.levelno >= 30 or rec.exc_info]
    assert noisy == [], [rec.getMessage() for rec in noisy]
