"""The printed QR poster: its code, measured on the rendered page, is wide and decodes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from survey.extensions import db
from survey.models import Service
from tests.builders import make_user, sign_in

DPI = 100
MM_PER_PX = 25.4 / DPI
GAP_MM = 6  # text lines sit closer than this; the code's quiet zone is wider
PUBLIC = "https://khaosat.angiang.gov.vn"
# Among the longest names in the national list of procedures.
LONG_VI = (
    "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn "
    "liền với đất cho người nhận chuyển nhượng quyền sử dụng đất, mua nhà ở, công trình xây "
    "dựng trong các dự án phát triển nhà ở"
)
LONG_EN = (
    "Registration and issuance of the certificate of land use rights and ownership of houses "
    "and other assets attached to land to buyers of land use rights, houses and buildings in "
    "housing development projects"
)

pytestmark = pytest.mark.skipif(
    (not shutil.which("zbarimg") or not shutil.which("pdftoppm"))
    and not os.environ.get("SURVEY_REQUIRE_BROWSER"),
    reason="needs zbarimg (zbar-tools) and pdftoppm (poppler-utils)",
)


def _poster(runner, tmp_path: Path, *args: str) -> Path:
    pdf = tmp_path / "poster.pdf"
    result = runner.invoke(args=["qr", "--service", "HT-KHAISINH", *args, "-o", str(pdf)])
    assert result.exit_code == 0, result.output
    return pdf


def _page(pdf: Path, tmp_path: Path) -> Path:
    """The first page as a grey PGM image at DPI."""
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", str(pdf), str(tmp_path / "p")], check=True)
    return tmp_path / "p-1.pgm"


def _pixels(pgm: Path) -> tuple[int, int, bytes]:
    """Width, height and grey values (one byte a pixel) of a binary PGM file."""
    data = pgm.read_bytes()
    magic, width, height, top, rest = data.split(maxsplit=4)
    assert magic == b"P5" and top == b"255"
    return int(width), int(height), rest[: int(width) * int(height)]


def code_box_mm(pgm: Path) -> tuple[float, float]:
    """Width and height (mm) of the code's dark modules on the page: the tallest band of rows
    holding dark pixels, gaps under GAP_MM bridged (lines of text stand apart from it by its
    quiet zone), and the dark columns within that band."""
    width, height, grey = _pixels(pgm)
    dark_rows = [any(v < 64 for v in grey[y * width : (y + 1) * width]) for y in range(height)]
    bands, start, last = [], None, None
    for y, dark in enumerate(dark_rows):
        if not dark:
            continue
        if start is None or (y - last) * MM_PER_PX > GAP_MM:
            if start is not None:
                bands.append((start, last))
            start = y
        last = y
    bands.append((start, last))
    top, bottom = max(bands, key=lambda band: band[1] - band[0])
    columns = [
        x for x in range(width) if any(grey[y * width + x] < 64 for y in range(top, bottom + 1, 2))
    ]
    return (columns[-1] - columns[0] + 1) * MM_PER_PX, (bottom - top + 1) * MM_PER_PX


def decoded(image: Path) -> str:
    return subprocess.run(
        ["zbarimg", "-q", "--raw", str(image)], capture_output=True, text=True
    ).stdout.strip()


def test_the_a4_poster_has_a_code_10_cm_wide_that_decodes(app, runner, tmp_path):
    app.config["SURVEY_PUBLIC_URL"] = PUBLIC
    pdf = _poster(runner, tmp_path, "--size", "a4")
    reader = PdfReader(pdf)
    box = reader.pages[0].mediabox
    assert len(reader.pages) == 1
    assert (round(box.width / 72 * 25.4), round(box.height / 72 * 25.4)) == (210, 297)
    page = _page(pdf, tmp_path)
    width, height = code_box_mm(page)
    assert width >= 100 and abs(width - height) < 2, (width, height)
    assert decoded(page) == f"{PUBLIC}/s/HT-KHAISINH"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH" in text  # the centre, with no counter
    assert "Chỉ mất khoảng một phút." in text and "Zalo" in text
    assert "It only takes about a minute." in text


def test_a_long_procedure_name_keeps_the_poster_on_one_page(app, runner, tmp_path):
    app.config["SURVEY_PUBLIC_URL"] = PUBLIC
    with app.app_context():
        service = db.session.scalar(select(Service).filter_by(code="HT-KHAISINH"))
        service.name_vi = LONG_VI
        service.name_en = LONG_EN
        db.session.commit()
    pdf = _poster(runner, tmp_path, "--size", "a4", "--counter", "XA1-Q01")
    assert len(PdfReader(pdf).pages) == 1
    page = _page(pdf, tmp_path)
    assert code_box_mm(page)[0] >= 100
    assert decoded(page) == f"{PUBLIC}/s/HT-KHAISINH?counter=XA1-Q01"


def test_the_a5_poster_names_the_counters_unit_and_decodes(app, runner, tmp_path):
    app.config["SURVEY_PUBLIC_URL"] = PUBLIC
    pdf = _poster(runner, tmp_path, "--size", "a5", "--counter", "XA1-Q01")
    assert len(PdfReader(pdf).pages) == 1
    page = _page(pdf, tmp_path)
    assert code_box_mm(page)[0] >= 65
    assert decoded(page) == f"{PUBLIC}/s/HT-KHAISINH?counter=XA1-Q01"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "ĐIỂM PHỤC VỤ XÃ MỘT" in text and "Quầy 01" in text


def test_the_a4_svg_poster_has_the_same_wide_code(app, client):
    with app.app_context():
        make_user("manager@ag.vn", "manager", ("XA1",))
    sign_in(client, "manager@ag.vn")
    svg = client.get("/admin/qr/HT-KHAISINH.svg?size=a4&counter=XA1-Q01").text
    width, modules = re.search(
        r'<svg width="([\d.]+)" height="[\d.]+" data-modules="(\d+)"', svg
    ).groups()
    assert float(width) * (int(modules) - 8) / int(modules) >= 100  # the quiet zone aside
    assert "Điểm phục vụ xã Một" in svg and "Chỉ mất khoảng một phút." in svg and "Zalo" in svg


def test_a_poster_for_the_whole_centre_is_headed_with_its_configured_name(app, client):
    with app.app_context():
        make_user("manager@ag.vn", "manager", ("CTR",))
    sign_in(client, "manager@ag.vn")
    assert "Trung tâm Phục vụ hành chính công tỉnh" in client.get("/admin/qr/HT-KHAISINH.svg").text
    app.config["SURVEY_CENTRE_NAME"] = "Trung tâm Phục vụ hành chính công tỉnh An Giang"
    assert "tỉnh An Giang" in client.get("/admin/qr/HT-KHAISINH.svg?size=a5").text
