"""TLS: a real HTTPS server with test certificates, clients that verify it, one-line failures."""

from __future__ import annotations

import json
import queue
import socket
import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.api import ApiError, ClientState
from lattice_rt_core.net.plain import PlainRequests
from lattice_rt_core.net.tls import (
    TlsError,
    check_server_files,
    client_context,
    describe,
)
from lattice_rt_core.server import RealtimeServer, ServerConfig, ServerError
from tests.conftest import TlsFiles

WAIT = 20.0


@pytest.fixture
def https_server(data_dir: Path, tls_files: TlsFiles) -> Iterator[RealtimeServer]:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                                      tls_cert=tls_files.cert, tls_key=tls_files.key))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_the_server_speaks_https_and_says_so_in_server_json(
    https_server: RealtimeServer, tls_files: TlsFiles
) -> None:
    assert https_server.url == f"https://127.0.0.1:{https_server.port}"
    info = json.loads((https_server.data_dir / "server.json").read_text())
    assert info["url"] == https_server.url
    with RealtimeClient(https_server.url, https_server.owner_token,
                        ca_file=tls_files.ca) as client:
        assert client.health()["status"] == "ok"
        assert client.publish("workflow", "workflow_run")["seq"] == 1


def test_the_stream_over_https_with_the_extra_ca(
    https_server: RealtimeServer, tls_files: TlsFiles
) -> None:
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    connected: queue.Queue[str] = queue.Queue()
    client = RealtimeClient(
        https_server.url, https_server.owner_token, ca_file=str(tls_files.ca),
        on_event=events.put,
        on_state=lambda state, detail: state is ClientState.CONNECTED and connected.put(detail),
    )
    with client:
        client.start()
        assert connected.get(timeout=WAIT) == f"connected to {https_server.url}"
        published = client.publish("graph", "indexed", {"n": 1}, workspace_id="ws1")
        assert events.get(timeout=WAIT) == published


def test_an_unknown_ca_is_one_line_on_requests_and_on_the_stream(
    https_server: RealtimeServer,
) -> None:
    expected = (f"certificate verify failed for {https_server.url}: "
                "unable to get local issuer certificate")
    with RealtimeClient(https_server.url, https_server.owner_token) as client:
        with pytest.raises(ApiError) as failed:
            client.feed()
    assert str(failed.value) == expected and failed.value.status == 0

    details: queue.Queue[str] = queue.Queue()
    stream = RealtimeClient(
        https_server.url, https_server.owner_token,
        on_state=lambda state, detail: state is ClientState.RECONNECTING and details.put(detail),
    )
    with stream:
        stream.start()
        detail = details.get(timeout=WAIT)
    assert detail.startswith(expected + "; retrying in ")
    assert "\n" not in detail and "Traceback" not in detail


def _both_fail(url: str) -> str:
    """What a feed request to ``url`` fails with: the same from both kinds of requests."""
    words = []
    for kind in (PlainRequests, RealtimeClient):
        with kind(url, "t0ken") as client, pytest.raises(ApiError) as failed:
            client.feed()
        words.append(str(failed.value))
    assert words[0] == words[1]
    return words[0]


def test_the_standard_librarys_requests_verify_alike(
    https_server: RealtimeServer, tls_files: TlsFiles
) -> None:
    # what the CLI's one-shot commands use: the same context, the same one line
    with PlainRequests(https_server.url, https_server.owner_token, ca_file=tls_files.ca) as ok:
        assert ok.publish("workflow", "workflow_run")["seq"] == 1
    assert _both_fail(https_server.url) == (f"certificate verify failed for {https_server.url}: "
                                            "unable to get local issuer certificate")


def test_the_standard_librarys_requests_to_a_plain_server_fail_alike(
    server: RealtimeServer,
) -> None:
    url = server.url.replace("http://", "https://")
    assert _both_fail(url).startswith(f"TLS handshake with {url} failed: ")


def test_a_certificate_for_another_name_is_refused(data_dir: Path, tmp_path: Path) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("elsewhere.lattice.test")
    cert, key, ca_file = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, tls_cert=cert, tls_key=key))
    srv.start()
    try:
        for kind in (RealtimeClient, PlainRequests):
            with kind(srv.url, srv.owner_token, ca_file=ca_file) as client:
                with pytest.raises(ApiError) as failed:
                    client.health()
            assert str(failed.value).startswith(f"certificate verify failed for {srv.url}: ")
            assert "127.0.0.1" in str(failed.value)  # the name it was asked for
    finally:
        srv.stop()


def test_https_to_a_plain_http_server_says_what_is_wrong(server: RealtimeServer) -> None:
    url = server.url.replace("http://", "https://")
    with RealtimeClient(url, server.owner_token) as client:
        with pytest.raises(ApiError) as failed:
            client.health()
    message = str(failed.value)
    assert message.startswith(f"TLS handshake with {url} failed: ")
    assert message.endswith("(is it a plain http:// server?)")


def test_a_ca_file_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(TlsError, match=f"^cannot use CA file {missing}: "):
        client_context(missing)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ApiError) as failed:
        RealtimeClient("https://127.0.0.1:1", ca_file=garbage)
    assert str(failed.value).startswith(f"cannot use CA file {garbage}: ")
    assert RealtimeClient("http://127.0.0.1:1", ca_file=missing).base_url  # unused for http


def test_the_client_context_trusts_the_system_store() -> None:
    context = client_context()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.parametrize("broken", ["cert", "key", "pair"])
def test_unusable_server_files_refuse_to_start_in_one_line(
    data_dir: Path, tls_files: TlsFiles, tmp_path: Path, broken: str
) -> None:
    cert, key = tls_files.cert, tls_files.key
    if broken == "cert":
        cert = tmp_path / "missing.pem"
    elif broken == "key":
        key = tmp_path / "key.pem"
        key.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    else:  # a valid key of another certificate
        key = tmp_path / "other.key"
        trustme.CA().issue_cert("x.test").private_key_pem.write_to_path(str(key))
    with pytest.raises(ServerError) as refused:
        RealtimeServer(ServerConfig(port=0, data_dir=data_dir, tls_cert=cert,
                                    tls_key=key)).start()
    message = str(refused.value)
    assert "\n" not in message and "_ssl.c" not in message
    assert str(cert if broken == "cert" else key) in message
    assert not (data_dir / "server.json").exists()
    with pytest.raises(TlsError):
        check_server_files(cert, key)


def test_a_certificate_without_a_key_is_refused(data_dir: Path, tls_files: TlsFiles) -> None:
    with pytest.raises(ServerError, match="both a certificate and its key"):
        RealtimeServer(ServerConfig(port=0, data_dir=data_dir, tls_cert=tls_files.cert)).start()


def test_describe_ignores_what_is_not_tls() -> None:
    assert describe(ConnectionRefusedError(111, "Connection refused"), "https://x") is None


def test_the_server_refuses_tls_below_1_2(
    https_server: RealtimeServer, tls_files: TlsFiles
) -> None:
    """What SECURITY.md says; Python (3.10 and later) sets TLS 1.2 as the server's minimum."""
    context = ssl.create_default_context(cafile=str(tls_files.ca))
    with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("ALL:@SECLEVEL=0")  # let this client offer what it may not
    with socket.create_connection(("127.0.0.1", https_server.port), timeout=WAIT) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="127.0.0.1").close()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", https_server.port), timeout=WAIT) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.2"

