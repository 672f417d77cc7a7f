"""The webhooks page in Chromium, in Vietnamese and Khmer, with deliveries to two real receivers
on loopback (one healthy, one failing and paused): axe, reflow, and a re-send by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey import webhooks
from survey.extensions import db
from survey.models import utcnow
from survey.webhook_models import WebhookDelivery
from tests import webhook_receiver
from tests.browser.test_accessibility import check, reflow_and_spacing
from tests.builders import PASSWORD, make_user, rate, totp_code


@pytest.fixture
def receivers(app):
    """A healthy receiver and a failing one, reachable by the app."""
    good, good_server = webhook_receiver.start()
    bad, bad_server = webhook_receiver.start()
    bad.status = 500
    app.config["SURVEY_WEBHOOK_ALLOW_PRIVATE"] = "127.0.0.1"
    yield good, bad
    for server in (good_server, bad_server):
        server.shutdown()
        server.server_close()


@pytest.fixture
def seeded(app, receivers):
    """Ratings delivered to the healthy endpoint; the failing one paused after a day."""
    good, bad = receivers
    start = utcnow() - timedelta(days=2)
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        events = ["rating.recorded", "summary.daily"]
        webhooks.register(good.url, events, actor="admin@ag.vn", now=start)
        webhooks.register(bad.url, ["rating.recorded"], actor="admin@ag.vn", now=start)
        for n in range(3):
            rate(counter="XA1-Q01", answers={"OV": 3 + n % 3, "TC1": 4})
        webhooks.enqueue_new(now=start)
        now = start
        while not webhooks.paused_since(now=now):
            webhooks.deliver_due(now=now)
            now += timedelta(minutes=30)
        rate(answers={"OV": 5})
        webhooks.enqueue_new(now=now)
        webhooks.deliver_due(now=now)
    return good, bad


def sign_in(page, app, base: str, lang: str) -> None:
    page.goto(f"{base}/admin/language/{lang}?next=/admin/login")
    page.fill("#email", "admin@ag.vn")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.fill("#code", totp_code(app, "admin@ag.vn"))
    page.click("main button[type=submit]")
    expect(page.locator(".logout button")).to_be_visible()


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_the_webhooks_page(browser, live_server, app, seeded, shoot, lang):
    good, bad = seeded
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(page, app, live_server, lang)
    problems: list[str] = []
    page.goto(f"{live_server}/admin/webhooks")
    expect(page.locator(".webhook-paused")).to_contain_text(bad.url)
    check(page, lang, "webhooks", problems)
    shoot(page, f"webhooks-{lang}")
    reflow_and_spacing(page, "webhooks", problems)
    bad.status = 200
    with app.app_context():
        failed = db.session.scalar(
            select(WebhookDelivery.public_id).filter_by(status="failed").limit(1)
        )
    page.locator("form", has_text=failed).locator("button").click()
    expect(page.locator(".panel").first).to_be_visible()
    assert bad.received[-1].json["id"] == failed
    check(page, lang, "webhooks after a re-send", problems)
    page.goto(f"{live_server}/admin/webhooks")
    page.fill("#webhook-url", "https://[::1]/hook")
    page.check("#event-3")
    page.click("main form[action$='/admin/webhooks'] button[type=submit]")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".error-summary")).to_contain_text("::1")
    check(page, lang, "webhooks with an error", problems)
    shoot(page, f"webhooks-error-{lang}")
    page.context.close()
    assert problems == []
