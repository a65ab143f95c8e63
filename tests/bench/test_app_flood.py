"""``python -m bench.app_flood`` runs the tray app through a small flood in both window states.

No timing is asserted (it is a measuring tool); what is checked is that every
event reaches the app's GUI thread, the window is in the asked state, the app
is tuned as ``main()`` tunes it, the output is complete, and a failure is
reported instead of waited for.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any QApplication, as tests/app does
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from bench import app_flood  # noqa: E402
from lattice_rt_tray import main  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture
def freezes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What settle_after_startup froze (never the test process's own objects)."""
    calls: list[int] = []
    monkeypatch.setattr(main, "freeze_survivors", lambda: calls.append(1) or 0)
    return calls


@pytest.mark.parametrize("window", ["shown", "hidden"])
def test_a_small_flood_reaches_the_app(qapp, freezes, tmp_path: Path, window: str) -> None:
    result = app_flood.measure(300, 0.3, window=window, home=tmp_path)
    assert result["error"] is None
    assert result["window"] == window
    assert result["activity_visible"] == (window == "shown")
    assert result["received"] == 300 and result["missed"] == 0
    assert result["rows_kept"] >= 300 and result["notifications"] >= 1
    assert result["beats"] > 0 and result["delivery_s"] is not None
    assert result["max_stall_ms"] >= 0 and result["p99_interval_ms"] > 0
    assert freezes == [1]  # as main() runs the app
    assert (tmp_path / "lattice-data").is_dir()  # the app's data went where it was told


def test_the_command_line_checks_its_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        app_flood.main(["--window", "minimised"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        app_flood.main(["--events", "0"])
    assert "--events and --period-ms must be at least 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="window must be one of"):
        app_flood.measure(10, 0.1, window="minimised")


def test_the_command_line_prints_one_json_object(
    qapp, freezes, capsys: pytest.CaptureFixture[str]
) -> None:
    code = app_flood.main(["--events", "50", "--seconds", "0.1", "--window", "hidden", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out["error"]
    assert out["events"] == 50 and out["received"] == 50 and out["window"] == "hidden"


def test_a_failing_publisher_is_reported_not_waited_for(
    qapp, freezes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_publisher(url: str, token: str, events: int, seconds: float
                         ) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"],
                                stdout=subprocess.PIPE, text=True)

    monkeypatch.setattr(app_flood, "spawn_publisher", broken_publisher)
    assert app_flood.main(["--events", "50", "--seconds", "0.1", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] == "the publisher failed with status 3"
    assert "app_flood: the publisher failed with status 3" in captured.err


def test_the_publisher_gets_the_token_outside_its_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a stand-in bench.publisher that reports what it was given
    script = tmp_path / "bench" / "publisher.py"
    script.parent.mkdir()
    (script.parent / "__init__.py").write_text("")
    script.write_text(
        "import json, os, sys\n"
        "print(json.dumps({'argv': sys.argv[1:], 'token': os.environ['LATTICE_RT_TOKEN']}))\n"
    )
    monkeypatch.setattr(app_flood, "REPO", tmp_path)
    child = app_flood.spawn_publisher("http://127.0.0.1:1", "s3cret", 10, 0.5)
    out, _ = child.communicate(timeout=30)
    seen = json.loads(out)
    assert seen["token"] == "s3cret" and "s3cret" not in seen["argv"]
    assert seen["argv"] == ["--url", "http://127.0.0.1:1", "--events", "10", "--seconds", "0.5"]
