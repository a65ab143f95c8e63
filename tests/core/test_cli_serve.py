"""``lattice-rt serve`` as a real process: one per data directory, TLS, what it says at start."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.discovery import discover
from tests.conftest import TlsFiles
from tests.core.cli_helpers import Proc, assert_one_error_line, run


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LATTICE_RT_URL", "LATTICE_RT_TOKEN", "LATTICE_RT_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LATTICE_RT_DATA_DIR", str(tmp_path / "not-used"))


def _banner(proc: Proc) -> dict[str, str]:
    """The start banner's lines by their label (the first line under "serving")."""
    first = proc.line()
    lines = {"serving": first.rsplit(" ", 1)[1]}
    while (line := proc.line()) != "Stop with Ctrl-C.":
        label, _, value = line.strip().partition(":")
        lines[label] = value.strip()
    return lines


def test_a_second_serve_on_the_data_dir_refuses_and_names_the_first(
    procs: list[Proc], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = Proc("serve", "--port", "0", "--data-dir", str(data))
    procs.append(first)
    banner = _banner(first)
    url = banner["serving"]
    info = (data / "server.json").read_text()
    # the command it names works as given (seen in a trial: `lattice-rt token` alone did not)
    assert banner["token"] == (f"{data / 'owner.token'} (`lattice-rt token --data-dir {data}` "
                               "prints it)")

    second = Proc("serve", "--port", "0", "--data-dir", str(data))
    procs.append(second)
    assert second.finish() == 1
    assert second.out.empty()  # no banner: it never served
    assert second.err_lines == [
        f"lattice-rt: error: data directory {data} is in use by the lattice-rt server at "
        f"{url} (pid {first.popen.pid}); stop it first, or give this one another --data-dir"
    ]
    assert (data / "server.json").read_text() == info  # neither rewritten nor removed

    with RealtimeClient(*discover(data)) as client:  # the CLI still finds the first
        assert [client.publish("a", f"e{n}")["seq"] for n in range(2)] == [1, 2]
    first.popen.send_signal(signal.SIGTERM)
    assert first.finish() == 0
    assert not (data / "server.json").exists()

    again = Proc("serve", "--port", "0", "--data-dir", str(data))
    procs.append(again)
    _banner(again)
    with RealtimeClient(*discover(data)) as client:
        assert client.publish("a", "after")["seq"] == 3  # one journal, one seq
    again.popen.send_signal(signal.SIGTERM)
    assert again.finish() == 0
    logs = first.err_lines + again.err_lines
    assert not [line for line in logs if "did not shut down cleanly" in line]
    assert not [line for line in logs if "WARNING" in line]


def test_serve_over_tls_and_clients_that_verify_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, procs: list[Proc],
    tmp_path: Path, tls_files: TlsFiles,
) -> None:
    data = tmp_path / "data"
    serve = Proc("serve", "--port", "0", "--data-dir", str(data),
                 "--tls-cert", str(tls_files.cert), "--tls-key", str(tls_files.key))
    procs.append(serve)
    url = _banner(serve)["serving"]
    assert url.startswith("https://127.0.0.1:")
    assert json.loads((data / "server.json").read_text())["url"] == url

    code, out, err = run(capsys, "--data-dir", str(data), "publish", "a", "b")
    assert code == 1 and out == []
    assert err == [f"lattice-rt: error: certificate verify failed for {url}: "
                   "unable to get local issuer certificate"]
    code, out, _ = run(capsys, "--data-dir", str(data), "--ca-file", str(tls_files.ca),
                       "publish", "a", "b")
    assert code == 0 and json.loads(out[0])["seq"] == 1
    monkeypatch.setenv("LATTICE_RT_CA_FILE", str(tls_files.ca))
    code, out, _ = run(capsys, "--data-dir", str(data), "feed")
    assert code == 0 and [json.loads(line)["seq"] for line in out] == [1]
    code, _, err = run(capsys, "--data-dir", str(data), "--ca-file", str(tmp_path / "no.pem"),
                       "feed")
    assert code == 1
    assert_one_error_line(err, f"cannot use CA file {tmp_path / 'no.pem'}")

    serve.popen.send_signal(signal.SIGTERM)
    assert serve.finish() == 0
    assert not [line for line in serve.err_lines if "WARNING" in line]  # loopback: no warning


def test_serve_with_a_bad_certificate_is_one_line(
    procs: list[Proc], tmp_path: Path, tls_files: TlsFiles
) -> None:
    serve = Proc("serve", "--port", "0", "--data-dir", str(tmp_path / "d"),
                 "--tls-cert", str(tls_files.key), "--tls-key", str(tls_files.key))
    procs.append(serve)
    assert serve.finish() == 1
    assert serve.err_lines == [
        f"lattice-rt: error: {tls_files.key} is not a PEM certificate"
    ]


def test_listening_on_every_address_without_tls_warns(procs: list[Proc], tmp_path: Path) -> None:
    serve = Proc("serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path / "d"))
    procs.append(serve)
    banner = _banner(serve)
    port = banner["serving"].rsplit(":", 1)[1]
    assert banner["serving"] == f"http://127.0.0.1:{port}"
    assert banner["listening"] == f"0.0.0.0:{port} (every IPv4 address of this machine)"
    warning = serve.wait_err("WARNING")
    assert warning == (
        f"lattice-rt: WARNING: listening on 0.0.0.0:{port} (every IPv4 address of this "
        "machine) without TLS: tokens and events cross the network in clear text; give "
        "--tls-cert and --tls-key, or listen on 127.0.0.1 behind a TLS reverse proxy"
    )


def test_a_tls_team_server_is_named_by_its_host_name(
    procs: list[Proc], tmp_path: Path, tls_files: TlsFiles
) -> None:
    serve = Proc("serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path / "d"),
                 "--allow-host", "team.lattice.test", "--tls-cert", str(tls_files.cert),
                 "--tls-key", str(tls_files.key))
    procs.append(serve)
    banner = _banner(serve)
    port = banner["listening"].split(" ", 1)[0].rsplit(":", 1)[1]
    assert banner["serving"] == f"https://team.lattice.test:{port}"  # what the cert names
    assert "team.lattice.test" in banner["hosts"]
    serve.popen.send_signal(signal.SIGTERM)
    assert serve.finish() == 0
    assert not [line for line in serve.err_lines if "WARNING" in line]
