"""The alert choices page, the dashboard's open alerts, the redaction page and the digest
e-mail's HTML part, in Chromium in Vietnamese and Khmer: axe, reflow, and screenshots."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from survey import alerts, digest, kiosks, schedule
from survey.extensions import db
from survey.models import utcnow
from tests.browser.test_accessibility import check, reflow_and_spacing
from tests.builders import PASSWORD, make_user, rate
from tests.mailbox import Mailbox, parts

SHOTS = Path(os.environ.get("SURVEY_SCREENSHOTS") or "/work/wt/shots/alerts")


@pytest.fixture
def seeded(app):
    """A manager of XA1 with every alert and the digest, yesterday's ratings, a silent kiosk."""
    box = Mailbox().start()
    app.config["SURVEY_SMTP_URL"] = box.url
    with app.app_context():
        user = make_user("manager@ag.vn", "manager", ("XA1",))
        alerts.save_preference(user, kinds=["kiosk", "index"], digest=True, locale="vi")
        now = utcnow()
        for i in range(12):
            rate(
                counter="XA1-Q01",
                answers={"OV": 1 + i % 5},
                captured_at=now - timedelta(hours=1 + i),
                comment="Chờ hơi lâu ở quầy" if i % 3 == 0 else None,
            )
        device = kiosks.create_kiosk(unit="XA1", counter="XA1-Q01", name="Sảnh A", actor="t")[0]
        monday = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 10:00 in Ho Chi Minh City
        device.last_heartbeat = monday - timedelta(hours=2)
        db.session.commit()
        assert schedule.check_kiosks(now=monday) == 1
    yield box
    box.stop()


def _sign_in(page, base: str, lang: str) -> None:
    page.goto(f"{base}/admin/language/{lang}?next=/admin/login")
    page.fill("#email", "manager@ag.vn")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page.locator(".logout button")).to_be_visible()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_the_alert_pages(browser, live_server, app, seeded, lang):
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    _sign_in(page, live_server, lang)
    problems: list[str] = []
    page.goto(f"{live_server}/admin/account/alerts")
    check(page, lang, "alert choices", problems)
    _shot(page, f"preferences-{lang}")
    reflow_and_spacing(page, "alert choices", problems)
    page.check("input[value=flags]")
    page.click("main button[type=submit]")
    expect(page.locator("[role=status]").first).to_be_visible()
    page.goto(f"{live_server}/admin/?unit=XA1")
    expect(page.locator(".alerts-open")).to_contain_text("Sảnh A")
    check(page, lang, "dashboard with alerts", problems)
    _shot(page, f"dashboard-alerts-{lang}")
    page.locator(".comment-handle").first.click()
    check(page, lang, "a comment's page", problems)
    _shot(page, f"comment-{lang}")
    reflow_and_spacing(page, "a comment's page", problems)
    page.locator("main a[href*=redact]").click()
    check(page, lang, "redaction", problems)
    _shot(page, f"redact-{lang}")
    reflow_and_spacing(page, "redaction", problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_the_digest_email_in_a_browser(browser, app, seeded, lang):
    with app.app_context():
        alerts.save_preference(
            alerts.recipients(None)[0][0], kinds=["kiosk"], digest=True, locale=lang
        )
        now = utcnow() + timedelta(days=1)
        assert digest.send_digests(now=now.replace(hour=2)) == 1  # 09:00 local, the next day
    _text, html = parts(seeded.messages[-1])
    assert "Chờ hơi lâu" not in html
    page = browser.new_context(viewport={"width": 700, "height": 900}).new_page()
    page.set_content(html)
    problems: list[str] = []
    check(page, lang, "digest e-mail", problems)
    _shot(page, f"digest-{lang}")
    assert not problems, "\n".join(problems)
