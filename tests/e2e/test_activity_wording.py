"""The /activity page words events as the tray app does: a cross-check in Chromium.

The page's wording (``lattice_rt_core/static/wording.js``) is a port of the app's
(``lattice_rt_tray/logic/summary.py``): the core cannot import the app. A corpus
of events (every area and type the app's tests name, failures of each kind, odd
payloads and fields of the wrong type) is worded by the Python functions and by
the page's script in real headless Chromium, and the two must say the same.
Then events published to a real server must show in the page's rows with the
app's title, summary and failure mark.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.server import RealtimeServer
from lattice_rt_tray.logic.summary import (
    event_actor,
    event_summary,
    event_title,
    failure_line,
    is_failure,
    workspace_label,
)
from tests.e2e.test_activity_browser import Page, sign_in

pytestmark = pytest.mark.browser

_LONG = "a very long description of what happened, " * 6

CORPUS: list[dict[str, Any]] = [
    {"area": "workflow", "event_type": "workflow_run", "workspace_id": "ws_m", "actor": "grace",
     "payload": {"workflow_id": "wf_launch", "run_id": "run-41", "status": "ok"}},
    {"area": "workflow", "event_type": "workflow_failed", "workspace_id": "ws_m",
     "payload": {"workflow_id": "wf_launch", "run_id": "run-42", "status": "failed",
                 "error": "step 3 (render) timed out after 60 s", "attempt": 2}},
    {"area": "workspace", "event_type": "member_added", "workspace_id": "ws_sales",
     "payload": {"member": "margaret@example.com"}, "actor": "linus"},
    {"area": "graph", "event_type": "indexing_paused",
     "payload": {"graph_id": "papers", "status": "paused"}},
    {"area": "graph", "event_type": "answer_trace", "payload": {"query": "who owns Q3?"}},
    {"area": "plugins", "event_type": "plugin_enabled", "payload": {"plugin": "calendar-sync"}},
    {"area": "plugins", "event_type": "plugin_disabled", "payload": {"plugin_id": "p1",
                                                                     "enabled": False}},
    {"area": "skills", "event_type": "skill_installed", "workspace_id": None,
     "payload": {"skill": "pdf-export", "version": "4.2.1"}},
    {"area": "memory", "event_type": "memory_upserted", "payload": {"key": "q3-goals"}},
    {"area": "agent", "event_type": "agent_run", "payload": {"agent_id": "summariser",
                                                             "status": "ok"}},
    {"area": "agent", "event_type": "agent_run", "payload": {"error": {"code": 3}}},
    {"area": "agent", "event_type": "agent_run",
     "payload": {"error": {"detail": "quota  exceeded\n(hourly)"}}},
    {"area": "agent", "event_type": "agent_run", "payload": {"error": True}},
    {"area": "agent", "event_type": "agent_run", "payload": {"error": "  "}},
    {"area": "agent", "event_type": "agent_run", "payload": {"error": None, "reason": "manual"}},
    {"area": "sync", "event_type": "syncFailed", "payload": {"source_id": "drive"}},
    {"area": "runs", "event_type": "run_error", "payload": {}},
    {"area": "workflow", "event_type": "workflow_run", "payload": {"state": "Error"}},
    {"area": "workflow", "event_type": "workflow_run", "payload": {"result": "failure"}},
    {"area": "workspace", "event_type": "member_added", "payload": {"name": "failing team"}},
    {"area": "workspace", "event_type": "member_added", "workspace_id": "personal",
     "type": "timeline", "payload": {"workspace_id": "org_7", "user_id": "grace@example.org",
                                     "role": "admin"},
     "contract": {"schema": "lattice.realtime_event", "version": "1"}},
    {"area": "snapshots", "event_type": "snapshot-created",
     "payload": {"snapshot_id": "s9", "created_at": "2026-01-01T00:00:00Z", "size": 1200}},
    {"area": "templates", "event_type": "template_saved",
     "payload": {"title": "Weekly", "description": _LONG, "owner": "ada"}},
    {"area": "notes", "event_type": "note_added", "payload": {"text": _LONG}},
    {"area": "x", "event_type": "trailblazer", "payload": "failed"},
    {"area": "x", "event_type": "numbers", "payload": 42},
    {"area": "x", "event_type": "listed", "payload": [1, "two", None, True, {"k": "v"}]},
    {"area": "x", "event_type": "nested", "payload": {"a": {"b": 1}, "c": [1], "d": True}},
    {"area": "x", "event_type": "bare"},
    {"area": None, "event_type": None},
    {"area": "", "event_type": "", "payload": None},
    {"area": 7, "event_type": True, "workspace_id": 3, "actor": 5, "payload": {"id": 12}},
    {"area": "ssss", "event_type": "sync", "payload": {"name": "only s"}},
    {"area": "presence", "event_type": "join", "workspace_id": "ws_a",
     "payload": {"display_name": "Ada Lovelace", "user": "ada", "status": "active"}},
    {"area": "presence", "event_type": "leave", "workspace_id": "ws_a",
     "payload": {"user": "grace", "reason": "timeout"}},
    {"area": "presence", "event_type": "leave", "payload": {"user": "grace", "reason": "left"}},
    {"area": "presence", "event_type": "status", "workspace_id": "ws_a",
     "payload": {"display_name": "Ada", "status": "away", "status_text": "Lunch"}},
    {"area": "presence", "event_type": "status", "payload": {"status": "napping"}},
    {"area": "presence", "event_type": "heartbeat", "payload": "odd", "actor": "bot"},
    {"area": "workflow", "event_type": "workflow_run", "actor": "ada",
     "payload": {"title": "Nightly import", "status": "failed", "reason": "disk full",
                 "message": "see logs", "extra": "x" * 70, "updated_at": "now", "n": 0}},
]


def _python(event: dict[str, Any]) -> list[Any]:
    return [event_title(event), event_summary(event), is_failure(event), failure_line(event),
            workspace_label(event), event_actor(event)]


_SCRIPT = ("(events) => events.map((e) => [W.eventTitle(e), W.eventSummary(e), W.isFailure(e),"
           " W.failureLine(e), W.workspaceLabel(e), W.eventActor(e)])")


def test_the_page_words_every_event_of_the_corpus_as_the_app_does(
    page: Page, server: RealtimeServer
) -> None:
    assert len(CORPUS) >= 30
    page.navigate(f"{server.url}/activity")  # the sign-in page loads the wording too
    said = page.evaluate(f"(() => {{ const W = window.LatticeWording;"
                        f" return ({_SCRIPT})({json.dumps(CORPUS)}); }})()")
    for event, page_words in zip(CORPUS, said, strict=True):
        assert page_words == _python(event), event
    failures = [event for event, words in zip(CORPUS, said, strict=True) if words[2]]
    assert 8 <= len(failures) < len(CORPUS)  # the corpus has both, and says it the same


def test_published_events_show_in_the_page_with_the_apps_title_summary_and_mark(
    page: Page, server: RealtimeServer
) -> None:
    published = [e for e in CORPUS if e["area"] not in ("presence", None, "", 7)]
    with RealtimeClient(server.url, server.owner_token) as client:
        for event in published[:12]:
            client.publish(event["area"], event["event_type"], event.get("payload"),
                           workspace_id=event.get("workspace_id"))
        sign_in(page, client)
        for event in published[12:]:  # live, over the stream
            client.publish(event["area"], event["event_type"], event.get("payload"),
                           workspace_id=event.get("workspace_id"))
        feed = client.feed(limit=50)["events"]
        last = feed[0]["seq"]
        page.wait_for(f"document.querySelector('#feed li[data-seq=\"{last}\"]')")
        rows = page.evaluate(
            "Array.from(document.querySelectorAll('#feed li.event')).map((n) =>"
            " [Number(n.dataset.seq), n.querySelector('.title').textContent,"
            "  n.querySelector('.summary').firstChild?.nodeType === 3 ?"
            "  n.querySelector('.summary').firstChild.textContent : '',"
            "  n.classList.contains('failure'), n.querySelector('.chip').textContent])"
        )
    by_seq = {event["seq"]: event for event in feed}
    assert len(rows) == len(published) == len(by_seq)
    for seq, title, summary, failed, chip in rows:
        event = by_seq[seq]  # as the server enriched it (actor, received_at, seq)
        assert [title, summary, failed, chip] == [
            event_title(event), event_summary(event), is_failure(event), workspace_label(event)
        ]
    marked = page.evaluate(
        "Array.from(document.querySelectorAll('#feed li.failure .failure-mark'))"
        ".map((n) => n.title)"
    )
    assert marked == ["Failed"] * sum(is_failure(e) for e in feed) and marked

    # the failure's title reads well on its tinted row in both themes (WCAG AA: 4.5:1),
    # once the live rows' arrival highlight is over
    page.finish_animations()
    for scheme in ("light", "dark"):
        page.call("Emulation.setEmulatedMedia",
                  features=[{"name": "prefers-color-scheme", "value": scheme}])
        text, ground, plain = page.evaluate(
            "(() => { const row = document.querySelector('#feed li.failure');"
            " const other = document.querySelector('#feed li.event:not(.failure)');"
            " return [getComputedStyle(row.querySelector('.title')).color,"
            "  getComputedStyle(row).backgroundColor,"
            "  getComputedStyle(other).backgroundColor]; })()"
        )
        assert ground != plain  # the row is tinted
        assert _contrast(_rgb(text), _rgb(ground)) >= 4.5, (scheme, text, ground)


def _rgb(css: str) -> tuple[float, ...]:
    """``rgb(163, 27, 27)`` as its three channels, 0..1."""
    channels = css[css.index("(") + 1:css.index(")")].split(",")[:3]
    return tuple(int(c) / 255 for c in channels)


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    def luminance(rgb: tuple[float, ...]) -> float:
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    low, high = sorted((luminance(a), luminance(b)))
    return (high + 0.05) / (low + 0.05)
