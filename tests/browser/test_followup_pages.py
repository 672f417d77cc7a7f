"""The call-back offer (phone in vi and km, kiosk with its keypad) and the case pages in
Chromium: axe, reflow, the unticked box refused, the withdrawal code shown; screenshots."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey import cases, contacts, kiosks
from survey.extensions import db
from survey.followup_models import Contact
from survey.models import utcnow
from tests.browser.test_accessibility import check, reflow_and_spacing
from tests.builders import PASSWORD, make_user, rate


def _low_rating_on_the_phone(page, base: str, lang: str) -> None:
    page.goto(f"{base}/{lang}/s/HT-KHAISINH")
    page.click("label:has(input[name=OV][value='1'])")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/more$"))
    page.click("form[action$='/finish'] button")
    expect(page).to_have_url(re.compile("/call-back$"))


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_the_call_back_offer_on_a_phone(app, phone, live_server, shoot, lang):
    problems: list[str] = []
    _low_rating_on_the_phone(phone, live_server, lang)
    expect(phone.locator("#consent-1")).not_to_be_checked()
    check(phone, lang, "call-back offer", problems)
    shoot(phone, f"call-back-phone-{lang}")
    phone.fill("#phone-1", "0912 345 678")
    phone.click("main button[type=submit]")  # the box left unticked
    expect(phone.locator(".error-summary")).to_be_visible()
    check(phone, lang, "call-back without consent", problems)
    shoot(phone, f"call-back-phone-{lang}-no-consent")
    phone.fill("#phone-1", "0912 345 678")
    phone.click("label[for=consent-1]")
    phone.click("main button[type=submit]")
    expect(phone.locator(".withdrawal-code .code")).to_have_text(re.compile(r"^\w{4}-\w{4}$"))
    check(phone, lang, "thank-you with the code", problems)
    shoot(phone, f"call-back-phone-{lang}-code")
    reflow_and_spacing(phone, "thank-you with the code", problems)
    assert not problems, "\n".join(problems)


def test_the_call_back_offer_on_a_kiosk_uses_a_masked_keypad(app, browser, live_server, shoot):
    with app.app_context():
        token = kiosks.create_kiosk(unit="XA1", counter="XA1-Q01", name="Sảnh", actor="t")[1]
    page = browser.new_context(viewport={"width": 1080, "height": 1920}).new_page()
    page.goto(f"{live_server}/k/activate?token={token}")
    page.locator("main button[type=submit]").click()
    page.goto(f"{live_server}/k/vi/s/HT-KHAISINH")
    page.wait_for_function("() => window.kioskQueue !== undefined")
    page.click("button.face-tile[value='1']")
    expect(page).to_have_url(re.compile("/more$"))
    page.click("form[action$='/finish'] button")
    expect(page).to_have_url(re.compile("/call-back$"))
    expect(page.locator("#phone-1")).to_have_attribute("type", "password")
    for digit in "0912345678":
        page.click(f".keypad [data-digit='{digit}']")
    expect(page.locator("#phone-count")).to_contain_text("10")
    problems: list[str] = []
    check(page, "vi", "kiosk call-back", problems)
    shoot(page, "call-back-kiosk-vi")
    page.click("label[for=consent-1]")
    page.click("main button[type=submit]")
    expect(page.locator(".withdrawal-code .code")).to_be_visible()
    queued = page.evaluate("() => window.kioskQueue.all('outbox').then(items => items.length)")
    assert queued == 0 and not problems, problems
    with app.app_context():
        assert db.session.scalar(select(Contact.response_id)) is not None


@pytest.fixture
def followed(app):
    """A manager of XA1 and two cases: one overdue, one assigned to the manager."""
    with app.app_context():
        manager = make_user("manager@ag.vn", "manager", ("XA1",))
        late = rate(counter="XA1-Q01", answers={"OV": 1}, comment="Chờ hơn 2 tiếng chưa được gọi")
        contacts.store(late.id, "0912 345 678", now=utcnow() - timedelta(days=40))
        cases.open_case(late.id, now=utcnow() - timedelta(days=40))
        fresh = rate(counter="XA1-Q01", answers={"OV": 2}, comment="Cán bộ hướng dẫn chưa rõ")
        contacts.store(fresh.id, "0987 654 321", now=utcnow())
        case = cases.open_case(fresh.id, now=utcnow())
        case.assignee_id, case.state = manager.id, "in_progress"
        db.session.commit()
        return case.id


def test_the_case_list_and_a_case_page(browser, live_server, followed, shoot):
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.goto(f"{live_server}/admin/login")
    page.fill("#email", "manager@ag.vn")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    problems: list[str] = []
    page.goto(f"{live_server}/admin/cases")
    expect(page.locator("tr.overdue .tag-overdue")).to_have_text("Quá hạn")
    check(page, "vi", "case list", problems)
    shoot(page, "cases-list-vi")
    page.goto(f"{live_server}/admin/cases/{followed}")
    expect(page.locator(".masked-phone")).to_have_text("09•• ••• 321")
    check(page, "vi", "case page", problems)
    shoot(page, "case-page-vi")
    page.click("form[action$='/reveal'] button")
    expect(page.locator(".revealed-phone")).to_have_text("0987654321")
    shoot(page, "case-page-vi-revealed")
    reflow_and_spacing(page, "case page", problems)
    assert not problems, "\n".join(problems)
