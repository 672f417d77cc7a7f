"""The paper typing page in Chromium: a whole form typed with the keyboard only (digits and
Enter), counted once; the typing, import and print pages pass axe in vi and km."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey import catalogue, paper, questionnaire
from survey.extensions import db
from survey.filters import centre_today
from survey.models import Response
from tests.browser.test_accessibility import axe_violations
from tests.builders import PASSWORD, make_user


@pytest.fixture
def typist(app, browser, live_server):
    """A manager of XA1 signed in, in a desktop browser of their own (Vietnamese)."""
    with app.app_context():
        make_user("nhap@xa1.vn", "manager", ("XA1",))
        day = centre_today() - timedelta(days=2)
        q = questionnaire.active()
        items = [q.overall_code, *q.criteria, *q.expectation_codes]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{live_server}/admin/login")
    page.fill("#email", "nhap@xa1.vn")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server}/admin/")
    yield page, day, items
    page.context.close()


def test_a_whole_form_typed_with_the_keyboard_only(app, typist, live_server, shoot):
    page, day, items = typist
    page.goto(f"{live_server}/admin/paper")
    expect(page.locator("#pf-serial")).to_be_focused()  # ready to type at once
    page.keyboard.type("xa1-000042")
    page.keyboard.press("Enter")
    expect(page.locator("#pf-unit")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the second unit: Điểm phục vụ xã Một (XA1)
    page.keyboard.press("Enter")
    page.keyboard.type("HT-KHAISINH")
    page.keyboard.press("Enter")
    page.keyboard.type(day.strftime("%d/%m/%Y"))
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # the form's language: Tiếng Việt
    typed = {}
    for n, code in enumerate(items):
        expect(page.locator(f"#pf-{code}")).to_be_focused()
        digit = str(n % 4 + 1) if code.startswith("EX") else str(n % 6)  # 0 now and then
        page.keyboard.type(digit)
        typed[code] = None if digit == "0" else int(digit)
        page.keyboard.press("Enter")
    expect(page.locator("#pf-comment")).to_be_focused()
    shoot(page, "paper-entry-typed-vi")
    page.keyboard.press("Enter")  # an empty comment: on to the last field
    expect(page.locator("#pf-double")).to_be_focused()
    page.keyboard.press("Enter")  # Enter on the last field saves the form
    expect(page.get_by_role("status").first).to_contain_text("XA1-000042")
    expect(page.locator("#pf-serial")).to_be_focused()  # ready for the next form
    expect(page.locator("#pf-serial")).to_have_value("")
    expect(page.locator("#pf-unit")).to_have_value("XA1")  # a batch shares unit and date
    expect(page.locator("#pf-date")).to_have_value(day.strftime("%d/%m/%Y"))
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.channel == "paper" and response.unit.code == "XA1"
        assert {a.item: a.value for a in response.answers} == typed
        assert response.captured_at.date() in (day, day - timedelta(days=1))


def _disputed(app, day) -> None:
    """A form typed twice by two others, the typings differing on TC2 and the comment."""
    with app.app_context():
        q = questionnaire.active()
        unit, service = catalogue.find_unit("XA1"), catalogue.find_service("HT-KHAISINH")
        answers = {code: 4 for code in paper.items(q)}
        for who, tc2, comment in (("a@xa1.vn", 4, None), ("b@xa1.vn", 2, "Nhanh")):
            typed = paper.Typed(
                "XA1-000077", unit, service, day, "vi", answers | {"TC2": tc2}, comment
            )
            paper.enter(typed, q=q, actor=who, double=True)
        db.session.commit()


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_the_paper_pages_pass_axe(app, typist, live_server, shoot, lang):
    page, day, items = typist
    _disputed(app, day)
    page.goto(f"{live_server}/admin/language/{lang}?next=/admin/paper")
    expect(page.locator("#h-waiting + div")).to_contain_text("XA1-000077")
    shoot(page, f"paper-entry-{lang}")
    assert axe_violations(page) == []
    page.fill("#pf-serial", "XA1-1")
    page.fill("#pf-TC1", "9")
    page.click("form[data-paper-entry] button[type=submit]")
    expect(page.locator(".error-summary")).to_be_visible()
    shoot(page, f"paper-entry-errors-{lang}")
    assert axe_violations(page) == []
    for path, name in (("/admin/paper/import", "import"), ("/admin/paper/print", "print")):
        page.goto(f"{live_server}{path}")
        shoot(page, f"paper-{name}-{lang}")
        assert axe_violations(page) == []
