"""The privacy notice: in vi, en and km, linked from every citizen and kiosk page, CSP-ready."""

from __future__ import annotations

import re

import pytest

from tests.builders import kiosk_token


@pytest.mark.parametrize(
    ("lang", "heading"),
    [
        ("vi", "Cách chúng tôi sử dụng thông tin của Ông/Bà"),
        ("en", "How we use your information"),
        ("km", "របៀបដែលយើងប្រើប្រាស់ព័ត៌មានរបស់លោកអ្នក"),
    ],
)
def test_notice_in_each_language_names_the_law_and_the_hotline(app, client, lang, heading):
    app.config["SURVEY_HOTLINE"] = "0296 3 957 957"
    page = client.get(f"/{lang}/privacy")
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text and f"<h1>{heading}</h1>" in page.text
    for fact in ("91/2025/QH15", "356/2025/NĐ-CP", "0296 3 957 957"):
        assert fact in page.text
    # A strict Content-Security-Policy passes: no inline script or style.
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=", page.text)


@pytest.mark.parametrize(
    ("path", "notice"),
    [
        ("/vi/", "/vi/privacy"),
        ("/km/s/HT-KHAISINH", "/km/privacy"),
        ("/no-such-page", "/vi/privacy"),
    ],
)
def test_every_citizen_page_links_to_the_notice(client, path, notice):
    assert f'href="{notice}"' in client.get(path).text


def test_kiosk_pages_link_to_the_kiosk_notice(app, client):
    with app.app_context():
        token = kiosk_token(counter=None, name="Sảnh")
    client.set_cookie("kiosk_device", token)
    assert 'href="/k/km/privacy"' in client.get("/k/km/").text
    notice = client.get("/k/km/privacy")
    assert notice.status_code == 200 and 'class="lang-km kiosk"' in notice.text
