"""The suspect-ratings page and the QR poster page in Chromium, in Vietnamese and Khmer: axe,
reflow, a whole page of ratings excluded at once with the "choose all" box."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from survey import flags, kiosks
from survey.extensions import db
from survey.models import Response, utcnow
from tests.browser.test_accessibility import check, reflow_and_spacing
from tests.builders import PASSWORD, make_user, rate

RATINGS = 53


@pytest.fixture
def seeded(app):
    with app.app_context():
        make_user("manager@ag.vn", "manager", ("CTR",))
        kiosk = kiosks.create_kiosk(unit="XA1", counter="XA1-Q01", name="Sảnh A", actor="t")[0]
        for i in range(RATINGS):
            response = rate(
                unit="XA1" if i % 2 else "CTR",
                channel="kiosk" if i % 2 else "qr",
                answers={"OV": 1 + i % 5, "TC1": 4, "TC2": None, "EX1": 3},
                captured_at=utcnow() - timedelta(minutes=5 + i),
            )
            response.kiosk_id = kiosk.id if i % 2 else None
            flags.set_flag(response, ("burst", "streak", "fast")[i % 3])


def sign_in(page, base: str, lang: str) -> None:
    page.goto(f"{base}/admin/language/{lang}?next=/admin/login")
    page.fill("#email", "manager@ag.vn")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page.locator(".logout button")).to_be_visible()


def confirmed(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(Response.flag_review.is_not(None)))


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_the_suspect_ratings_page(browser, live_server, app, seeded, shoot, lang):
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(page, live_server, lang)
    problems: list[str] = []
    page.goto(f"{live_server}/admin/flags?status=pending")
    page.locator(".answers details").first.locator("summary").click()
    check(page, lang, "suspect ratings", problems)
    shoot(page, f"flags-{lang}")
    reflow_and_spacing(page, "suspect ratings", problems)
    page.locator("button[name=decision][value=confirm]").last.click()
    expect(page.locator(".error-summary")).to_be_focused()
    check(page, lang, "suspect ratings with error", problems)
    shoot(page, f"flags-error-{lang}")
    page.check("#pick-all")
    assert page.locator("input.pick[name=id]:checked").count() == 50
    page.locator("button[name=decision][value=confirm]").last.click()
    expect(page.locator(".panel")).to_contain_text("50")
    assert confirmed(app) == 50
    assert page.locator("input.pick[name=id]").count() == RATINGS - 50  # still pending only
    check(page, lang, "suspect ratings after a decision", problems)
    page.goto(f"{live_server}/admin/qr")
    check(page, lang, "QR posters", problems)
    shoot(page, f"qr-{lang}")
    reflow_and_spacing(page, "QR posters", problems)
    page.context.close()
    assert problems == []
