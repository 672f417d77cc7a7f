"""The printed report of a period and scope: the page, its draft, the PDF (vi, en, km) and the
command line; its figures equal the summary API's; the scope and role rules hold."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from babel.numbers import format_percent
from pypdf import PdfReader
from sqlalchemy import select

from survey import accounts, questionnaire
from survey.extensions import db
from survey.models import AuditEvent, ReportDraft, Response, User
from tests.builders import api_json, criteria_answers, make_user, rate, sign_in

NOW, BEFORE = datetime(2026, 8, 10, 3, tzinfo=UTC), datetime(2025, 8, 10, 3, tzinfo=UTC)
# (procedure, unit, when, how many, criteria answer)
RATINGS = [
    ("HT-KHAISINH", "XA1", NOW, 30, 5),
    ("HT-KHAISINH", "XA1", NOW, 10, 2),
    ("HT-KETHON", "XA1", NOW, 8, 4),  # too few to rank
    ("CT-BANSAO", "CTR", NOW, 35, 4),
    ("HT-KHAISINH", "XA1", BEFORE, 25, 5),
    ("HT-KHAISINH", "XA1", BEFORE, 15, 3),
]
COMMENTS = [("XA1", "Cán bộ hướng dẫn tận tình"), ("CTR", "Phải chờ lâu ở quầy chứng thực")]
Q3 = "period=2026-Q3"


def _answers(value: int) -> dict:
    flat = {"OV": value}
    for element in criteria_answers(questionnaire.active(), value).values():
        flat.update({code: int(v) for code, v in element.items()})
    return flat


@pytest.fixture
def world(app):
    """Ratings in Q3 2026 and Q3 2025, two comments, and an account per role."""
    from survey import catalogue

    with app.app_context():
        catalogue.import_csv(
            "kind,code,parent,name_vi,name_en,name_km,national_code,field,agency,active\n"
            "unit,XA2,CTR,Điểm phục vụ xã Hai,Commune Two service point,ចំណុចឃុំពីរ,,,,\n"
        )
        for service, unit, when, count, value in RATINGS:
            for _ in range(count):
                rate(service=service, unit=unit, answers=_answers(value), captured_at=when)
        for unit, text in COMMENTS:
            service = "HT-KHAISINH" if unit == "XA1" else "CT-BANSAO"
            rate(service=service, unit=unit, answers=_answers(5), captured_at=NOW, comment=text)
        make_user("admin@ag.vn", "admin")
        make_user("manager@ag.vn", "manager", ("XA1",))
        make_user("viewer@ag.vn", "viewer", ("XA1",))
        make_user("out@ag.vn", "manager", ("XA2",))
        token = accounts.create_api_token(
            db.session.scalar(select(User).filter_by(email="admin@ag.vn")), actor="t"
        )
        db.session.commit()
    return token


def _client(app, email: str):
    client = app.test_client()
    sign_in(client, email)
    return client


def _comment_id(app, text: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Response.id).filter_by(comment=text))


def _pct(value: float) -> str:
    return format_percent(value, "#,##0.0%", locale="vi")


def _pdf_text(body: bytes) -> str:
    assert body[:5] == b"%PDF-"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    return re.sub(r"\s+", " ", text)


def test_the_page_is_an_administrative_document_with_the_figures_of_the_api(app, world):
    admin = _client(app, "admin@ag.vn")
    every_unit = admin.get(f"/admin/report?{Q3}").text
    api = api_json(app, world, f"/api/v1/summary?{Q3}")
    assert f'<td class="num">{_pct(api["overall"]["index"] / 100)}</td>' in every_unit
    assert "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH" in every_unit  # the top unit issues it
    page = admin.get(f"/admin/report?{Q3}&unit=XA1")
    assert page.status_code == 200
    html = page.text
    for heading in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "UBND TỈNH AN GIANG",
        "ĐIỂM PHỤC VỤ XÃ MỘT",
        "BÁO CÁO",
        "Quý III/2026",
        "I. Mục đích, phương pháp",
        "II. Kết quả",
        "III. Những điều người dân mong đợi",
        "IV. Ý kiến của người dân",
        "V. Kiến nghị",
        "Nơi nhận:",
        "theo cách tiếp cận SIPAS",
    ):
        assert heading in html, heading
    assert re.search(r"An Giang, ngày \d\d tháng \d\d năm \d{4}", html)
    api = api_json(app, world, f"/api/v1/summary?{Q3}&unit=XA1")
    assert api["period"] == "2026-Q3" and api["responses"] == 49
    overall = api["overall"]
    assert f'<td class="num">{_pct(overall["index"] / 100)}</td>' in html
    low, high = overall["ci95"]
    assert f"{_pct(low / 100)} – {_pct(high / 100)}" in html
    for element in api["elements"].values():
        assert f'<td class="num">{_pct(element["index"] / 100)}</td>' in html
    assert f"n = {overall['n']}" in html


def test_rankings_and_the_year_before_comparison_follow_the_30_rule(app, world):
    html = _client(app, "admin@ag.vn").get(f"/admin/report?{Q3}").text
    services = html.split('id="r-rank-service"')[1].split("</table>")[0]
    rows = re.findall(
        r"<tr( class=\"small-n\")?><td class=\"num\">([^<]+)</td><th scope=\"row\">([^<]+)</th>",
        services,
    )
    assert [(rank, name, bool(grey)) for grey, rank, name in rows] == [
        ("1", "Chứng thực bản sao từ bản chính", False),
        ("2", "Đăng ký khai sinh", False),
        ("–", "Đăng ký kết hôn", True),
    ]
    yoy = html.split('id="r-yoy-service"')[1].split("</table>")[0]
    assert "Đăng ký khai sinh" in yoy and "Chứng thực" not in yoy and "kết hôn" not in yoy
    assert "2 nhóm không được so sánh" in html.split('id="r-yoy-service"')[1]
    assert "83,94%" in html  # the national figure of 2024


def test_the_draft_is_saved_audited_and_shown_on_the_page_and_in_the_pdf(app, world):
    client = _client(app, "manager@ag.vn")
    picked = _comment_id(app, "Cán bộ hướng dẫn tận tình")
    outside = _comment_id(app, "Phải chờ lâu ở quầy chứng thực")  # at CTR: outside the scope
    form = client.get(f"/admin/report?{Q3}").text
    assert f'value="{picked}"' in form and f'value="{outside}"' not in form
    saved = client.post(
        f"/admin/report?{Q3}&unit=XA1",
        data={
            "number": "15/BC-XA1",
            "comments": [str(picked), str(outside)],
            "recommendations": "Bố trí thêm ghế chờ ở sảnh",
        },
    )
    assert saved.status_code == 303
    html = client.get(saved.headers["Location"]).text
    assert "Số: 15/BC-XA1" in html and "Bố trí thêm ghế chờ ở sảnh" in html
    assert "Cán bộ hướng dẫn tận tình" in html.split('id="r-comments"')[1]
    assert "Phải chờ lâu" not in html
    pdf = client.get(f"/admin/report.pdf?{Q3}&unit=XA1")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    for words in (
        "15/BC-XA1",
        "Bố trí thêm ghế chờ ở sảnh",
        "Cán bộ hướng dẫn tận tình",
        "BÁO CÁO",
    ):
        assert words in text, words
    assert "Phải chờ lâu" not in text
    with app.app_context():
        draft = db.session.scalar(select(ReportDraft))
        assert (draft.period, draft.scope, draft.comment_ids) == ("2026-Q3", "XA1", [picked])
        assert draft.updated_by == "manager@ag.vn"
        event = db.session.scalar(select(AuditEvent).filter_by(action="report_draft"))
        assert event.actor == "manager@ag.vn" and event.target == "2026-Q3/XA1"


def test_a_viewer_reads_the_report_without_comments_and_cannot_pick_them(app, world):
    manager = _client(app, "manager@ag.vn")
    picked = _comment_id(app, "Cán bộ hướng dẫn tận tình")
    manager.post(f"/admin/report?{Q3}&unit=XA1", data={"comments": [str(picked)]})
    viewer = _client(app, "viewer@ag.vn")
    html = viewer.get(f"/admin/report?{Q3}").text
    assert "II. Kết quả" in html and "IV. Kiến nghị" in html
    assert "Cán bộ hướng dẫn" not in html and 'name="comments"' not in html
    assert "Ý kiến của người dân" not in html
    assert "Cán bộ hướng dẫn" not in _pdf_text(viewer.get(f"/admin/report.pdf?{Q3}").data)
    refused = viewer.post(f"/admin/report?{Q3}&unit=XA1", data={"recommendations": "x"})
    assert refused.status_code == 403


def test_a_manager_cannot_see_nor_save_the_report_of_another_unit(app, world):
    outsider = _client(app, "out@ag.vn")
    assert outsider.get(f"/admin/report?{Q3}&unit=XA1").status_code == 403
    assert outsider.get(f"/admin/report.pdf?{Q3}&unit=XA1").status_code == 403
    assert outsider.get(f"/admin/report?{Q3}&unit=CTR").status_code == 403
    posted = outsider.post(f"/admin/report?{Q3}&unit=XA1", data={"number": "1/BC"})
    assert posted.status_code == 403
    # Without a unit, a manager's report is their own unit's (never every unit's).
    own = outsider.get(f"/admin/report?{Q3}").text
    assert "ĐIỂM PHỤC VỤ XÃ HAI" in own and "Đăng ký khai sinh" not in own
    with app.app_context():
        assert db.session.scalar(select(ReportDraft)) is None


def test_the_command_line_writes_the_pdf_and_the_html(app, world, runner, tmp_path):
    pdf, html = tmp_path / "report.pdf", tmp_path / "report.html"
    done = runner.invoke(args=["report", "--period", "2026-Q3", "--unit", "XA1", "-o", str(pdf)])
    assert done.exit_code == 0, done.output
    assert "Quý III/2026" in _pdf_text(pdf.read_bytes())
    done = runner.invoke(
        args=["report", "--period", "2026-Q3", "--format", "html", "--lang", "en", "-o", str(html)]
    )
    assert done.exit_code == 0, done.output
    text = html.read_text()
    assert "SOCIALIST REPUBLIC OF VIET NAM" in text and "Quarter III 2026" in text
    wrong = runner.invoke(args=["report", "--period", "2026-Q9", "-o", str(pdf)])
    assert wrong.exit_code != 0 and "Unknown period" in wrong.output


def _pdftotext(path) -> str:
    """The text of a PDF as poppler reads it (it follows the ToUnicode maps of every font
    WeasyPrint embeds, the Khmer one shipped with the app included)."""
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return re.sub(r"\s+", " ", done.stdout.decode())


def _font_names(path) -> set[str]:
    fonts = set()
    for page in PdfReader(path).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return fonts


def test_the_pdf_renders_in_english(app, world, runner, tmp_path):
    out = tmp_path / "report-en.pdf"
    done = runner.invoke(args=["report", "--period", "2026-Q3", "--lang", "en", "-o", str(out)])
    assert done.exit_code == 0, done.output
    text = _pdf_text(out.read_bytes())
    for words in ("SOCIALIST REPUBLIC OF VIET NAM", "REPORT", "Quarter III 2026", "Results"):
        assert words in text, words


@pytest.mark.skipif(
    not shutil.which("pdftotext") and not os.environ.get("SURVEY_REQUIRE_BROWSER"),
    reason="needs pdftotext (poppler-utils) to read Khmer text back",
)
def test_the_pdf_renders_in_khmer_with_a_khmer_font(app, world, runner, tmp_path):
    out = tmp_path / "report-km.pdf"
    done = runner.invoke(args=["report", "--period", "2026-Q3", "--lang", "km", "-o", str(out)])
    assert done.exit_code == 0, done.output
    # Drawn with a Khmer face (the system's, or the Noto Sans Khmer the app ships): no tofu.
    assert any("Khmer" in name for name in _font_names(out)), _font_names(out)
    text = _pdftotext(out)
    # Text extraction reorders some stacked Khmer consonants (លទ្ធផល with Noto Serif Khmer):
    # the words checked are the title's and the national motto's, read back by every face.
    for words in ("របាយការណ៍", "សាធារណរដ្ឋ"):
        assert words in text, (words, text[:300])


def test_the_pdf_loads_nothing_from_the_network(app):
    from survey import report

    with app.test_request_context("/"):
        fetcher = report.StaticFetcher()
        for url in ("https://example.org/evil.css", "file:///etc/passwd", "data:text/css,x"):
            with pytest.raises(ValueError):
                fetcher.fetch(url)
        assert b"@page" in fetcher.fetch(report.BASE_URL + "static/report.css").read()


def test_saving_the_draft_needs_the_form_token(app, world):
    client = _client(app, "manager@ag.vn")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get(f"/admin/report?{Q3}&unit=XA1").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.split('id="h-draft"')[1])[1]
        forged = client.post(f"/admin/report?{Q3}&unit=XA1", data={"number": "9/BC"})
        assert forged.status_code == 400
        saved = client.post(
            f"/admin/report?{Q3}&unit=XA1", data={"number": "9/BC", "csrf_token": token}
        )
        assert saved.status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_report_says_who_is_satisfied_as_the_profile_api_does(app, world):
    """Section II.6: the index per profile option, equal to GET /api/v1/profile; a group of 1 to
    4 ratings shows no figure and no count."""
    with app.app_context():
        rows = db.session.scalars(
            select(Response).filter_by(comment=None).order_by(Response.id).limit(33)
        ).all()
        for n, response in enumerate(rows):
            response.profile = {"gender": "male" if n < 30 else "female"}
        db.session.commit()
    html = _client(app, "admin@ag.vn").get(f"/admin/report?{Q3}").text
    section = html[html.index('id="r-who"') :]
    api = api_json(app, world, f"/api/v1/profile?{Q3}")
    gender = next(i for i in api["items"] if i["key"] == "gender")
    men, women = gender["groups"]
    assert "Ai hài lòng?" in html and women["hidden"] is True
    assert f'<td class="num">{_pct(men["overall"]["index"] / 100)}</td>' in section
    assert f'<td class="num">{men["overall"]["n"]}</td>' in section
    assert '<th scope="row">Nữ</th><td class="num">—</td>' in section
