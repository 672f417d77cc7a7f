"""Browser fixtures: the app served on a local port, and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from survey.screens import CHROMIUM_FLAGS

CHROMIUM = os.environ.get("SURVEY_CHROMIUM", "/usr/bin/chromium")
FLAGS = CHROMIUM_FLAGS  # without the network flags Chromium keeps calling outside hosts


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless; the tests are skipped, saying why, where it is missing."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("SURVEY_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM} and SURVEY_REQUIRE_BROWSER is set")
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's 'chromium' package (.ci/run does)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    """A fresh 360×640 phone page (no cookies, no storage)."""
    context = browser.new_context(
        viewport={"width": 360, "height": 640},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shoot(request):
    """Save a screenshot when SURVEY_SCREENSHOTS names a folder (for people to review)."""
    folder = os.environ.get("SURVEY_SCREENSHOTS")

    def save(page, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    return save
