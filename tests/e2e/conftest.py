"""Headless Chromium for the /activity page's tests (a fresh profile each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_activity_browser import Browser, Page, chromium_path


@pytest.fixture
def browser_flags() -> list[str]:
    """Chromium's flags beyond CHROMIUM_FLAGS (a module overrides this fixture)."""
    return []


@pytest.fixture
def browser(tmp_path: Path, browser_flags: list[str]) -> Iterator[Browser]:
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (scripts/sysdeps.sh test installs it)")
    chrome = Browser(tmp_path / "profile", flags=browser_flags)
    try:
        yield chrome
    finally:
        chrome.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    tab = browser.page()
    try:
        yield tab
    finally:
        tab.close()
