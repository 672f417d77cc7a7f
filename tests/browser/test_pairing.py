"""Pairing a kiosk in real Chromium: touch alone on the keypad, at the kiosk's and a phone's
width, checked with axe-core in vi and km (empty and with an error)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey import kiosks, pairing
from survey.extensions import db
from survey.models import KioskDevice
from tests.browser.test_accessibility import axe_violations, small_targets

SIZES = {"portrait": (1080, 1920), "phone": (360, 640)}


@pytest.fixture
def code(app):
    """A kiosk registered on the web (no credential yet) and its pairing code."""
    with app.app_context():
        settings = kiosks.Settings(name="Sảnh Tri Tôn", unit="XA1", counter=None, language="km")
        device = kiosks.register_kiosk(settings, actor="test")
        return pairing.issue_code(device, actor="test")


def screen(browser, size: str):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True)
    return context, context.new_page()


def tap_code(page, digits: str) -> None:
    for digit in digits:
        page.locator(f"button.key[value='{digit}']").tap()


@pytest.mark.parametrize("size", SIZES)
def test_staff_pair_a_kiosk_by_touch_alone(app, browser, live_server, code, size, shoot):
    context, page = screen(browser, size)
    page.goto(f"{live_server}/k/")
    expect(page.locator("h1")).to_have_text("Chưa kích hoạt")
    page.locator("main a.button").tap()
    expect(page.locator("h1")).to_have_text("Ghép nối ki-ốt")
    assert small_targets(page, "button.key, button.pair", 64, 64) == []
    tap_code(page, "9" + code[:3])
    page.locator("button.key[value='back']").tap()  # the keypad types on the page itself
    tap_code(page, code[3:])
    expect(page.locator("input[name=code]")).to_have_value("9" + code[:2] + code[3:])
    page.locator("button.key[value='clear']").tap()
    tap_code(page, code)
    expect(page.locator(".code-boxes .digit.filled")).to_have_count(8)
    shoot(page, f"pair-{size}")
    page.locator("button.pair").tap()
    expect(page.locator("body.kiosk")).to_be_visible()  # the kiosk's own start screen
    with app.app_context():
        assert db.session.scalar(select(KioskDevice.token_hash)) is not None
    context.close()


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_the_pairing_screen_passes_axe(browser, live_server, lang):
    context, page = screen(browser, "portrait")
    page.goto(f"{live_server}/k/pair?lang={lang}")
    assert axe_violations(page) == []
    tap_code(page, "12345678")
    page.locator("button.pair").tap()
    expect(page.locator(".error-summary")).to_be_visible()
    assert page.title().startswith("Lỗi: " if lang == "vi" else "កំហុស")
    assert axe_violations(page) == []
    context.close()
