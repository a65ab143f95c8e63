"""The page's screenshots script makes its three pictures (in real headless Chromium)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.e2e import page_shots
from tests.e2e.test_activity_browser import chromium_path

pytestmark = pytest.mark.browser


def test_the_script_makes_the_light_dark_and_sign_in_pictures(tmp_path: Path) -> None:
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (scripts/sysdeps.sh test installs it)")
    work = tmp_path / "work"
    work.mkdir()
    written = page_shots.shoot(tmp_path, work)
    assert [p.name for p in written] == [
        "activity-page-light.png", "activity-page-dark.png", "activity-signin.png"]
    sizes = []
    for path in written:
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        sizes.append(struct.unpack(">II", head[16:24]))
    assert sizes == [(page_shots.WIDTH, page_shots.HEIGHT)] * 2 + [(page_shots.WIDTH, 420)]
    assert written[0].read_bytes() != written[1].read_bytes()  # the dark one is another picture
