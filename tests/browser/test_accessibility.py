"""Every page, in every language and state, checked in Chromium: axe-core (WCAG 2.2 AA tags),
target sizes, reflow at 320 px, text spacing, English left on vi or km pages, unique titles."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import axe_playwright_python
import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Page

from survey import demo, kiosks
from survey.screens import citizen_tour, kiosk_tour, manager_tour
from tests.builders import PASSWORD, make_user

AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LANGS = ["vi", "en", "km"]
ROOT = Path(__file__).resolve().parents[2]
TEXT_SPACING = """* { line-height: 1.5 !important; letter-spacing: 0.12em !important;
  word-spacing: 0.16em !important; } p { margin-bottom: 2em !important; }"""


def settle(page: Page) -> None:
    """Wait until the page's stylesheets and fonts are in: layout measured before the load event
    is the unstyled page's (a keypad key measured 23x21 px under a loaded CI machine)."""
    page.wait_for_load_state("load")
    page.evaluate("() => document.fonts.ready.then(() => true)")


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page, one line each (measured once the fonts are in)."""
    settle(page)
    page.evaluate(AXE)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
        for v in result["violations"]
    ]


def small_targets(page: Page, selector: str, width: int, height: int) -> list[str]:
    """Visible targets smaller than width × height CSS px."""
    settle(page)
    return page.evaluate(
        """([selector, w, h]) => Array.from(document.querySelectorAll(selector))
        .filter(e => e.offsetParent !== null)
        .map(e => [e, e.getBoundingClientRect()])
        .filter(([e, r]) => r.width < w || r.height < h)
        .map(([e, r]) => `${e.tagName}.${e.className} "${e.textContent.trim().slice(0, 30)}"`
             + ` ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        [selector, width, height],
    )


def ungrouped_radios(page: Page) -> list[str]:
    """Radios outside a fieldset whose legend names the question (axe does not check it)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('input[type=radio]'))
        .filter(r => { const f = r.closest('fieldset');
                       const l = f && f.querySelector(':scope > legend');
                       return !l || !l.textContent.trim(); })
        .map(r => r.name + '=' + r.value)""")


def overflows(page: Page) -> bool:
    """True when the page scrolls sideways."""
    settle(page)
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")


def english_words() -> list[str]:
    """English msgids (several words, no placeholder) that the vi catalogue translates."""
    with open(ROOT / "translations" / "vi" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    return [
        m.id
        for m in catalogue
        if isinstance(m.id, str)
        and m.id
        and "%" not in m.id
        and len(m.id.split()) >= 2
        and m.string != m.id
    ]


ENGLISH = english_words()


def check(page: Page, lang: str, state: str, problems: list[str], *, targets=None) -> str:
    """Run every check on the page as it is now; return its title."""
    assert page.get_attribute("html", "lang") == lang, state
    problems.extend(f"{state}: {v}" for v in axe_violations(page))
    problems.extend(
        f"{state}: radio without fieldset and legend: {r}" for r in ungrouped_radios(page)
    )
    if targets:
        for selector, width, height in targets:
            problems.extend(
                f"{state}: small target {t}" for t in small_targets(page, selector, width, height)
            )
    if lang != "en":
        # Text marked as written in another language (the kiosk's greeting in each) is not
        # left over: only the page's own language is read.
        text = page.evaluate(
            """lang => { const copy = document.body.cloneNode(true);
                copy.querySelectorAll(`[lang]:not([lang=${lang}])`).forEach(e => e.remove());
                document.body.append(copy); const text = copy.innerText; copy.remove();
                return text; }""",
            lang,
        )
        problems.extend(f"{state}: English left: {w!r}" for w in ENGLISH if w in text)
    return page.title()


def reflow_and_spacing(page: Page, state: str, problems: list[str]) -> None:
    """At 320 CSS px, and with WCAG 1.4.12 text spacing, nothing scrolls sideways."""
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    if overflows(page):
        problems.append(f"{state}: horizontal scroll at 320 px")
    # A constructed style sheet: the page's CSP (rightly) refuses an injected <style>.
    page.evaluate(
        """css => { const sheet = new CSSStyleSheet(); sheet.replaceSync(css);
                    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; }""",
        TEXT_SPACING,
    )
    if overflows(page):
        problems.append(f"{state}: horizontal scroll with text spacing")
    page.set_viewport_size(size)


PHONE_TARGETS = [("button, a.button, label.radio, .service-list a, .lang-switch a", 44, 44)]
KIOSK_TARGETS = [
    ("button, a.button, .service-list a, .lang-switch a", 48, 48),
    ("label.radio", 64, 64),
]


@pytest.fixture
def seeded(app):
    with app.app_context():
        make_user("admin@ag.vn", "admin", two_factor=False)  # the tour sets it up
        demo.seed_responses(600, seed=3, now=datetime(2026, 6, 1, tzinfo=UTC))
        return kiosks.create_kiosk(unit="XA1", counter="XA1-Q01", name="Sảnh", actor="t")[1]


def run_tour(
    page: Page, tour: Callable, base: str, lang: str, *, targets, reflow: bool
) -> list[str]:
    problems, titles, refused = [], {}, []
    # Whatever the strict Content-Security-Policy refuses shows in the console: a page that
    # depends on it has lost part of its look or behaviour.
    page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None)
    for state in tour(page, base, lang):
        title = check(page, "vi" if "attract" in state else lang, state, problems, targets=targets)
        if (
            "error" not in state
            and "idle" not in state
            and "without" not in state
            and "attract" not in state
        ):
            titles.setdefault(title, []).append(state)
        if reflow:
            reflow_and_spacing(page, state, problems)
    problems.extend(f"refused by the CSP: {text}" for text in refused)
    problems.extend(
        f"same title {t!r} on {s}"
        for t, s in titles.items()
        if len(s) > 1 and not {"recorded, more?", "kiosk recorded, more?"} & set(s)
    )
    return problems


@pytest.mark.parametrize("lang", LANGS)
def test_citizen_pages(browser, live_server, seeded, lang):
    context = browser.new_context(viewport={"width": 360, "height": 640})
    problems = run_tour(
        context.new_page(), citizen_tour, live_server, lang, targets=PHONE_TARGETS, reflow=True
    )
    context.close()
    assert problems == []


@pytest.mark.parametrize("lang", LANGS)
def test_kiosk_pages(browser, live_server, seeded, lang):
    context = browser.new_context(viewport={"width": 1080, "height": 1920})
    page = context.new_page()
    page.clock.install()
    page.goto(f"{live_server}/k/activate?token={seeded}")
    page.locator("main button[type=submit]").click()  # the confirmation page
    problems: list[str] = []
    problems += run_tour(page, kiosk_tour, live_server, lang, targets=KIOSK_TARGETS, reflow=False)
    context.close()
    assert problems == []


@pytest.mark.parametrize("lang", LANGS)
def test_manager_pages(browser, live_server, seeded, lang):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tour = functools.partial(manager_tour, email="admin@ag.vn", password=PASSWORD)
    problems = run_tour(context.new_page(), tour, live_server, lang, targets=None, reflow=True)
    context.close()
    assert problems == []
