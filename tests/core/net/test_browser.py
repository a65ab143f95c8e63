"""Starting a browser, and knowing when it did not start (real launcher processes).

Each case runs in a child Python whose PATH holds only a fake ``xdg-open``
(the launcher :mod:`webbrowser` picks on a Linux desktop when no browser is
installed under a name it knows) and whose ``DISPLAY`` is set, so the real
selection logic of :mod:`webbrowser` runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xdg-open")

PROBE = """
import sys
from lattice_rt_core.net.browser import open_browser
print(repr(open_browser(sys.argv[1], wait=float(sys.argv[2]))))
"""


def _run(tmp_path: Path, launcher: str, wait: float = 20.0, name: str = "xdg-open") -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / name
    fake.write_text("#!/bin/sh\n" + launcher)
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "WAYLAND_DISPLAY")}
    env.update(PATH=str(bin_dir), DISPLAY=":93",
               OPENED=str(tmp_path / "opened"), XDG_CURRENT_DESKTOP="")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "http://127.0.0.1:1/activity?code=c", str(wait)],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    return result.stdout.strip()


def test_a_launcher_that_hands_over_counts_as_opened(tmp_path: Path) -> None:
    assert _run(tmp_path, 'echo "$1" > "$OPENED"\nexit 0\n') == "None"
    assert (tmp_path / "opened").read_text() == "http://127.0.0.1:1/activity?code=c\n"


def test_a_launcher_that_fails_is_reported_with_what_it_said(tmp_path: Path) -> None:
    said = _run(tmp_path, 'echo "xdg-open: no method available for opening $1" >&2\nexit 3\n')
    assert said == repr("xdg-open exited with status 3: xdg-open: no method available for "
                        "opening http://127.0.0.1:1/activity?code=c")


def test_a_launcher_still_running_is_the_browser_itself(tmp_path: Path) -> None:
    # a browser started in the foreground of its launcher: it outlives the wait
    assert _run(tmp_path, "exec /bin/sleep 10\n", wait=0.5) == "None"


def test_a_browser_that_dies_after_its_launcher_handed_over_is_reported(tmp_path: Path) -> None:
    # seen in a trial: `lattice-rt open` as root said the page was opened; xdg-open had
    # started Chromium and exited 0, and Chromium refused to run as root
    said = _run(tmp_path, "( /bin/sleep 0.2; echo 'Running as root without --no-sandbox is not "
                          "supported.' >&2; exit 1 ) &\nexit 0\n")
    assert said == repr("the browser xdg-open started exited with status 1: Running as root "
                        "without --no-sandbox is not supported.")


def test_a_browser_still_running_after_the_hand_over_counts_as_opened(tmp_path: Path) -> None:
    assert _run(tmp_path, "( exec /bin/sleep 10 ) &\nexit 0\n") == "None"


def test_a_browser_webbrowser_starts_itself_is_watched_too(tmp_path: Path) -> None:
    # with no xdg-open, webbrowser runs Chromium itself and answers True once the process
    # exists; as root it exits at once (its log line's prefix is left out)
    said = _run(tmp_path, "echo 'warming up' >&2\n"
                          "echo '[5293:5293:1207/163704.888538:ERROR:zygote_host_impl_linux.cc:103]"
                          " Running as root without --no-sandbox is not supported.' >&2\n"
                          "exit 1\n", name="chromium")
    assert said == repr("chromium exited with status 1: Running as root without --no-sandbox "
                        "is not supported.")
