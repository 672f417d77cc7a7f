"""The kiosk's screens in real Chromium, at 1080×1920 and 1920×1080: accessibility, touch
targets, a screen filled by its content, three taps to a rating, and a reset that leaves
nothing behind and returns to the kiosk's own language.

Time is the browser's (Playwright's clock): nothing waits for real minutes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from survey import catalogue, demo, kiosks
from survey.extensions import db
from survey.models import Answer, KioskDevice, Response
from tests.browser.test_accessibility import axe_violations, small_targets

SIZES = [(1080, 1920), (1920, 1080)]
STORAGE = "() => localStorage.length + sessionStorage.length"
TARGETS = [
    ("main a, main button, main summary, dialog button, .lang-switch a", 48, 48),
    (".face-tile", 64, 64),
]
# How much of the screen's height the main content spans: from the top of its first part to
# the bottom of its last (the header and the footer are not content).
FILLED = """() => {
  const parts = Array.from(document.querySelectorAll('main > *'))
    .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect());
  const top = Math.min(...parts.map(r => r.top)), bottom = Math.max(...parts.map(r => r.bottom));
  return (bottom - top) / window.innerHeight;
}"""


@pytest.fixture
def open_kiosk(app, browser, live_server):
    """`open_kiosk(size, language=…, service=…)`: a page that is a kiosk with those settings,
    on its start screen."""
    contexts = []

    def open_(size=SIZES[0], *, language="vi", service=None, unit="XA1", counter="XA1-Q01"):
        with app.app_context():
            device, token = kiosks.create_kiosk(
                unit=unit, counter=counter, name="Sảnh", actor="test"
            )
            device.default_language = language
            device.service = catalogue.find_service(service) if service else None
            db.session.commit()
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        contexts.append(context)
        page = context.new_page()
        page.clock.install()
        page.goto(f"{live_server}/k/activate?token={token}")
        page.locator("main button[type=submit]").click()
        expect(page.locator(".start-tile")).to_have_count(3)
        return page

    yield open_
    for context in contexts:
        context.close()


def settled(page) -> None:
    """Wait until the kiosk script has started (its timers exist) before moving the clock."""
    page.wait_for_function("() => window.kioskQueue !== undefined")


def stored(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(Answer.item, Answer.value))]


# Text smaller than the kiosk's sizes (UX.md: body ≥ 24 px, headings ≥ 32 px), and Khmer text
# set tighter than 1.8 times its size.
TEXT_SIZES = """() => Array.from(document.querySelectorAll('main *, dialog[open] *'))
  .filter(e => e.offsetParent !== null && Array.from(e.childNodes)
    .some(n => n.nodeType === 3 && n.textContent.trim()))
  .map(e => [e, getComputedStyle(e)])
  .filter(([e, s]) => {
    const size = parseFloat(s.fontSize), khmer = e.closest('[lang]').lang === 'km';
    const tight = khmer && !(parseFloat(s.lineHeight) / size >= 1.8);
    return tight || size < (e.matches('h1, h1 *, .legend-page') ? 32 : 24);
  })
  .map(([e, s]) => `${e.tagName}.${e.className} "${e.textContent.trim().slice(0, 20)}"`
       + ` ${s.fontSize}/${s.lineHeight}`)"""


def checked(page, state: str, problems: list[str], *, filled: bool = True) -> None:
    """axe, the touch targets, the text sizes and how much of the screen the content fills."""
    problems.extend(f"{state}: {v}" for v in axe_violations(page))
    problems.extend(f"{state}: small text {t}" for t in page.evaluate(TEXT_SIZES))
    for selector, width, height in TARGETS:
        problems.extend(f"{state}: small {t}" for t in small_targets(page, selector, width, height))
    share = page.evaluate(FILLED)
    if filled and share < 0.8:
        problems.append(f"{state}: the content spans {share:.0%} of the screen's height")


@pytest.fixture
def province(app):
    """The demo catalogue (57 procedures in 19 fields) with ratings: a real kiosk's list."""
    with app.app_context():
        catalogue.import_csv(catalogue.DEMO_FILE.read_bytes())
        demo.seed_responses(400, seed=3, now=datetime.now(UTC))
        return demo.first_commune_code()


@pytest.mark.parametrize("lang", ["vi", "km", "en"])
@pytest.mark.parametrize("size", SIZES, ids=["portrait", "landscape"])
def test_every_kiosk_screen_fits_its_screen(app, open_kiosk, province, shoot, size, lang):
    page, problems = open_kiosk(size, language=lang, unit=province, counter=None), []
    name = f"kiosk-{size[0]}x{size[1]}-{lang}"
    expect(page.locator("html")).to_have_attribute("lang", lang)
    checked(page, "start", problems)
    shoot(page, f"{name}-1-start")
    page.locator(f".start-tile[lang={lang}]").click()
    expect(page.locator(".tile").first).to_be_visible()
    checked(page, "procedures", problems)
    shoot(page, f"{name}-2-procedures")
    for key in ("k", "h", "a", "i"):
        page.click(f".key[data-key={key}]")
    with app.app_context():  # the same procedures as the server's search finds
        found = sum(len(g.services) for g in catalogue.services_by_field(query="khai", locale=lang))
    expect(page.locator("li[data-words]:visible")).to_have_count(found)
    # (a search's results fill what they fill: the screen is not measured here)
    checked(page, "procedures, searched on screen", problems, filled=False)
    shoot(page, f"{name}-3-search")
    page.locator("li[data-words]:visible a").first.click()
    expect(page.locator(".face-tile")).to_have_count(5)
    settled(page)
    checked(page, "overall question", problems)
    shoot(page, f"{name}-4-question")
    page.clock.run_for(61_000)
    expect(page.locator("#idle-dialog")).to_be_visible()
    checked(page, "idle dialog", problems, filled=False)
    shoot(page, f"{name}-5-idle")
    page.click("#idle-continue")
    page.click(".face-tile.level-4")
    expect(page).to_have_url(re.compile("/more$"))
    checked(page, "recorded, more?", problems)
    shoot(page, f"{name}-6-more")
    page.click("form[data-step=finish] button")
    expect(page).to_have_url(re.compile("/thank-you$"))
    expect(page.locator(".countdown")).to_be_visible()
    checked(page, "thank-you", problems)
    shoot(page, f"{name}-7-thank-you")
    assert problems == []


def test_three_taps_from_the_start_screen_to_a_recorded_rating(app, open_kiosk):
    page = open_kiosk()
    page.locator(".start-tile[lang=vi]").click()  # 1
    page.locator(".tile", has_text="Đăng ký kết hôn").first.click()  # 2
    page.click(".face-tile.level-5")  # 3
    expect(page).to_have_url(re.compile("/more$"))
    assert stored(app) == [("OV", 5)]


def test_a_kiosk_bound_to_one_procedure_rates_it_in_two_taps(app, open_kiosk):
    page = open_kiosk(SIZES[1], service="HT-KETHON")
    page.locator(".start-tile[lang=en]").click()  # 1
    expect(page.locator(".caption")).to_contain_text("Marriage registration")
    page.click(".face-tile.level-2")  # 2
    expect(page).to_have_url(re.compile("/more$"))
    with app.app_context():
        assert db.session.scalar(select(Response.locale)) == "en"
    assert stored(app) == [("OV", 2)]


def test_the_idle_reset_leaves_nothing_and_returns_to_the_kiosk_language(app, open_kiosk):
    page = open_kiosk(language="km")
    page.locator(".start-tile[lang=vi]").click()  # a citizen chooses Vietnamese
    page.locator(".tile", has_text="Đăng ký khai sinh").first.click()
    page.click(".face-tile.level-1")
    expect(page).to_have_url(re.compile("/more$"))
    page.click(".actions a.button")  # the detailed survey
    page.click("label[for=TC1-2]")
    settled(page)
    page.clock.run_for(61_000)
    expect(page.locator("#idle-count")).to_have_attribute("aria-live", "polite")
    page.clock.run_for(31_000)
    expect(page).to_have_url(re.compile("/k/$"))
    expect(page.locator("html")).to_have_attribute("lang", "km")  # the kiosk's own language
    expect(page.locator(".start-tile").first).to_have_attribute("lang", "km")
    assert page.evaluate(STORAGE) == 0
    page.go_back()  # the back button shows no earlier answers
    assert page.locator("input:checked").count() == 0
    assert stored(app) == [("OV", 1)]  # the first tap counted, before the reset


def test_start_over_and_done_return_to_the_kiosk_language(app, open_kiosk):
    page = open_kiosk(SIZES[1], language="km")
    page.locator(".start-tile[lang=en]").click()
    page.locator(".tile").first.click()
    settled(page)
    page.clock.run_for(61_000)
    page.click("#idle-restart")  # "Start over", without waiting for the countdown
    expect(page).to_have_url(re.compile("/k/$"))
    expect(page.locator("html")).to_have_attribute("lang", "km")
    page.locator(".start-tile[lang=vi]").click()
    page.locator(".tile").first.click()
    page.click(".face-tile.level-3")
    page.click("form[data-step=finish] button")  # "Xong"
    expect(page).to_have_url(re.compile("/thank-you$"))
    page.click("[data-done]")
    expect(page).to_have_url(re.compile("/k/$"))
    expect(page.locator("html")).to_have_attribute("lang", "km")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        assert db.session.scalar(select(KioskDevice.default_language)) == "km"


def test_the_thank_you_page_counts_down_then_returns(open_kiosk):
    page = open_kiosk()
    page.locator(".start-tile[lang=vi]").click()
    page.locator(".tile").first.click()
    page.click(".face-tile.level-5")
    page.click("form[data-step=finish] button")
    expect(page.locator(".countdown")).to_contain_text("20")
    settled(page)
    page.clock.run_for(5_000)
    expect(page.locator(".countdown")).to_contain_text("15")
    page.clock.run_for(16_000)
    expect(page).to_have_url(re.compile("/k/$"))


def test_the_on_screen_keyboard_searches_without_diacritics(open_kiosk):
    page = open_kiosk()
    page.locator(".start-tile[lang=vi]").click()
    for key in ("k", "e", "t", " ", "h", "o", "n"):
        page.click(f".key[data-key='{key}']")
    expect(page.locator("#q")).to_have_value("ket hon")
    expect(page.locator("li[data-words]:visible")).to_have_text(["Đăng ký kết hôn"])
    page.click(".key[data-key=z]")
    expect(page.locator("#search-status")).to_have_text(
        "Không tìm thấy thủ tục nào có từ “ket honz”."
    )
    page.click(".key[data-key=back]")
    expect(page.locator("#search-status")).to_be_hidden()
    page.click(".key[data-key=clear]")
    expect(page.locator("li[data-words]:visible")).to_have_count(3)
