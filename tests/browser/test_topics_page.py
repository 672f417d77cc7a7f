"""The dashboard's topics and the correction of a comment's topics in Chromium, in Vietnamese
and Khmer: axe, reflow, and a correction made on the comment's page and shown as corrected on
the dashboard it came from."""

from __future__ import annotations

import csv
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from survey.models import utcnow
from tests.browser.test_accessibility import check, reflow_and_spacing
from tests.browser.test_flags_and_posters import sign_in
from tests.builders import make_user, rate

LABELLED = Path(__file__).parent.parent / "data" / "comment_topics.csv"


@pytest.fixture
def seeded(app):
    with app.app_context():
        make_user("manager@ag.vn", "manager", ("CTR",))
        with LABELLED.open(encoding="utf-8") as handle:
            comments = [row["comment"] for row in csv.DictReader(handle)][:40]
        for i, text in enumerate(comments):
            rate(
                unit="XA1" if i % 2 else "CTR",
                answers={"OV": 1 + i % 5, "TC1": 4},
                comment=text,
                captured_at=utcnow() - timedelta(days=i % 20, minutes=5 + i),
            )


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_the_topics_and_a_correction(browser, live_server, seeded, shoot, lang):
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(page, live_server, lang)
    problems: list[str] = []
    page.goto(f"{live_server}/admin/?period=this-month")
    section = page.locator("section[aria-labelledby=h-topics]")
    expect(section.locator("table.topics tbody tr")).to_have_count(8)
    check(page, lang, "dashboard with topics", problems)
    _shot(section, f"dashboard-topics-{lang}")
    shoot(page, f"dashboard-topics-page-{lang}")
    reflow_and_spacing(page, "dashboard with topics", problems)
    page.locator("table.comments tbody tr").first.locator("a.comment-handle").click()
    check(page, lang, "a comment's page", problems)
    _shot(page.locator("main"), f"correction-form-{lang}")
    reflow_and_spacing(page, "a comment's page", problems)
    form = page.locator("form.topic-fix")
    for box in form.locator("input[type=checkbox]").all():
        box.uncheck()
    form.locator("input[value=co_so_vat_chat]").check()
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/\?.*period=this-month.*#h-comments$"))
    first = page.locator("table.comments tbody tr").first
    expect(first.locator(".topic-tags li")).to_have_count(1)
    expect(first.locator(".topic-tags .by-hand")).to_be_visible()
    _shot(first, f"corrected-{lang}")
    page.goto(f"{live_server}/admin/topics")  # a manager reads the keywords, cannot edit them
    expect(page.locator("dl.lexicon dt")).to_have_count(8)
    check(page, lang, "topic keywords", problems)
    shoot(page, f"topic-keywords-{lang}")
    assert not problems, "\n".join(problems)


def _shot(locator, name: str) -> None:
    """Save a screenshot of one part of the page when SURVEY_SCREENSHOTS names a folder."""
    folder = os.environ.get("SURVEY_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        locator.screenshot(path=str(Path(folder) / f"{name}.png"))
