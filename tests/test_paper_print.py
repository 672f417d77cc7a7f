"""The printable paper questionnaire: an A4 PDF made from the questionnaire's data, one form per
serial number, in the language asked for."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from survey import questionnaire
from tests.builders import make_user, sign_in

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "phieu.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode()


@pytest.fixture
def viewer(app):
    with app.app_context():
        make_user("xem@xa1.vn", "viewer", ("XA1",))
    client = app.test_client()
    sign_in(client, "xem@xa1.vn")
    return client


@pytest.mark.parametrize("lang", ["vi", "en", "km"])
def test_every_question_and_each_serial_number(app, viewer, tmp_path, lang):
    reply = viewer.get(f"/admin/paper/forms.pdf?lang={lang}&prefix=tri-ton&first=41&count=3")
    assert reply.status_code == 200 and reply.mimetype == "application/pdf"
    text = pdf_text(reply.data, tmp_path)
    flat = " ".join(text.split())
    for serial in ("TRI-TON-000041", "TRI-TON-000042", "TRI-TON-000043"):
        assert serial in text
    assert "TRI-TON-000044" not in text
    pages = text.count("\f")
    assert 3 <= pages <= 6  # each form on pages of its own, two at most
    with app.app_context():
        q = questionnaire.active()
        codes = [q.overall_code, *q.criteria, *q.expectation_codes]
        first = q.elements[0]["criteria"][0]
    assert all(re.search(rf"\b{code}\b", text) for code in codes)
    if lang != "km":  # pdftotext does not give Khmer's stacked letters back in order
        assert " ".join(questionnaire.label(first, lang).split()) in flat


def test_a_wrong_print_run_is_refused_on_the_page(app, viewer):
    reply = viewer.get("/admin/paper/forms.pdf?lang=vi&prefix=P&first=1&count=900")
    assert reply.status_code == 400 and "từ 1 đến 500 phiếu" in reply.text
