"""Screenshots of the /activity page in headless Chromium, for the README.

    .venv/bin/python -m tests.e2e.page_shots docs/screenshots

A real server on a loopback port (in a temporary directory) gets the events and
presence joins of :mod:`tests.e2e.window_shots` (the app's screenshots), each
event published by its own account; the page signs in through a launch link,
its feed's oldest events dated back (yesterday, last week) on their way in, as
history read back after a restart would be, so the feed shows its date
separators. Writes ``activity-page-light.png`` and ``activity-page-dark.png``
(``prefers-color-scheme`` emulated), and ``activity-signin.png`` (the page
without a session).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.e2e.test_activity_browser import Browser, Page, chromium_path
from tests.e2e.test_activity_feed import dated_feed, set_locale
from tests.e2e.window_shots import EVENTS, PEOPLE
from tests.hardening.helpers import add_users

OWNER = "ada"
WIDTH, HEIGHT = 1280, 900
#: how far back the feed's oldest events are dated
DATED_BACK = (timedelta(days=6, hours=2), timedelta(days=1, hours=3),
              timedelta(days=1, hours=2, minutes=40))


def _workspaces() -> list[str]:
    return sorted({ws for _s, _a, _t, ws, _p, _u in EVENTS if ws}
                  | {p[3] for p in PEOPLE if p[3]})


def _scheme(page: Page, scheme: str) -> None:
    page.call("Emulation.setEmulatedMedia",
              features=[{"name": "prefers-color-scheme", "value": scheme}])


def shoot(out: Path, work: Path) -> list[Path]:
    data = work / "data"
    data.mkdir()
    actors = sorted(({actor for *_rest, actor in EVENTS} | {p[2] for p in PEOPLE}) - {OWNER})
    tokens = add_users(data, {name: _workspaces() for name in actors})
    server = RealtimeServer(ServerConfig(port=0, data_dir=data, owner_user=OWNER))
    server.start()
    chrome = Browser(work / "profile", width=WIDTH, height=HEIGHT)
    written: list[Path] = []
    try:
        for _server, area, kind, ws, payload, actor in EVENTS:
            token = server.owner_token if actor == OWNER else tokens[actor]
            with RealtimeClient(server.url, token) as client:
                client.publish(area, kind, payload, workspace_id=ws)
        for _s, cid, user, ws, name, status, line in PEOPLE:
            # only the owner may be present outside a workspace
            token = server.owner_token if user == OWNER or ws is None else tokens[user]
            with RealtimeClient(server.url, token) as client:
                client.join(workspace_id=ws, client_id=cid, display_name=name,
                            status=status, status_text=line)
        with RealtimeClient(server.url, server.owner_token) as client:
            page = chrome.page()
            page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                      deviceScaleFactor=1, mobile=False)
            set_locale(page, "en-GB", "Europe/London")
            dated_feed(page, client.launch_url(), DATED_BACK)
            page.wait_for("document.querySelector('#status[data-state=\"connected\"]')"
                          " && document.querySelector('#presence li.person')"
                          " && document.querySelectorAll('#feed li.day').length >= 2")
        # the rows' arrival highlight ends before the shot (the page is connected: no pulse)
        page.finish_animations()
        for scheme in ("light", "dark"):
            _scheme(page, scheme)
            path = out / f"activity-page-{scheme}.png"
            page.screenshot(path)
            written.append(path)
        _scheme(page, "light")
        page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=420,
                  deviceScaleFactor=1, mobile=False)
        page.evaluate("localStorage.clear()")
        page.navigate(f"{server.url}/activity")
        page.wait_for("document.querySelector('#signin').checkVisibility()")
        path = out / "activity-signin.png"
        page.screenshot(path)
        written.append(path)
        page.close()
    finally:
        chrome.close()
        server.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path, help="the folder the screenshots go to")
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print("Chromium is not installed (scripts/sysdeps.sh test installs it)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for path in shoot(args.out, Path(work)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
