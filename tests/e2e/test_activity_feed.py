"""The /activity page's feed in headless Chromium: times, days, older pages, filters.

Times are said in the browser's locale and time zone (emulated over DevTools), as
the app says them, and worded again as the page's clock moves on (virtual time:
no test waits for a real minute); the feed's oldest events are dated back on
their way in to show the date separators; more events than one page load with
the button and by scrolling to the end; the filter hides rows as it should.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.protocol.people import NO_WORKSPACE
from lattice_rt_core.server import RealtimeServer
from tests.e2e.test_activity_browser import Page, sign_in

pytestmark = pytest.mark.browser


def set_locale(page: Page, locale: str, zone: str = "UTC") -> None:
    """The browser's locale and time zone for the documents loaded after this."""
    page.call("Emulation.setLocaleOverride")  # an override is replaced only once cleared
    page.call("Emulation.setLocaleOverride", locale=locale)
    page.call("Emulation.setTimezoneOverride", timezoneId=zone)


def dated_feed(page: Page, url: str, backs: Sequence[timedelta]) -> list[dict[str, Any]]:
    """Open ``url`` with the feed's answer changed on its way: its oldest events dated
    back by ``backs`` (oldest first), as history read back after a restart would be.
    Returns the events as the page got them, newest first."""
    page.call("Fetch.enable", patterns=[{"urlPattern": "*/realtime/feed*",
                                         "requestStage": "Response"}])
    page.navigate(url)
    paused = page.wait_event("Fetch.requestPaused")["params"]
    got = page.call("Fetch.getResponseBody", requestId=paused["requestId"])
    raw = base64.b64decode(got["body"]) if got["base64Encoded"] else got["body"].encode()
    body = json.loads(raw)
    for event, back in zip(reversed(body["events"]), backs, strict=False):
        when = datetime.fromisoformat(event["received_at"]) - back
        event["received_at"] = when.isoformat(timespec="milliseconds")
    headers = [h for h in paused["responseHeaders"] if h["name"].lower() != "content-length"]
    page.call("Fetch.fulfillRequest", requestId=paused["requestId"], responseCode=200,
              responseHeaders=headers,
              body=base64.b64encode(json.dumps(body).encode()).decode())
    page.call("Fetch.disable")
    events: list[dict[str, Any]] = body["events"]
    return events


def test_times_are_said_in_the_browsers_locale_as_the_app_says_them(
    page: Page, server: RealtimeServer
) -> None:
    now = "new Date('2026-06-03T14:05:10Z')"
    cases = {  # when -> (en-US, de-DE); UTC, "now" is Wednesday 3 June 2026, 14:05:10
        "2026-06-03T14:05:00Z": ("just now", "just now"),
        "2026-06-03T14:03:00Z": ("2 min ago", "2 min ago"),
        "2026-06-03T09:03:00Z": ("9:03 AM", "09:03"),
        "2026-06-02T21:40:00Z": ("yesterday 9:40 PM", "yesterday 21:40"),
        "2026-05-30T08:00:00Z": ("Sat 8:00 AM", "Sa 08:00"),
        "2025-12-24T18:30:00Z": ("Dec 24, 2025, 6:30 PM", "24. Dez. 2025, 18:30"),
        "not a time": ("", ""),
    }
    days = {"2026-06-03T01:00:00Z": ("Today", "Today"),
            "2026-06-02T23:00:00Z": ("Yesterday", "Yesterday"),
            "2026-05-30T08:00:00Z": ("Sat, May 30", "Sa., 30. Mai"),
            "2025-12-24T18:30:00Z": ("Dec 24, 2025", "24. Dez. 2025")}
    for column, locale in enumerate(("en-US", "de-DE")):
        set_locale(page, locale)
        page.navigate(f"{server.url}/activity")
        said = page.evaluate(
            f"{json.dumps(list(cases))}.map((t) => LatticeTime.eventTime(t, {now}))")
        # ICU puts a narrow no-break space before "AM"
        assert [" ".join(t.split()) for t in said] == [c[column] for c in cases.values()]
        labels = page.evaluate(
            f"{json.dumps(list(days))}.map((t) => LatticeTime.dayLabel(t, {now}))")
        assert labels == [d[column] for d in days.values()]
        full = " ".join(page.evaluate("LatticeTime.fullTime('2026-06-03T09:03:07Z')").split())
        assert full == ("Wednesday, June 3, 2026 at 9:03:07 AM UTC",
                         "Mittwoch, 3. Juni 2026 um 09:03:07 UTC")[
            column]


def test_the_feed_says_how_long_ago_with_the_time_as_tooltip_and_separates_days(
    page: Page, server: RealtimeServer
) -> None:
    set_locale(page, "en-GB")
    with RealtimeClient(server.url, server.owner_token) as client:
        for name in ("last-week", "yesterday", "today"):
            client.publish("workspace", "note_added", {"title": name})
        events = dated_feed(page, client.launch_url(),
                            [timedelta(days=6), timedelta(days=1)])
        page.wait_for("document.querySelector('#status[data-state=\"connected\"]')")
        live = client.publish("workspace", "note_added", {"title": "live"})
        page.wait_for(f"document.querySelector('#feed li[data-seq=\"{live['seq']}\"]')")
        rows = page.evaluate(
            "Array.from(document.querySelectorAll('#feed > li')).map((n) =>"
            " n.classList.contains('day') ? ['day', n.textContent] :"
            " [Number(n.dataset.seq), n.querySelector('time').textContent,"
            "  n.querySelector('time').title,"
            "  LatticeTime.fullTime(n.querySelector('time').getAttribute('datetime'))])"
        )
    week_ago = page.evaluate(f"LatticeTime.dayLabel({json.dumps(events[-1]['received_at'])},"
                             " new Date())")
    assert [r[:1] if r[0] != "day" else r for r in rows] == [
        ["day", "Today"], [live["seq"]], [events[0]["seq"]],
        ["day", "Yesterday"], [events[1]["seq"]],
        ["day", week_ago], [events[2]["seq"]],
    ]
    assert week_ago not in ("Today", "Yesterday")
    said = {r[0]: r[1] for r in rows if r[0] != "day"}
    assert said[live["seq"]] == said[events[0]["seq"]] == "just now"
    assert said[events[1]["seq"]].startswith("yesterday ")
    for row in rows:
        if row[0] != "day":
            assert row[2] == row[3] and re.search(r"\d\d:\d\d:\d\d", row[2])

    # three minutes later (the page's virtual clock: its timers and Date move on)
    page.call("Emulation.setVirtualTimePolicy", policy="advance", budget=180_000)
    page.wait_event("Emulation.virtualTimeBudgetExpired")
    shown, due = page.evaluate(
        f"(() => {{ const t = document.querySelector('#feed li[data-seq=\"{live['seq']}\"] time');"
        "  const minute = new Date(Math.floor(Date.now() / 60000) * 60000);"
        "  return [t.textContent, LatticeTime.eventTime(t.getAttribute('datetime'), minute)];"
        " })()"
    )
    # worded again on the minute: as of the last minute that began
    assert shown == due and shown in ("2 min ago", "3 min ago")


def feed_seqs(page: Page, shown: bool = False) -> list[int]:
    """The seqs of the feed's rows (only those shown, with ``shown``), top to bottom."""
    seqs: list[int] = page.evaluate(
        "Array.from(document.querySelectorAll('#feed li.event'))"
        f".filter((n) => {'n.checkVisibility()' if shown else 'true'})"
        ".map((n) => Number(n.dataset.seq))"
    )
    return seqs


def test_older_events_load_with_the_button_and_at_the_end_of_the_feed(
    page: Page, server: RealtimeServer
) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        burst = client.publish_many(
            [{"event_type": f"step_{n}", "payload": {"n": n}} for n in range(130)])
        seqs = [event["seq"] for event in burst][::-1]  # newest first
        sign_in(page, client)
        page.wait_for("document.querySelectorAll('#feed li.event').length === 50"
                      " && document.querySelector('#more').checkVisibility()")
        assert feed_seqs(page) == seqs[:50]
        page.evaluate("document.querySelector('#more').click()")
        page.wait_for("document.querySelectorAll('#feed li.event').length === 100"
                      " && !document.querySelector('#more').disabled")
        assert feed_seqs(page) == seqs[:100]
        # scrolled to the end of the feed, the page asks for the rest by itself
        page.evaluate("document.querySelector('#more').scrollIntoView()")
        page.wait_for("document.querySelectorAll('#feed li.event').length === 130"
                      " && !document.querySelector('#more').checkVisibility()")
        assert feed_seqs(page) == seqs
        live = client.publish("workspace", "note_added", {"title": "after the rest"})
        page.wait_for(f"document.querySelector('#feed li.event[data-seq=\"{live['seq']}\"]')")
        assert feed_seqs(page) == [live["seq"], *seqs]  # nothing asked for was trimmed


def choose(page: Page, selector: str, value: str, event: str = "change") -> None:
    """Set a filter control as a person would, and tell the page."""
    page.evaluate(
        f"(() => {{ const n = document.querySelector({json.dumps(selector)});"
        f" n.value = {json.dumps(value)};"
        f" n.dispatchEvent(new Event({json.dumps(event)}, {{bubbles: true}})); }})()"
    )


def shown_seqs(page: Page) -> list[int]:
    return feed_seqs(page, shown=True)


def test_the_feed_filters_by_workspace_area_and_words(
    page: Page, server: RealtimeServer
) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        made = [
            client.publish("workflow", "workflow_run", {"name": "Nightly import"},
                           workspace_id="ws-alpha"),
            client.publish("graph", "indexing_paused", {"graph_id": "papers"},
                           workspace_id="ws-beta"),
            client.publish("workflow", "workflow_failed", {"name": "Weekly report",
                                                           "error": "disk full"},
                           workspace_id="ws-beta"),
            client.publish("skills", "skill_installed", {"skill": "pdf-export"}),
        ]
        seq = [event["seq"] for event in made]
        sign_in(page, client)
        page.wait_for(f"document.querySelector('#feed li[data-seq=\"{seq[0]}\"]')")
        options = page.evaluate(
            "['#filter-workspace', '#filter-area'].map((s) =>"
            " Array.from(document.querySelectorAll(s + ' option')).map((o) => o.textContent))"
        )
        assert options == [["All workspaces", "ws-alpha", "ws-beta", NO_WORKSPACE],
                           ["All areas", "graph", "skills", "workflow"]]

        choose(page, "#filter-workspace", "ws-beta")
        assert shown_seqs(page) == [seq[2], seq[1]]
        assert page.evaluate("document.querySelector('#feed-count').textContent") == (
            "2 of 4 events")
        choose(page, "#filter-area", "workflow")
        assert shown_seqs(page) == [seq[2]]
        # a live event of another workspace stays hidden; one that matches shows
        other = client.publish("workflow", "workflow_run", {"name": "x"}, workspace_id="ws-gamma")
        match = client.publish("workflow", "workflow_run", {"name": "y"}, workspace_id="ws-beta")
        page.wait_for(f"document.querySelector('#feed li[data-seq=\"{match['seq']}\"]')")
        assert shown_seqs(page) == [match["seq"], seq[2]]
        assert page.evaluate(
            f"document.querySelector('#feed li[data-seq=\"{other['seq']}\"]').hidden")
        assert "ws-gamma" in page.evaluate(
            "Array.from(document.querySelectorAll('#filter-workspace option'))"
            ".map((o) => o.value)")

        choose(page, "#filter-workspace", "")
        choose(page, "#filter-area", "")
        choose(page, "#filter-text", "DISK  Weekly", "input")  # every word, any case
        assert shown_seqs(page) == [seq[2]]
        choose(page, "#filter-text", "<no such thing>", "input")
        assert shown_seqs(page) == []
        assert page.evaluate("document.querySelector('#feed-nomatch').checkVisibility()")
        choose(page, "#filter-text", "", "input")
        assert shown_seqs(page) == [match["seq"], other["seq"], *seq[::-1]]
        assert not page.evaluate("document.querySelector('#feed-nomatch').checkVisibility()")
