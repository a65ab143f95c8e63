"""The browser's way in over a real server: launch codes, the page, its files."""

from __future__ import annotations

import httpx
import pytest

from lattice_rt_core.server import RealtimeServer


def test_launch_code_is_single_use_and_sets_a_strict_cookie(
    server: RealtimeServer, owner: httpx.Client
) -> None:
    # (the name is kept: tests/core/engines/redis/test_redis_http.py runs it on Redis)
    # fails without: the session in an Authorization header, never a cookie (issue 20,
    # item 1: a cookie goes to every port of the host)
    launch = owner.post("/realtime/launch").json()
    assert launch["url"].startswith(server.url + "/activity?code=")
    code = launch["code"]
    with httpx.Client(base_url=server.url) as browser:
        shell = browser.get("/activity")  # the page without a code: no data, no session
        assert shell.status_code == 200 and 'content=""' in shell.text
        page = browser.get(launch["url"], headers={"Sec-Fetch-Site": "none"})
        assert page.status_code == 200 and f'<meta name="lrt-code" content="{code}">' in page.text
        assert "set-cookie" not in page.headers
        r = browser.post("/realtime/session", json={"code": code})
        assert r.status_code == 200 and "set-cookie" not in r.headers
        session = r.json()
        assert session["user"] == "owner" and session["expires_in"] > 0
        headers = {"Authorization": f"Session {session['session']}"}
        assert browser.get("/realtime/feed", headers=headers).status_code == 200
        assert browser.get("/realtime/health", headers=headers).json()["user"] == "owner"
        assert browser.get("/realtime/feed").status_code == 401  # nothing else signs in
        assert browser.get("/realtime/feed", headers={
            "Authorization": f"Bearer {session['session']}"}).status_code == 401
        assert browser.post("/realtime/launch", headers=headers).status_code == 401  # no codes
        assert not browser.cookies
    with httpx.Client(base_url=server.url) as other:
        again = other.post("/realtime/session", json={"code": code})
        assert again.status_code == 401  # used already
        assert again.json() == {"error": "this sign-in link has expired or was already used"}
        spent = other.get(launch["url"], headers={"Sec-Fetch-Site": "none"})
        assert spent.status_code == 401 and "expired" in spent.text


@pytest.mark.parametrize("site", ["cross-site", "same-site", None])
def test_a_link_not_opened_by_the_browser_itself_asks_first(
    server: RealtimeServer, owner: httpx.Client, site: str | None
) -> None:
    # fails without: the confirm page in page.ActivityPage.activity (login CSRF)
    code = owner.post("/realtime/launch").json()["code"]
    headers = {"Sec-Fetch-Site": site} if site else {}
    with httpx.Client(base_url=server.url) as browser:
        r = browser.get("/activity", params={"code": code}, headers=headers)
        assert r.status_code == 200 and "lrt-code" not in r.text  # no code for a script
        assert "sign this browser in as <strong>owner</strong>" in r.text
        assert "form-action 'self'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "origin"  # so the form post has an Origin
        form = {"content": f"code={code}",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
        # the button only works from this origin's own page
        assert browser.post("/activity", **form).status_code == 403  # type: ignore[arg-type]
        cross = {**form["headers"], "Origin": server.url, "Sec-Fetch-Site": "cross-site"}
        assert browser.post("/activity", content=form["content"],
                            headers=cross).status_code == 403
        foreign = {**form["headers"], "Origin": "http://127.0.0.1:1"}
        assert browser.post("/activity", content=form["content"],
                            headers=foreign).status_code == 403
        own = {**form["headers"], "Origin": server.url}
        page = browser.post("/activity", content=form["content"], headers=own)
        assert page.status_code == 200 and f'content="{code}"' in page.text
        assert browser.post("/realtime/session", json={"code": code}).status_code == 200
        spent = browser.post("/activity", content=form["content"], headers=own)
        assert spent.status_code == 401 and "expired" in spent.text


@pytest.mark.parametrize("code", ["", "short", "x" * 200, "a b c d e f g h i j k l m n o p",
                                  "<script>alert(1)</script>aaaaaaaa", "%00" * 20])
def test_a_malformed_code_is_a_spent_link_never_an_echo(
    server: RealtimeServer, code: str
) -> None:
    for headers in ({"Sec-Fetch-Site": "none"}, {"Sec-Fetch-Site": "cross-site"}):
        r = httpx.get(f"{server.url}/activity", params={"code": code}, headers=headers)
        assert r.status_code == 401 and "expired" in r.text
        assert "<script>" not in r.text
    r = httpx.post(f"{server.url}/realtime/session", json={"code": code})
    assert r.status_code == 401
    assert httpx.post(f"{server.url}/realtime/session", json={"code": 5}).status_code == 401


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
