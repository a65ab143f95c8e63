"""The /activity page in headless Chromium, driven over the DevTools protocol.

A real server on a loopback port, a one-time launch code the page's script
exchanges for a session it keeps in localStorage, then: the feed shows what was
there, a published event appears live (as text, never as markup), presence
shows grouped by workspace, and a resume past retention shows a gap row.
Waiting happens inside the page: each check is a promise that a
MutationObserver resolves when the DOM matches.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from lattice_rt_core.auth.file_sessions import SESSIONS_FILE
from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.protocol.people import (
    NO_WORKSPACE,
    count_people,
    people_view,
    presence_summary,
)
from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_tray.views.actions import BROWSER

pytestmark = pytest.mark.browser

WAIT = 30.0
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
_DEVTOOLS_LINE = re.compile(r"DevTools listening on (ws://\S+)")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class CdpError(Exception):
    pass


class Page:
    """One page target over the Chrome DevTools protocol (a blocking websocket)."""

    def __init__(self, ws_url: str) -> None:
        self._stack = ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(ws_url, max_size=None, open_timeout=WAIT)
        )
        self.ids = itertools.count(1)
        self.pending: list[dict[str, Any]] = []  # protocol events not yet consumed

    def close(self) -> None:
        self._stack.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=WAIT))
            if message.get("id") == message_id:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.pending.append(message)

    def wait_event(self, method: str) -> dict[str, Any]:
        for index, message in enumerate(self.pending):
            if message["method"] == method:
                del self.pending[index]
                return message
        while True:
            message = json.loads(self.ws.recv(timeout=WAIT))
            if message.get("method") == method:
                return message
            if "method" in message:
                self.pending.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise CdpError(json.dumps(result["exceptionDetails"])[:2000])
        return result["result"].get("value")

    def finish_animations(self) -> None:
        """End the animations that end (a row's arrival highlight); a pulse that runs
        while the page connects or loads has no end and goes on."""
        self.evaluate(
            "document.getAnimations().filter((a) =>"
            " a.effect.getComputedTiming().endTime !== Infinity).forEach((a) => a.finish())"
        )

    def navigate(self, url: str) -> None:
        self.pending.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def wait_for(self, js_condition: str) -> Any:
        """Resolve when ``js_condition`` (an expression) is truthy; returns its value.

        Re-checked on every DOM mutation, so the page's own updates wake it.
        """
        return self.evaluate(
            "new Promise((resolve) => {"
            f"  const check = () => {{ const v = ({js_condition}); return v ? v : null; }};"
            "  const first = check();"
            "  if (first) { resolve(first); return; }"
            "  const obs = new MutationObserver(() => {"
            "    const v = check(); if (v) { obs.disconnect(); resolve(v); }"
            "  });"
            # the document itself: right after a navigation commits it has no element yet
            "  obs.observe(document,"
            "    {subtree: true, childList: true, attributes: true, characterData: true});"
            "})"
        )

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))


class Browser:
    """Headless Chromium with a fresh profile and a DevTools port."""

    def __init__(
        self, profile: Path, width: int = 1280, height: int = 860, flags: Sequence[str] = (),
        start: str = "about:blank",
    ) -> None:
        executable = chromium_path()
        assert executable is not None
        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}",
             "--remote-debugging-port=0", f"--window-size={width},{height}", start],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stderr is not None
        self.stderr_pump = threading.Thread(
            target=_pump, args=(self.proc.stderr, lines), daemon=True
        )
        self.stderr_pump.start()
        self.log: list[str] = []
        while True:  # the browser announces its DevTools endpoint on stderr
            line = lines.get(timeout=WAIT)
            self.log.append(line)
            match = _DEVTOOLS_LINE.search(line)
            if match:
                self.browser_ws = match.group(1)
                break
        self.http_base = "http://" + self.browser_ws.split("/")[2]

    def page(self) -> Page:
        targets = httpx.get(f"{self.http_base}/json/list", timeout=WAIT).json()
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        page = Page(ws_url)
        page.call("Page.enable")
        page.call("Runtime.enable")
        return page

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                with connect(self.browser_ws, open_timeout=WAIT) as browser:
                    browser.send(json.dumps({"id": 1, "method": "Browser.close"}))
                self.proc.wait(timeout=WAIT)
            except Exception:  # noqa: BLE001 - fall back to ending our own process group
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.stderr_pump.join(WAIT)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def _pump(pipe: IO[str], lines: queue.Queue[str]) -> None:
    for line in pipe:
        lines.put(line.rstrip("\n"))


def sign_in(page: Page, client: RealtimeClient) -> None:
    """Open the page through a one-time launch code and wait until it is live."""
    page.navigate(client.launch_url())
    page.wait_for("document.querySelector('#status[data-state=\"connected\"]')")


def text_of(selector: str, contains: str) -> str:
    """A JS expression: the text of the first ``selector`` containing ``contains``."""
    return (
        f"Array.from(document.querySelectorAll({json.dumps(selector)}))"
        f".map((n) => n.textContent).find((t) => t.includes({json.dumps(contains)}))"
    )


# -------------------------------------------------------------------- tests
def test_live_feed_and_presence_through_a_launch_code(
    page: Page, server: RealtimeServer, tmp_path: Path
) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        earlier = client.publish("graph", "indexing_resumed", {"graph": "g-earlier"},
                                 workspace_id="ws-alpha")
        sign_in(page, client)

        location = page.evaluate("location.pathname + location.search")
        assert location == "/activity"  # the code was consumed and dropped from the URL
        assert page.evaluate("document.cookie") == ""  # no cookie at all (issue 20, item 1)
        assert page.evaluate("document.querySelector('meta[name=lrt-code]').content") == ""
        assert "g-earlier" in page.wait_for(text_of("#feed li.event", "g-earlier"))

        hostile = '<img src=x onerror="window.pwned=1"> marker-7f3a'
        live = client.publish("workflow", "workflow_run", {"note": hostile, "status": "ok"},
                              workspace_id="ws-alpha")
        row = page.wait_for(text_of("#feed li.event", "marker-7f3a"))
        assert hostile in row  # shown as text, verbatim
        assert "Workflow run" in row and "ws-alpha" in row  # the app's title
        assert page.evaluate(
            f"document.querySelector('#feed li[data-seq=\"{live['seq']}\"] .what').title"
        ) == "workflow/workflow_run"
        assert page.evaluate("document.querySelectorAll('#feed img').length") == 0
        assert page.evaluate("window.pwned === undefined") is True
        order = page.evaluate(
            "Array.from(document.querySelectorAll('#feed li.event'))"
            ".map((n) => Number(n.dataset.seq))"
        )
        assert order[:2] == [live["seq"], earlier["seq"]]  # newest first, no duplicates
        assert len(order) == len(set(order))

        entry = client.join(workspace_id="ws-alpha", display_name="Ada Lovelace")
        client.join(workspace_id="ws-beta", display_name="Grace Hopper")
        alpha = page.wait_for(text_of('#presence [data-workspace="ws-alpha"]', "Ada Lovelace"))
        assert alpha.startswith("ws-alpha")
        page.wait_for(text_of('#presence [data-workspace="ws-beta"]', "Grace Hopper"))
        assert page.wait_for(text_of("#feed li.event", "Ada Lovelace joined"))

        client.leave(entry["client_id"])
        page.wait_for(
            "!document.querySelector('#presence [data-workspace=\"ws-alpha\"]')"
            " && document.querySelector('#presence [data-workspace=\"ws-beta\"]')"
        )
        page.screenshot(tmp_path / "activity.png")
        assert (tmp_path / "activity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_presence_shows_each_persons_status_dot_and_line_live(
    page: Page, server: RealtimeServer, tmp_path: Path
) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        ada = client.join(workspace_id="ws-alpha", display_name="Ada Lovelace",
                          status="dnd", status_text="Writing <b>notes</b>")
        client.join(workspace_id="ws-alpha", display_name="Grace Hopper")
        sign_in(page, client)
        item = f'#presence li.person[data-client-id="{ada["client_id"]}"]'
        line = page.wait_for(
            f"document.querySelector('{item}[data-status=\"dnd\"] .person-status')"
            "?.textContent"
        )
        assert line == "Do not disturb · Writing <b>notes</b>"  # text, never markup
        assert page.evaluate(f"document.querySelectorAll('{item} b').length") == 0
        colour = page.evaluate(
            f"getComputedStyle(document.querySelector('{item} .presence-dot')).backgroundColor"
        )
        grace = page.evaluate(
            "Array.from(document.querySelectorAll('#presence li.person'))"
            ".find((n) => n.textContent.includes('Grace')).dataset.status"
        )
        assert grace == "active"

        client.set_status(ada["client_id"], "away", "Lunch")  # published within a second
        line = page.wait_for(
            f"document.querySelector('{item}[data-status=\"away\"] .person-status')"
            "?.textContent"
        )
        assert line == "Away · Lunch"
        assert page.evaluate(
            f"getComputedStyle(document.querySelector('{item} .presence-dot')).backgroundColor"
        ) != colour  # the dot changed colour with the status
        assert page.wait_for(text_of("#feed li.event", "Ada Lovelace: Away · Lunch"))
        page.screenshot(tmp_path / "presence-status.png")


def test_presence_counts_people_as_the_cli_and_the_app_do(
    page: Page, server: RealtimeServer
) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        client.join(workspace_id="ws-alpha", display_name="Ada Lovelace")
        client.join(workspace_id="ws-alpha", display_name="Ada Lovelace")  # her second computer
        client.join(workspace_id="ws-beta", display_name="Ada Lovelace")
        client.join(workspace_id="ws-alpha", display_name="Grace Hopper")
        client.join(display_name="Linus Torvalds")  # no workspace
        client.publish("workspace", "note_added", {"title": "unscoped"})
        entries = client.presence()["presence"]
        sign_in(page, client)
        people = count_people(entries)
        assert (len(entries), people) == (5, 3)
        count = page.wait_for("document.querySelector('#presence-count').textContent || null")
        assert count == "3 people online in 2 workspaces" == presence_summary(entries)
        heads = page.evaluate(
            "Array.from(document.querySelectorAll('#presence .group h3'))"
            ".map((h) => [h.firstChild.textContent, h.lastChild.textContent])"
        )
        assert heads == [["ws-alpha", "2"], ["ws-beta", "1"], [NO_WORKSPACE, "1"]]
        ada = page.evaluate(
            "Array.from(document.querySelectorAll('#presence [data-workspace=\"ws-alpha\"] li'))"
            ".map((n) => n.querySelector('.name').textContent + ' | ' "
            "+ n.querySelector('.sub').textContent)"
        )
        assert len(ada) == 2 and ada[0].startswith("Ada Lovelace | ")
        assert ada[0].endswith("2 connections") and "connection" not in ada[1]
        chip = page.wait_for(text_of("#feed li.event", "unscoped"))
        assert NO_WORKSPACE in chip


def test_the_page_says_what_the_cli_and_the_app_say(page: Page, server: RealtimeServer) -> None:
    # Ada is active on one computer and went idle on the other later: the page showed her
    # last change (Idle) where the app shows her most present status (Active); and
    # Barbara, away, counted as online on the page and in the CLI
    with RealtimeClient(server.url, server.owner_token) as client:
        client.join(workspace_id="ws-alpha", display_name="Ada Lovelace")
        client.join(workspace_id="ws-alpha", display_name="Ada Lovelace", status="idle")
        client.join(workspace_id="ws-alpha", display_name="Barbara Liskov", status="away")
        client.join(workspace_id="ws-alpha", display_name="Grace Hopper")
        entries = client.presence()["presence"]
        sign_in(page, client)
        count = page.wait_for("document.querySelector('#presence-count').textContent || null")
        assert count == presence_summary(entries) == "2 people online in 1 workspace · 1 away"
        shown = page.evaluate(
            "Array.from(document.querySelectorAll('#presence li.person')).map((n) =>"
            " [n.querySelector('.name').textContent, n.dataset.status,"
            "  n.querySelector('.status-label').textContent])"
        )
        assert shown == [[p["name"], p["status"], p["label"]] for p in people_view(entries)]
        assert shown[0] == ["Ada Lovelace", "active", "Active"]


def test_a_resume_past_retention_shows_a_gap_row(
    page: Page, data_dir: Path
) -> None:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                                      journal_retention=10, backlog=10))
    srv.start()
    try:
        with RealtimeClient(srv.url, srv.owner_token) as client:
            first = client.publish("workspace", "workspace_created", {"name": "first"})
            # Hold the page's stream request until the events it should have seen
            # are no longer retained (the ring keeps 200).
            page.call("Fetch.enable", patterns=[{"urlPattern": "*/realtime/stream*"}])
            page.navigate(client.launch_url())
            paused = page.wait_event("Fetch.requestPaused")["params"]
            assert f"last_event_id={first['seq']}" in paused["request"]["url"]
            burst = client.publish_many([{"event_type": f"burst_{n}"} for n in range(250)])
            page.call("Fetch.continueRequest", requestId=paused["requestId"])
            page.call("Fetch.disable")
            oldest = burst[-1]["seq"] - 199
            missed = oldest - first["seq"] - 1
            gap = page.wait_for(text_of("#feed li[data-kind=gap]", "missed"))
            assert gap.endswith(
                f"{missed} events missedseq {first['seq'] + 1}–{oldest - 1}, "
                "no longer kept by the server"
            )
            page.wait_for(f"document.querySelector('#feed li[data-seq=\"{burst[-1]['seq']}\"]')")
            kinds = page.evaluate(
                "Array.from(document.querySelectorAll('#feed li'))"
                ".map((n) => n.dataset.kind || Number(n.dataset.seq))"
            )
            # newest first: the retained burst, then the gap, then what the feed showed
            assert kinds == [*range(burst[-1]["seq"], oldest - 1, -1), "gap", first["seq"]]
    finally:
        srv.stop()


def shown_text(selector: str) -> str:
    """A JS expression: the text of the elements matching ``selector`` that are shown."""
    return (
        f"Array.from(document.querySelectorAll({json.dumps(selector)}))"
        ".filter((n) => n.checkVisibility()).map((n) => n.textContent).join(' | ')"
    )


def test_while_connecting_the_page_says_it_is_loading_not_that_nothing_is_there(
    page: Page, server: RealtimeServer
) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        # the feed's answer is held: the page has asked and heard nothing yet
        page.call("Fetch.enable", patterns=[{"urlPattern": "*/realtime/feed*"}])
        page.navigate(client.launch_url())
        paused = page.wait_event("Fetch.requestPaused")["params"]
        assert page.evaluate("document.querySelector('#status-text').textContent") == (
            "Connecting…"
        )
        shown = page.evaluate(shown_text(".panel .empty"))
        assert shown == "Loading activity… | Loading who is here…"
        page.call("Fetch.continueRequest", requestId=paused["requestId"])
        page.call("Fetch.disable")
        # an empty server, once it answered: now the page can say so
        page.wait_for(
            "document.querySelector('#feed-empty').checkVisibility()"
            " && document.querySelector('#presence-empty').checkVisibility()"
        )
        shown = page.evaluate(shown_text(".panel .empty"))
        assert shown.startswith("No activity yet.") and shown.endswith(
            " | Nobody is present right now."
        )
        assert "Loading" not in shown


SIGNIN_WAYS = ("in a terminal, run lattice-rt open;",
               f"or, in the Lattice tray menu, choose {BROWSER}.")


def signin_card(page: Page) -> dict[str, Any]:
    """What the sign-in page shows: its title, its lines, whether its look loaded."""
    return page.evaluate(
        "(() => { const card = document.querySelector('.signin');"
        " return card && card.checkVisibility() && {"
        "  title: card.querySelector('h2').textContent,"
        "  ways: Array.from(card.querySelectorAll('li')).map((n) => n.textContent),"
        "  text: document.body.innerText,"
        "  styled: getComputedStyle(card).borderTopLeftRadius === '12px',"
        "  feed: !!document.querySelector('#main') && document.querySelector('#main')"
        "    .checkVisibility() }; })()"
    )


def test_without_a_session_the_page_says_how_to_get_one(
    page: Page, server: RealtimeServer
) -> None:
    page.navigate(f"{server.url}/activity")
    page.wait_for("document.querySelector('#status[data-state=\"signed-out\"]')")
    card = signin_card(page)
    assert card["title"] == "Sign in to see activity"
    assert tuple(card["ways"]) == SIGNIN_WAYS
    assert card["styled"] and not card["feed"]  # a page of its own, not an empty feed
    assert "Not signed in" in card["text"]


def test_a_spent_link_gets_the_sign_in_page_in_the_pages_look(
    page: Page, server: RealtimeServer
) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        url = client.launch_url()
    page.navigate(url)
    page.wait_for("document.querySelector('#status[data-state=\"connected\"]')")
    page.navigate(url)  # the code was spent: the server's own page says so
    card = signin_card(page)
    assert card["title"] == "This link has expired"
    assert tuple(card["ways"]) == SIGNIN_WAYS
    assert card["styled"]  # the page's stylesheet, under the page's CSP
    # this browser is signed in (the first visit): the page's link leads to the feed
    page.pending.clear()
    page.evaluate("document.querySelector('#open').click()")
    page.wait_event("Page.loadEventFired")
    page.wait_for("document.querySelector('#status[data-state=\"connected\"]')")
    for word in ("Traceback", "error", "{", "401"):
        assert word not in card["text"]


def test_a_stream_that_fails_is_retried_and_resumes_where_it_was(
    page: Page, server: RealtimeServer
) -> None:
    # the page reads the stream with fetch (it sends a header EventSource cannot), so
    # the retry and the resume are its own code, not the browser's
    with RealtimeClient(server.url, server.owner_token) as client:
        first = client.publish("workspace", "note_added", {"title": "before-3d0"})
        page.call("Fetch.enable", patterns=[{"urlPattern": "*/realtime/stream*"}])
        page.navigate(client.launch_url())
        paused = page.wait_event("Fetch.requestPaused")["params"]
        assert paused["request"]["headers"]["Authorization"].startswith("Session ")
        page.call("Fetch.failRequest", requestId=paused["requestId"], errorReason="Failed")
        page.wait_for("document.querySelector('#status[data-state=\"offline\"]')")
        missed = client.publish("workspace", "note_added", {"title": "while-away-3d0"})
        again = page.wait_event("Fetch.requestPaused")["params"]
        assert f"last_event_id={first['seq']}" in again["request"]["url"]
        page.call("Fetch.continueRequest", requestId=again["requestId"])
        page.call("Fetch.disable")
        page.wait_for("document.querySelector('#status[data-state=\"connected\"]')")
        page.wait_for(f"document.querySelector('#feed li[data-seq=\"{missed['seq']}\"]')")
        live = client.publish("workspace", "note_added", {"title": "after-3d0"})
        page.wait_for(f"document.querySelector('#feed li[data-seq=\"{live['seq']}\"]')")


def test_the_session_survives_a_restart_of_the_server(page: Page, data_dir: Path) -> None:
    # fails without: FileSessions (issue 22, item 4: the app restarts its endpoint with itself)
    config = ServerConfig(port=0, data_dir=data_dir, owner_user="owner")
    srv = RealtimeServer(config)
    srv.start()
    try:
        with RealtimeClient(srv.url, srv.owner_token) as client:
            sign_in(page, client)
    finally:
        srv.stop()
    page.wait_for("document.querySelector('#status[data-state=\"offline\"]')")
    again = RealtimeServer(replace(config, port=srv.port))
    again.start()
    try:
        page.wait_for("document.querySelector('#status[data-state=\"connected\"]')")
        with RealtimeClient(again.url, again.owner_token) as client:
            live = client.publish("workspace", "note_added", {"title": "after-restart-5c1"})
        page.wait_for(f"document.querySelector('#feed li[data-seq=\"{live['seq']}\"]')")
        page.navigate(f"{again.url}/activity")  # a reload signs in with the kept session too
        page.wait_for("document.querySelector('#status[data-state=\"connected\"]')")
        assert page.evaluate("Object.keys(localStorage)") == ["lattice-rt.session"]
    finally:
        again.stop()


def test_a_session_the_server_forgot_ends_on_the_page_and_in_its_storage(
    page: Page, data_dir: Path
) -> None:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, owner_user="owner"))
    srv.start()
    port = srv.port
    try:
        with RealtimeClient(srv.url, srv.owner_token) as client:
            sign_in(page, client)
        assert page.evaluate("Object.keys(localStorage)") == ["lattice-rt.session"]
    finally:
        srv.stop()
    (data_dir / SESSIONS_FILE).unlink()  # the server forgets every session
    again = RealtimeServer(ServerConfig(port=port, data_dir=data_dir, owner_user="owner"))
    again.start()
    try:
        page.wait_for("document.querySelector('#status[data-state=\"signed-out\"]')")
        card = signin_card(page)
        assert card["title"] == "Your session has ended" and not card["feed"]
        assert tuple(card["ways"]) == SIGNIN_WAYS
        assert page.evaluate("Object.keys(localStorage)") == []
        page.navigate(f"{again.url}/activity")  # a reload: not signed in, says how
        page.wait_for("document.querySelector('#status[data-state=\"signed-out\"]')")
        assert signin_card(page)["title"] == "Sign in to see activity"
    finally:
        again.stop()
