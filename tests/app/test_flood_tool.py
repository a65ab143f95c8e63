"""``python -m lattice_rt_tray.flood`` runs the app through a small flood in both window states.

No timing is asserted (it is a measuring tool); what is checked is that the
events reach the app, the window is in the asked state and the output is
complete.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lattice_rt_tray import flood, main


@pytest.mark.parametrize("window", ["shown", "hidden"])
def test_a_small_flood_reaches_the_app(qapp, monkeypatch, window):
    freezes: list[int] = []
    monkeypatch.setattr(main, "freeze_survivors", lambda: freezes.append(1) or 0)
    result = flood.measure_flood(300, 0.3, window=window)
    assert result["window"] == window
    assert result["delivered"] == 300 and result["missed"] == 0
    assert result["rows_kept"] >= 300 and result["notifications"] >= 1
    assert result["longest_stall_ms"] >= result["p99_stall_ms"] >= -flood.TICK_MS
    assert freezes == [1]  # as main() runs the app


def test_the_command_line_checks_its_arguments(capsys):
    with pytest.raises(SystemExit) as exit_info:
        flood.main(["--window", "minimised"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        flood.main(["--events", "0"])
    assert "--events must be at least 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="window must be one of"):
        flood.measure_flood(10, 0.1, window="minimised")


def test_the_command_line_prints_one_json_object(qapp, monkeypatch, capsys):
    monkeypatch.setattr(main, "freeze_survivors", lambda: 0)
    assert flood.main(["--events", "50", "--seconds", "0.1", "--window", "hidden", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["events"] == 50 and out["delivered"] == 50 and out["window"] == "hidden"


def test_a_failing_publisher_is_reported_not_waited_for(qapp, monkeypatch, capsys):
    monkeypatch.setattr(main, "freeze_survivors", lambda: 0)

    def broken_publisher(url, token, events, seconds):
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"],
                                stdout=subprocess.PIPE, text=True)

    monkeypatch.setattr(flood, "_spawn_publisher", broken_publisher)
    assert flood.main(["--events", "50", "--seconds", "0.1", "--json"]) == 1
    assert "flood: the publisher failed with status 3" in capsys.readouterr().err
