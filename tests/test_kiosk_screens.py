"""The kiosk's screens as the server makes them: the start screen in three languages, the
procedures as tiles with their search, the overall question as five buttons, and the kiosk's
settings (its default language, the one procedure it may be bound to)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey import catalogue
from survey.extensions import db
from survey.models import KioskDevice, Response
from tests.builders import kiosk_token


@pytest.fixture
def kiosk(app, client):
    """A client that is an activated kiosk; `kiosk(language=…, service=…)` changes its settings."""
    with app.app_context():
        token = kiosk_token()
    client.post("/k/activate", data={"token": token})

    def configure(*, language: str = "vi", service: str | None = None):
        with app.app_context():
            device = db.session.scalar(select(KioskDevice))
            device.default_language = language
            device.service = catalogue.find_service(service) if service else None
            db.session.commit()
        return client

    return configure


def tiles(html: str) -> list[tuple[str, str]]:
    """(lang, href) of each language tile of the start screen, in order."""
    return re.findall(r'class="start-tile[^"]*" lang="(\w+)" hreflang="\w+" href="([^"]+)"', html)


def test_the_start_screen_greets_in_every_language_its_default_first(kiosk):
    page = kiosk(language="km").get("/k/").text
    assert '<html lang="km">' in page
    assert tiles(page) == [("km", "/k/km/"), ("vi", "/k/vi/"), ("en", "/k/en/")]
    for greeting in ("Đánh giá sự phục vụ", "Rate our service", "សូមវាយតម្លៃការបម្រើសេវារបស់យើង"):
        assert greeting in page
    # One tile per language: no second "start" button doing what the first tile does.
    assert page.count('<a class="start-tile') == 3
    assert page.count("Chạm để bắt đầu đánh giá") == 1


def test_a_kiosk_in_vietnamese_by_default(kiosk):
    page = kiosk().get("/k/").text
    assert '<html lang="vi">' in page and [lang for lang, _ in tiles(page)] == ["vi", "en", "km"]


def test_a_kiosk_bound_to_one_procedure_skips_the_procedures(kiosk):
    client = kiosk(language="vi", service="HT-KETHON")
    assert ("vi", "/k/vi/s/HT-KETHON") in tiles(client.get("/k/").text)
    choose = client.get("/k/en/")
    assert choose.status_code == 303 and choose.headers["Location"] == "/k/en/s/HT-KETHON"
    question = client.get("/k/vi/s/HT-KETHON").text
    assert "Chọn thủ tục khác" not in question  # nothing else to choose here


def test_the_procedures_are_tiles_by_field_and_searched_without_diacritics(kiosk):
    page = kiosk().get("/k/vi/").text
    assert page.count('class="tile"') == 3  # the active procedures (the retired one is not)
    assert 'data-words="dang ky ket hon' in page  # what the on-screen search looks in
    found = kiosk().get("/k/vi/?q=ket+hon").text
    assert "Đăng ký kết hôn" in found and "Đăng ký khai sinh" not in found
    # Without script, each key of the on-screen keyboard is a button that searches on.
    assert 'name="q" value="ket hona"' in found


def test_a_search_that_finds_nothing_says_so_in_one_line(kiosk):
    page = kiosk().get("/k/vi/?q=zzzz").text
    assert "Không tìm thấy thủ tục nào có từ “zzzz”." in page
    assert 'class="tile"' not in page


def test_one_face_tile_records_the_overall_rating(app, kiosk):
    client = kiosk()
    page = client.get("/k/vi/s/HT-KHAISINH").text
    buttons = re.findall(r'<button type="submit" class="face-tile level-(\d)"[^>]*name="OV"', page)
    assert buttons == ["5", "4", "3", "2", "1"]
    assert "Rất hài lòng" in page and "Rất không hài lòng" in page  # words with the faces
    rid = re.search(r'name="rid" value="([^"]+)"', page)[1]
    sent = client.post("/k/vi/s/HT-KHAISINH", data={"rid": rid, "OV": "2"})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/more")
    with app.app_context():
        stored = db.session.scalar(select(Response))
        assert (stored.channel, stored.answers[0].value) == ("kiosk", 2)


def test_the_procedures_most_rated_at_this_kiosk_come_first(kiosk):
    client = kiosk()
    for _ in range(2):
        rid = re.search(r'name="rid" value="([^"]+)"', client.get("/k/vi/s/HT-KETHON").text)[1]
        client.post("/k/vi/s/HT-KETHON", data={"rid": rid, "OV": "4"})
    page = client.get("/k/vi/").text
    frequent = page[page.index('class="field-group frequent"') : page.index("</section>")]
    assert re.findall(r'href="/k/vi/s/([^"]+)"', frequent) == ["HT-KETHON"]
    assert page.index('class="field-group frequent"') < page.index('id="field-HOTICH"')
