"""The detailed survey on a 390 px phone, in Chromium: each criterion one row of five tiles that
a thumb can hit, each with its face and its words, and Khmer headings in the real bold face."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect


def detailed(page, base: str, lang: str, step: str) -> None:
    """Rate a procedure (overall question) and open the page `step` of the detailed survey."""
    page.goto(f"{base}/{lang}/s/HT-KHAISINH")
    page.click("label[for=OV-1]")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/more$"))
    page.goto(page.url.replace("/more", f"/{step}"))
    page.evaluate("document.fonts.ready")


ROWS = """() => Array.from(document.querySelectorAll('fieldset.rating-row')).map(f => {
  const tiles = Array.from(f.querySelectorAll('.choices label.radio'));
  return {
    legend: f.querySelector(':scope > legend').innerText.trim(),
    tops: tiles.map(t => Math.round(t.getBoundingClientRect().top)),
    sizes: tiles.map(t => [t.getBoundingClientRect().width, t.getBoundingClientRect().height]),
    words: tiles.map(t => t.querySelector('.choice-text').innerText.trim()),
    clipped: tiles.filter(t => t.scrollWidth > t.clientWidth + 1).length,
    marks: tiles.map(t => getComputedStyle(t.querySelector('.mark')).backgroundImage !== 'none'),
    na: f.querySelectorAll('label.level-na').length,
  };
})"""


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_each_criterion_is_one_row_of_five_tiles(live_server, phone, shoot, lang):
    page = phone
    page.set_viewport_size({"width": 390, "height": 844})
    detailed(page, live_server, lang, "tt")
    shoot(page, f"phone-{lang}-criteria")
    rows = page.evaluate(ROWS)
    assert len(rows) == 4  # TT1–TT4
    for row in rows:
        assert row["legend"] and len(set(row["tops"])) == 1, row  # one row, five tiles
        assert all(w >= 44 and h >= 44 for w, h in row["sizes"]), row
        assert len(row["words"]) == 5 and all(row["words"]) and row["clipped"] == 0, row
        assert all(row["marks"]) and row["na"] == 1, row
    words = page.locator("fieldset.rating-row").nth(1).locator(".choice-text").nth(3)
    box = words.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#TT2-4")).to_be_checked()  # a tap on the words chooses the level
    page.keyboard.press("ArrowLeft")  # the row is one radio group for the keyboard too
    expect(page.locator("#TT2-3")).to_be_checked()
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/cc$"))


def test_expectations_keep_their_four_levels_in_the_same_rows(live_server, phone, shoot):
    detailed(phone, live_server, "vi", "expectations")
    shoot(phone, "phone-vi-expectations")
    rows = phone.evaluate(ROWS)
    assert len(rows) == 10
    for row in rows:
        assert row["words"] == ["Rất mong muốn", "Mong muốn", "Ít mong muốn", "Không mong muốn"]
        assert len(set(row["tops"])) == 1 and all(row["marks"]) and row["na"] == 0


def test_khmer_headings_and_buttons_use_the_bold_face(live_server, phone):
    fonts: list[str] = []
    phone.on("requestfinished", lambda r: fonts.append(r.url) if ".woff2" in r.url else None)
    detailed(phone, live_server, "km", "tc")
    loaded = phone.evaluate("""() => Array.from(document.fonts)
        .filter(f => f.family.includes('Noto Sans Khmer') && f.status === 'loaded')
        .map(f => f.weight)""")
    assert sorted(loaded) == ["400", "700"]
    assert any("noto-sans-khmer-Bold" in url for url in fonts), fonts
    for selector in ("h1", "legend", "button[type=submit]"):
        assert phone.eval_on_selector(selector, "e => getComputedStyle(e).fontWeight") == "700"
