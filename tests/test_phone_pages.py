"""What a citizen reads on a phone before and around the detailed survey: how long it is, which
centre they are rating, a hotline they can call, and one digit system in Khmer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from survey import questionnaire
from tests.builders import kiosk_token
from tests.test_journey import start

ROOT = Path(__file__).resolve().parent.parent
KHMER_DIGITS = re.compile("[\u17e0-\u17e9]")


def header(page: str) -> str:
    return re.search(r'<p class="site-name">(.*?)</p>', page.text, re.S).group(1).strip()


def detailed_pages(client, lang: str, rid: str) -> list[str]:
    """Every page of the detailed survey, in order, as a citizen reaches them."""
    pages, url = [], client.get(f"/{lang}/r/{rid}/more").text
    step = re.search(rf'href="/{lang}/r/{rid}/(\w+)"', url).group(1)
    while step != "comment":
        page = client.get(f"/{lang}/r/{rid}/{step}")
        pages.append(page.text)
        reply = client.post(f"/{lang}/r/{rid}/{step}", data={})
        step = reply.headers["Location"].rsplit("/", 1)[1]
    return pages


def test_the_start_pages_state_the_questions_the_survey_really_asks(client):
    # Counted from the data file, apart from the code that counts them for the page.
    data = json.loads((questionnaire.DATA_DIR / "sipas-2024.json").read_text("utf-8"))
    asked = sum(len(e["criteria"]) for e in data["elements"]) + len(data["expectations"])
    rid, _ = start(client)
    rows = sum(page.count("<legend>") for page in detailed_pages(client, "vi", rid))
    assert rows == asked == 26
    minutes = -(-asked * 8 // 60)  # 8 seconds a question, rounded up: 4
    wording = f"{asked} câu hỏi, khoảng {minutes} phút"
    assert wording in client.get("/vi/").text
    more = client.get(f"/vi/r/{start(client)[0]}/more").text
    assert f"có {asked} câu hỏi, mất khoảng {minutes} phút" in more
    assert f"Đánh giá chi tiết ({asked} câu hỏi)" in more
    assert "2 phút" not in more and "hai phút" not in more
    assert f"{asked} questions, about {minutes} minutes" in client.get("/en/").text


def test_each_criterion_is_a_fieldset_of_five_levels_and_not_applicable(client):
    rid, _ = start(client, lang="km")
    pages = detailed_pages(client, "km", rid)
    for page in pages[:-1]:  # the five elements
        for row in re.findall(r'<fieldset class="rating-row".*?</fieldset>', page, re.S):
            assert re.search(r"<legend>\S.*?</legend>", row, re.S)
            values = re.findall(r'type="radio" id="[^"]+" name="[^"]+" value="([^"]+)"', row)
            assert values == ["5", "4", "3", "2", "1", "na"]
            words = re.findall(r'<span class="choice-text"[^>]*>([^<]+)</span>', row)
            assert len(words) == 5 and all(w.strip() for w in words)
            assert row.count('class="mark"') == 5
    expectations = re.findall(r'<fieldset class="rating-row".*?</fieldset>', pages[-1], re.S)
    assert len(expectations) == 10
    for row in expectations:  # the SIPAS 4-level scale and its codes, without "not applicable"
        values = re.findall(r'type="radio" id="[^"]+" name="[^"]+" value="([^"]+)"', row)
        assert values == ["4", "3", "2", "1"] and "ចង់បានបន្តិច" in row


def test_english_rows_show_short_words_and_read_the_full_ones(client):
    rid, _ = start(client, lang="en")
    page = client.get(f"/en/r/{rid}/tc").text
    assert '<span class="choice-text" aria-hidden="true">Very good</span>' in page
    assert '<span class="visually-hidden">Very satisfied</span>' in page


@pytest.mark.parametrize(
    ("link", "name"),
    [
        ("/vi/s/HT-KHAISINH?unit=XA1", "Điểm phục vụ xã Một"),
        ("/vi/s/HT-KHAISINH?counter=XA1-Q01&via=qr", "Điểm phục vụ xã Một"),
        ("/km/s/HT-KHAISINH?counter=XA1-Q01&via=qr", "ចំណុចឃុំ"),
        ("/vi/s/HT-KHAISINH", "Trung tâm Phục vụ hành chính công tỉnh"),  # the default unit
    ],
)
def test_the_header_names_the_unit_being_rated(client, link, name):
    assert header(client.get(link)) == name
    assert header(client.get(link)) == name  # the page as kept for the next phone
    rid, _ = start(client, lang=link[1:3], query=link[link.index("/s/") + 14 :])
    assert header(client.get(f"{link[:3]}/r/{rid}/tc")) == name


def test_a_unit_that_asks_for_the_receipt_says_so_under_its_own_name(app, client, runner):
    assert runner.invoke(args=["visit-codes", "require", "--unit", "XA1"]).exit_code == 0
    page = client.get("/vi/s/HT-KHAISINH?unit=XA1")
    assert page.status_code == 403 and header(page) == "Điểm phục vụ xã Một"


def test_a_kiosk_names_its_own_unit(app, client):
    with app.app_context():
        token = kiosk_token(unit="XA1", counter=None)
    client.set_cookie("kiosk_device", token)
    assert header(client.get("/k/vi/")) == "Điểm phục vụ xã Một"
    assert header(client.get("/k/en/privacy")) == "Commune One service point"


def test_pages_without_a_unit_name_the_configured_centre(app, client):
    assert header(client.get("/vi/")) == "Trung tâm Phục vụ hành chính công"
    assert header(client.get("/km/privacy")) == "មជ្ឈមណ្ឌលបម្រើសេវារដ្ឋបាលសាធារណៈ"
    app.config["SURVEY_CENTRE_NAME"] = "Trung tâm Phục vụ hành chính công tỉnh An Giang"
    for link in ("/vi/", "/en/privacy", "/vi/no-such-page"):
        assert header(client.get(link)) == "Trung tâm Phục vụ hành chính công tỉnh An Giang"


def test_the_hotline_is_a_number_a_phone_can_call(app, client):
    app.config["SURVEY_HOTLINE"] = "0296.3 957-957"
    link = '<a class="tel" href="tel:02963957957">0296.3 957-957</a>'
    for url in ("/vi/", "/km/privacy", "/en/no-such-page"):
        page = client.get(url).text
        assert page.count(link) == (2 if "privacy" in url or "no-such" in url else 1), url


def test_khmer_uses_western_digits_everywhere(client):
    po = (ROOT / "translations" / "km" / "LC_MESSAGES" / "messages.po").read_text("utf-8")
    assert not KHMER_DIGITS.findall(po)
    for path in (ROOT / "survey" / "data").glob("*.csv"):
        assert not KHMER_DIGITS.findall(path.read_text("utf-8")), path
    assert not KHMER_DIGITS.findall(
        json.dumps(
            questionnaire.load_file(questionnaire.DATA_DIR / "sipas-2024.json"), ensure_ascii=False
        )
    )
    rid, _ = start(client, lang="km", query="?counter=CTR-Q01")
    links = ("/km/", f"/km/r/{rid}/more", "/km/nowhere", "/km/s/HT-KHAISINH?counter=CTR-Q01")
    pages = [client.get(link).text for link in links]
    pages += detailed_pages(client, "km", rid)
    for page in pages:
        assert not KHMER_DIGITS.findall(page)
    assert "បញ្ជរ 01" in pages[3] and "ជំហានទី 2 នៃ 8" in pages[4]  # "Counter 01", "Step 2 of 8"


def test_khmer_pages_declare_a_real_bold_face(client):
    css = client.get("/static/khmer.css").text
    faces = re.findall(r"@font-face \{(.*?)\}", css, re.S)
    declared = {
        re.search(r"font-weight: ([\d ]+);", face).group(1): re.search(r'url\("([^"]+)"', face)[1]
        for face in faces
    }
    assert declared == {
        "400": "fonts/noto-sans-khmer-Regular.woff2",
        "700": "fonts/noto-sans-khmer-Bold.woff2",
    }
    for name in declared.values():
        font = client.get(f"/static/{name}")
        assert font.status_code == 200 and font.data[:4] == b"wOF2"
        assert len(font.data) <= 30 * 1024
        font.close()
