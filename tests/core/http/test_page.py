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
