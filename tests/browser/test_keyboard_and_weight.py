"""A keyboard-only journey, and the weight of the first question page on a phone."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey.extensions import db
from survey.models import Answer, Response


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    page.wait_for_load_state()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_whole_survey_with_a_keyboard_only(app, browser, live_server):
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.goto(f"{live_server}/vi/s/HT-KHAISINH")
    tab_to(page, "input[name=OV]")
    page.keyboard.press("Space")  # the first level: Rất hài lòng
    page.keyboard.press("ArrowDown")  # → Hài lòng
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/more$"))
    tab_to(page, "a.button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/tc$"))
    for element in ("tc", "tt", "cc", "kq", "pa"):
        expect(page).to_have_url(re.compile(f"/{element}$"))
        tab_to(page, "input[type=radio]")
        page.keyboard.press("Space")
        tab_to(page, "button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url, left=element: not url.endswith(f"/{left}"))
    expect(page).to_have_url(re.compile("/expectations$"))
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/comment$"))
    tab_to(page, "textarea")
    page.keyboard.type("Rất tốt")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/about-you$"))
    tab_to(page, "button[value=skip]")  # the optional profile, skipped
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/call-back$"))  # a comment: the call-back offer
    tab_to(page, "a.button.secondary")  # "Không, cảm ơn": no number left
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/thank-you$"))
    page.context.close()
    with app.app_context():
        response = db.session.scalar(select(Response))
        answers = dict(db.session.execute(select(Answer.item, Answer.value)).all())
    assert (response.status, response.comment) == ("complete", "Rất tốt")
    assert answers["OV"] == 4 and answers["TC1"] == 5 and answers["PA1"] == 5


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_first_question_page_weight(browser, live_server, lang):
    """≤ 100 KB transferred, ≤ 20 KB of script, nothing from another origin (UX.md)."""
    context = browser.new_context(viewport={"width": 360, "height": 640})
    page = context.new_page()
    loaded: list[tuple[str, str, int]] = []
    page.on(
        "requestfinished",
        lambda request: loaded.append(
            (
                request.url,
                request.resource_type,
                request.sizes()["responseBodySize"] + request.sizes()["responseHeadersSize"],
            )
        ),
    )
    page.goto(f"{live_server}/{lang}/s/HT-KHAISINH", wait_until="networkidle")
    page.evaluate("document.fonts.ready")
    context.close()
    origin = urlparse(live_server).netloc
    assert all(urlparse(url).netloc == origin for url, _, _ in loaded), loaded
    total = sum(size for _, _, size in loaded)
    script = sum(size for _, kind, size in loaded if kind == "script")
    assert any(kind == "font" for _, kind, _ in loaded)  # the self-hosted font is used
    assert any("khmer" in url for url, _, _ in loaded) == (lang == "km")
    assert total <= 100 * 1024 and script <= 20 * 1024, (total, script, loaded)
