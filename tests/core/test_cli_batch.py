"""``lattice-rt publish --batch``: JSON lines, all checked first, sent in few requests."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lattice_rt_core.commands.publish import chunks, read_batch
from lattice_rt_core.commands.support import CliError
from lattice_rt_core.protocol.events import to_json
from lattice_rt_core.protocol.limits import ApiLimits
from lattice_rt_core.server import RealtimeServer
from tests.core.cli_helpers import assert_one_error_line, run


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LATTICE_RT_URL", "LATTICE_RT_TOKEN", "LATTICE_RT_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LATTICE_RT_DATA_DIR", str(tmp_path / "not-used"))


def _lines(*events: dict[str, object]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def _feed(capsys: pytest.CaptureFixture[str], data: str) -> list[dict[str, object]]:
    code, out, _ = run(capsys, "--data-dir", data, "feed", "--limit", "200")
    assert code == 0
    return [json.loads(line) for line in out]


def test_a_batch_file_is_published_in_one_request_and_printed(
    capsys, server: RealtimeServer, tmp_path: Path
) -> None:
    data = str(server.data_dir)
    batch = tmp_path / "events.jsonl"
    batch.write_text(_lines(
        {"area": "workflow", "event_type": "workflow_run", "workspace_id": "ws1",
         "payload": {"run_id": "r1"}},
        {"area": "graph", "event_type": "indexed", "nodes": 3},
    ) + "\n  \n")  # blank lines are no events
    code, out, err = run(capsys, "--data-dir", data, "publish", "--batch", str(batch))
    assert code == 0
    events = [json.loads(line) for line in out]
    assert [(e["seq"], e["area"], e["event_type"], e["actor"]) for e in events] == [
        (1, "workflow", "workflow_run", "owner"), (2, "graph", "indexed", "owner")]
    assert events[0]["payload"] == {"run_id": "r1"} and events[1]["nodes"] == 3
    assert err == ["lattice-rt: published 2 events (seq 1-2) in 1 request"]
    assert [e["seq"] for e in _feed(capsys, data)] == [1, 2]


def test_a_batch_from_standard_input(
    capsys, monkeypatch: pytest.MonkeyPatch, server: RealtimeServer
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(_lines({"area": "a", "event_type": "b"})))
    code, out, err = run(capsys, "--data-dir", str(server.data_dir), "publish", "--batch", "-")
    assert code == 0 and len(out) == 1
    assert err == ["lattice-rt: published 1 event (seq 1) in 1 request"]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("{nope", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: each event must be a JSON object"),
        ('{"event_type": "b"}', "line 2: 'area' is required"),
        ('{"area": "a"}', "line 2: 'event_type' is required"),
        ('{"area": "a", "event_type": "b", "workspace_id": ""}',
         "line 2: 'workspace_id' must be 1 to 128 characters"),
        ('{"area": "a\\u202e", "event_type": "b"}', "line 2: 'area' must not contain bidi"),
        ('{"area": "a", "event_type": "b", "payload": [1]}',
         "line 2: 'payload' must be a JSON object"),
        ('{"area": "a", "event_type": "b", "payload": {"x": "' + "y" * 70000 + '"}}',
         "line 2: event larger than 65536 bytes"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_published(
    capsys, server: RealtimeServer, tmp_path: Path, line: str, fragment: str
) -> None:
    data = str(server.data_dir)
    batch = tmp_path / "events.jsonl"
    batch.write_text(_lines({"area": "a", "event_type": "b"}) + line + "\n"
                     + _lines({"area": "a", "event_type": "c"}))
    code, out, err = run(capsys, "--data-dir", data, "publish", "--batch", str(batch))
    assert code == 2 and out == []
    assert_one_error_line(err, f"{batch}, {fragment}", "nothing was published")
    assert _feed(capsys, data) == []


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--batch", "{missing}"], "cannot read {missing}: No such file or directory"),
        (["--batch", "{empty}"], "{empty} has no events"),
        (["a", "b", "--batch", "{empty}"], "give no AREA, EVENT_TYPE, --payload or --workspace"),
        (["--workspace", "ws1", "--batch", "{empty}"], "give no AREA"),
        (["a"], "the following arguments are required: area, event_type (or --batch FILE)"),
    ],
)
def test_batch_usage_errors(capsys, tmp_path: Path, argv: list[str], fragment: str) -> None:
    paths = {"{missing}": str(tmp_path / "missing.jsonl"), "{empty}": str(tmp_path / "e.jsonl")}
    (tmp_path / "e.jsonl").write_text("\n")
    argv = [paths.get(a, a) for a in argv]
    for name, path in paths.items():
        fragment = fragment.replace(name, path)
    code, out, err = run(capsys, "publish", *argv)
    assert code == 2 and out == []
    assert_one_error_line(err, fragment)


def test_more_events_than_one_request_takes_go_in_several_under_their_own_keys(
    capsys, server: RealtimeServer, tmp_path: Path
) -> None:
    data = str(server.data_dir)
    batch = tmp_path / "events.jsonl"
    batch.write_text(_lines(*({"area": "bulk", "event_type": "row", "payload": {"n": n}}
                              for n in range(1001))))
    for _ in range(2):  # the same key again: every request is answered, none published again
        code, out, err = run(capsys, "--data-dir", data, "publish", "--batch", str(batch),
                             "--idempotency-key", "import-7")
        assert code == 0 and len(out) == 1001
        assert err == ["lattice-rt: published 1001 events (seq 1-1001) in 2 requests"]
    code, out, _ = run(capsys, "--data-dir", data, "feed", "--limit", "1")
    assert json.loads(out[0])["seq"] == 1001  # nothing past the first run's events


def test_a_batch_that_fails_half_way_says_what_was_published(
    capsys, server: RealtimeServer, tmp_path: Path
) -> None:
    data = str(server.data_dir)
    code, out, _ = run(capsys, "--data-dir", data, "user", "add", "ada", "-w", "ws1")
    ada = out[0]
    batch = tmp_path / "events.jsonl"
    rows = [{"area": "a", "event_type": "b", "workspace_id": "ws1"}] * 1000
    batch.write_text(_lines(*rows, {"area": "a", "event_type": "b", "workspace_id": "ws2"}))
    code, out, err = run(capsys, "--url", server.url, "--token", ada, "--data-dir", data,
                         "publish", "--batch", str(batch))
    assert code == 1 and len(out) == 1000
    assert_one_error_line(err, "published 1000 events (seq 1-1000), then failed from "
                               f"{batch} line 1001 on:", "give --idempotency-key")


def test_chunks_keep_to_the_count_and_the_body_size() -> None:
    events = [(n, {"area": "a", "event_type": "b", "payload": {"n": n}}) for n in range(1, 8)]
    one = len(to_json(events[0][1]).encode())
    by_count = list(chunks(events, ApiLimits(max_batch=3)))
    assert [[n for n, _ in c] for c in by_count] == [[1, 2, 3], [4, 5, 6], [7]]
    # two events and their brackets and comma fit exactly; a third does not
    tight = ApiLimits(max_body=2 + one + 1 + one)
    by_size = list(chunks(events, tight))
    assert [len(c) for c in by_size] == [2, 2, 2, 1]
    for chunk in by_size:
        assert len(to_json([e for _, e in chunk]).encode()) <= tight.max_body
    assert len(list(chunks(events, ApiLimits(max_body=2 + one + 1 + one - 1)))) == 7


def test_read_batch_keeps_line_numbers() -> None:
    text = '\n{"area": "a", "event_type": "b"}\n\n{"area": "c", "event_type": "d"}\n'
    assert [n for n, _ in read_batch(text, "f", ApiLimits())] == [2, 4]
    with pytest.raises(CliError, match=r"^f, line 1: 'area'"):
        read_batch('{"area": 5, "event_type": "b"}', "f", ApiLimits())
