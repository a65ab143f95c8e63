"""Tokens, launch codes and sessions never reach a log line, even at DEBUG with access logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.auth.callers import SecretRedactor
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.hardening.helpers import bearer


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_text:
            text += "\n" + record.exc_text
        self.lines.append(f"{record.name}: {text}")


@pytest.fixture
def chatty(data_dir: Path) -> Iterator[tuple[RealtimeServer, Capture]]:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                                      log_level="debug", access_log=True))
    srv.start()
    capture = Capture()
    # uvicorn configures its loggers (propagate off) when the server starts:
    # listen on each logger the server emits through, after that
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "lattice_rt_core")
    previous = {n: logging.getLogger(n).level for n in names}
    for name in names:
        logging.getLogger(name).addHandler(capture)
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield srv, capture
    finally:
        srv.stop()
        for name in names:
            logging.getLogger(name).removeHandler(capture)
            logging.getLogger(name).setLevel(previous[name])


def test_a_launch_code_login_leaves_no_secret_in_the_logs(
    chatty: tuple[RealtimeServer, Capture],
) -> None:
    # fails without: `self._install_redactor()` in RealtimeServer.start (the
    # access log then shows /activity?code=<the code>)
    srv, capture = chatty
    token = srv.owner_token
    assert token
    launch = httpx.post(srv.url + "/realtime/launch", headers=bearer(token)).json()
    code = launch["code"]
    with httpx.Client(base_url=srv.url) as browser:
        r = browser.get(f"/activity?code={code}", headers={"Sec-Fetch-Site": "none"})
        assert r.status_code == 200 and code in r.text
        session = browser.post("/realtime/session", json={"code": code}).json()["session"]
        assert browser.get("/realtime/feed",
                           headers={"Authorization": f"Session {session}"}).status_code == 200
        assert browser.get(f"/activity?code={code}").status_code == 401  # used: logged again
    # a careless client putting the owner token in a URL is redacted as well
    httpx.get(srv.url + f"/realtime/feed?token={token}&limit=1")
    httpx.get(srv.url + f"/realtime/stream?access_token={token}")

    logged = "\n".join(capture.lines)
    assert "/activity?code=[redacted]" in logged  # the requests were logged ...
    assert "/realtime/feed?token=[redacted]&limit=1" in logged
    for secret in (code, session, token):  # ... their secrets were not
        assert secret not in logged


def test_the_redactor_keeps_access_log_arguments_usable() -> None:
    # uvicorn's AccessFormatter unpacks record.args: they must stay a 5-tuple
    redactor = SecretRedactor(["s3cret"])
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/activity?code=abc&x=1", "1.1", 303), None,
    )
    assert redactor.filter(record)
    assert record.args == ("127.0.0.1:5", "GET", "/activity?code=[redacted]&x=1", "1.1", 303)
    try:
        raise ValueError("cannot use token s3cret for Bearer abc.def")
    except ValueError:
        import sys

        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s",
                                    (ValueError("lrt_session=zzz"),), sys.exc_info())
    redactor.filter(failing)
    assert failing.getMessage() == "failed: lrt_session=[redacted]"
    assert failing.exc_text and "s3cret" not in failing.exc_text
    assert "Bearer [redacted]" in failing.exc_text
