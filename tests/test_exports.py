"""Exports: the summary tables, the raw responses and the comments as CSV and XLSX, from the
dashboard, `survey export` and the API, within the caller's scope and role, always audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from survey import accounts, contacts, questionnaire
from survey.export_files import STYLES, Column, Table, Tally, csv_cell, file_chunks, xlsx_file
from survey.extensions import db
from survey.models import AuditEvent, utcnow
from tests.builders import bearer, make_user, rate, sign_in

BOM = "\ufeff".encode()
PROFILE_MARKER = "marker-of-a-profile-answer"
PHONE = "0912345678"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _answers(q, value: int) -> dict:
    return {"OV": value, **dict.fromkeys(q.criteria, value), "EX1": 3}


@pytest.fixture
def world(app):
    """Six ratings at the centre's counter, five at XA1's, accounts and their API tokens."""
    with app.app_context():
        q = questionnaire.active()
        moments = [_ratings_moment() - timedelta(seconds=n) for n in range(11)]
        centre = [
            rate(counter="CTR-Q01", answers=_answers(q, 4 + n % 2), captured_at=moments[n])
            for n in range(6)
        ]
        commune = [
            rate(counter="XA1-Q01", answers=_answers(q, 2), captured_at=moments[6 + n])
            for n in range(5)
        ]
        centre[0].comment = "=1+1"
        centre[0].profile = {"ethnicity": "khmer", "occupation": PROFILE_MARKER}
        contacts.store(centre[0].id, PHONE, now=utcnow())
        commune[0].comment = "Cán bộ hướng dẫn tận tình"
        db.session.commit()
        people = {
            "viewer": make_user("viewer@ag.vn", "viewer", ("XA1",)),
            "manager": make_user("manager@ag.vn", "manager", ("XA1",)),
            "admin": make_user("admin@ag.vn", "admin"),
        }
        tokens = {role: accounts.create_api_token(u, actor="t") for role, u in people.items()}
        first = centre[0]
        return {
            "tokens": tokens,
            "first_captured": first.captured_at,
            "first_id": first.id,
            "today": moments[0].astimezone(ZONE).date(),
        }


def _ratings_moment() -> datetime:
    """When the world's ratings were made: 20 minutes ago, but never before today's local
    midnight (ratings on both sides of it would fall in two days' filters)."""
    now = utcnow()
    midnight = datetime.combine(now.astimezone(ZONE).date(), time(), ZONE)
    return max(now - timedelta(minutes=20), midnight + timedelta(seconds=11)).astimezone(UTC)


def _dates(world) -> str:
    today = world["today"]
    return f"period=custom&from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"


def _csv(data: bytes, delimiter: str) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def _xlsx(data: bytes, tmp_path, name: str = "x.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    return openpyxl.load_workbook(path)


def _api(app, world, who: str, url: str):
    return app.test_client().get(url, headers=bearer(world["tokens"][who]))


def _export_events(app) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).filter_by(action="export")))


def test_vietnamese_csv_uses_semicolons_and_a_decimal_comma(app, world, client):
    sign_in(client, "admin@ag.vn")
    reply = client.get("/admin/export/summary.csv?period=this-year&lang=vi")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    assert "attachment" in reply.headers["Content-Disposition"]
    rows = _csv(reply.data, ";")
    header = rows.index(next(r for r in rows if "Chỉ số hài lòng (%)" in r))
    overall = dict(zip(rows[header], rows[header + 1], strict=True))
    assert overall["Số phiếu"] == "11"
    index = overall["Chỉ số hài lòng (%)"]
    assert "," in index and float(index.replace(",", ".")) == pytest.approx(100 * 6 / 11, 0.01)
    procedures = rows.index(["Theo thủ tục"])
    assert rows[procedures + 2][:3] == ["HT-KHAISINH", "Đăng ký khai sinh", "11"]


def test_english_csv_uses_commas_and_a_decimal_point(app, world):
    reply = _api(app, world, "admin", f"/api/v1/export/summary.csv?{_dates(world)}&lang=en")
    assert reply.status_code == 200
    rows = _csv(reply.data, ",")
    header = rows.index(next(r for r in rows if "Satisfaction index (%)" in r))
    overall = dict(zip(rows[header], rows[header + 1], strict=True))
    assert overall["Satisfaction index (%)"] == f"{100 * 6 / 11:.2f}"
    assert overall["Responses"] == "11"


def test_responses_csv_has_one_row_per_response_in_local_time(app, world):
    reply = _api(app, world, "admin", f"/api/v1/export/responses.csv?{_dates(world)}")
    rows = _csv(reply.data, ";")
    header, data = rows[0], rows[1:]
    assert len(data) == 11
    q_codes = ["OV", "TC1", "PA3", "EX1", "EX10"]
    assert all(code in header for code in q_codes) and header[3] == "Kênh đánh giá"
    first = dict(zip(header, next(r for r in data if r[0] == str(world["first_id"])), strict=True))
    local = world["first_captured"].astimezone(ZONE).strftime("%d/%m/%Y %H:%M:%S")
    assert first["Thời điểm đánh giá"] == local
    assert (first["OV"], first["TC1"], first["EX1"], first["EX2"]) == ("4", "4", "3", "")
    assert first["Mã đơn vị"] == "CTR" and first["Mã quầy"] == "CTR-Q01"


def test_xlsx_reads_back_with_types_diacritics_and_a_frozen_header(app, world, tmp_path):
    reply = _api(app, world, "admin", f"/api/v1/export/responses.xlsx?{_dates(world)}")
    assert reply.status_code == 200 and reply.mimetype.endswith("spreadsheetml.sheet")
    book = _xlsx(reply.data, tmp_path)
    sheet = book["Phiếu khảo sát"]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 12 and sheet.freeze_panes == "A2"
    header = rows[0]
    first = dict(zip(header, next(r for r in rows if r[0] == world["first_id"]), strict=True))
    assert first["Đơn vị"] == "Trung tâm Phục vụ hành chính công tỉnh"
    assert first["OV"] == 4 and isinstance(first["OV"], int)
    local = world["first_captured"].astimezone(ZONE).replace(tzinfo=None, microsecond=0)
    assert first["Thời điểm đánh giá"] == local
    legend = {row[0]: row for row in book["Mã câu hỏi"].iter_rows(values_only=True)}
    assert legend["TC1"][1] == "Tiếp cận dịch vụ"


def test_summary_xlsx_has_a_sheet_per_table_with_numbers(app, world, tmp_path):
    reply = _api(app, world, "admin", f"/api/v1/export/summary.xlsx?{_dates(world)}")
    book = _xlsx(reply.data, tmp_path)
    assert book.sheetnames == [
        "Tổng thể",
        "Các yếu tố",
        "Các tiêu chí",
        "Mong đợi của người dân",
        "Theo thủ tục",
        "Theo đơn vị",
        "Theo cơ quan",
        "Theo lĩnh vực",
    ]
    overall = book["Tổng thể"]
    assert (
        overall["D2"].value == pytest.approx(100 * 6 / 11) and overall["D2"].number_format == "0.00"
    )
    units = list(book["Theo đơn vị"].iter_rows(values_only=True))
    assert [r[0] for r in units[1:]] == ["CTR", "XA1"]
    assert all(sheet.freeze_panes == "A2" for sheet in book.worksheets)


def test_a_formula_in_a_comment_arrives_as_text(app, world, tmp_path):
    csv_reply = _api(app, world, "admin", "/api/v1/export/comments.csv?" + _dates(world))
    cells = [cell for row in _csv(csv_reply.data, ";") for cell in row]
    assert "'=1+1" in cells and "=1+1" not in cells
    xlsx_reply = _api(app, world, "admin", "/api/v1/export/comments.xlsx?" + _dates(world))
    sheet = _xlsx(xlsx_reply.data, tmp_path).active
    comment = next(c for row in sheet.iter_rows() for c in row if c.value == "=1+1")
    assert comment.data_type == "s"
    assert sheet.max_row == 3  # the header and two comments


def test_a_viewer_may_not_export_comments(app, world, client, runner, tmp_path):
    sign_in(client, "viewer@ag.vn")
    assert client.get("/admin/export/comments.csv?period=this-year").status_code == 403
    assert client.get("/admin/export/responses.csv?period=this-year").status_code == 200
    page = client.get("/admin/?period=this-year").text
    assert "/admin/export/summary.xlsx" in page and "/admin/export/comments" not in page
    reply = _api(app, world, "viewer", "/api/v1/export/comments.xlsx?" + _dates(world))
    assert reply.status_code == 403 and reply.get_json()["errors"]
    result = runner.invoke(
        args=["export", "comments", *_cli_dates(world), "--format", "csv", "--user"]
        + ["viewer@ag.vn", "-o", str(tmp_path / "c.csv")]
    )
    assert result.exit_code != 0 and "may not read comments" in result.output


def _cli_dates(world) -> list[str]:
    today = world["today"]
    return ["--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1))]


def _unit_codes(rows: list[list[str]]) -> set[str]:
    column = rows[0].index("Mã đơn vị")
    return {row[column] for row in rows[1:]}


def test_a_manager_gets_only_the_rows_of_their_units(app, world, client, runner, tmp_path):
    sign_in(client, "manager@ag.vn")
    page = _csv(client.get("/admin/export/responses.csv?period=this-year").data, ";")
    assert _unit_codes(page) == {"XA1"} and len(page) == 6
    api = _api(app, world, "manager", "/api/v1/export/responses.csv?" + _dates(world))
    assert _unit_codes(_csv(api.data, ";")) == {"XA1"}
    out = tmp_path / "r.csv"
    args = ["export", "responses", *_cli_dates(world), "--format", "csv", "-o", str(out)]
    result = runner.invoke(args=[*args, "--user", "manager@ag.vn"])
    assert result.exit_code == 0, result.output
    assert "Wrote 5 rows" in result.output
    assert _unit_codes(_csv(out.read_bytes(), ";")) == {"XA1"}
    result = runner.invoke(args=args)  # the server's operator: every unit
    assert _unit_codes(_csv(out.read_bytes(), ";")) == {"CTR", "XA1"}
    comments = _csv(client.get("/admin/export/comments.csv?period=this-year").data, ";")
    assert [row[-1] for row in comments[1:]] == ["Cán bộ hướng dẫn tận tình"]


def test_a_unit_outside_the_scope_is_refused(app, world, client, runner, tmp_path):
    sign_in(client, "manager@ag.vn")
    assert client.get("/admin/export/summary.xlsx?period=this-year&unit=CTR").status_code == 403
    reply = _api(app, world, "manager", f"/api/v1/export/responses.csv?{_dates(world)}&unit=CTR")
    assert reply.status_code == 403
    result = runner.invoke(
        args=["export", "responses", *_cli_dates(world), "--unit", "CTR", "--format", "csv"]
        + ["--user", "manager@ag.vn", "-o", str(tmp_path / "r.csv")]
    )
    assert result.exit_code != 0 and "--unit" in result.output
    assert _export_events(app) == []


def test_every_export_is_audited_with_its_rows(app, world, client, runner, tmp_path):
    sign_in(client, "manager@ag.vn")
    assert client.get("/admin/export/responses.xlsx?period=this-year&channel=web").data
    assert _api(app, world, "admin", "/api/v1/export/comments.csv?" + _dates(world)).data
    out = str(tmp_path / "s.csv")
    runner.invoke(args=["export", "summary", *_cli_dates(world), "--format", "csv", "-o", out])
    events = _export_events(app)
    assert [(e.actor, e.target) for e in events] == [
        ("manager@ag.vn", "responses"),
        ("admin@ag.vn", "comments"),
        ("cli", "summary"),
    ]
    page, api, cli = (e.detail for e in events)
    assert page["rows"] == 5 and page["format"] == "xlsx" and page["via"] == "page"
    assert page["filters"] == "period=this-year&channel=web" and page["complete"] is True
    assert api["rows"] == 2 and api["via"] == "api"
    assert cli["via"] == "cli" and cli["rows"] > 10


def test_profile_answers_and_phones_never_appear(app, world, tmp_path):
    for what in ("summary", "responses", "comments"):
        for fmt in ("csv", "xlsx"):
            reply = _api(app, world, "admin", f"/api/v1/export/{what}.{fmt}?{_dates(world)}")
            assert reply.status_code == 200
            if fmt == "csv":
                text = reply.data.decode("utf-8-sig")
            else:
                book = _xlsx(reply.data, tmp_path, f"{what}.xlsx")
                cells = [
                    c for s in book.worksheets for r in s.iter_rows(values_only=True) for c in r
                ]
                text = " ".join(str(c) for c in cells)
            for secret in (PROFILE_MARKER, "khmer", PHONE):
                assert secret not in text, (what, fmt, secret)


def test_the_filters_flags_and_the_small_group_rule_hold(app, world):
    yesterday = world["today"] - timedelta(days=1)
    before = f"period=custom&from={yesterday - timedelta(days=9)}&to={yesterday}"
    reply = _api(app, world, "admin", f"/api/v1/export/responses.csv?{before}")
    assert len(_csv(reply.data, ";")) == 1  # the header only: nothing that week
    with app.app_context():
        q = questionnaire.active()
        flagged = rate(counter="XA1-Q01", answers=_answers(q, 1), captured_at=utcnow())
        flagged.flag_reason = "burst"
        rate(service="CT-BANSAO", answers=_answers(q, 5), comment="Một mình", captured_at=utcnow())
        db.session.commit()
    # A flagged rating is exported with its flag (the figures leave it out).
    reply = _api(app, world, "admin", f"/api/v1/export/responses.csv?{_dates(world)}&unit=XA1")
    rows = _csv(reply.data, ";")
    column = rows[0].index("Đánh dấu nghi vấn")
    assert sorted(bool(row[column]) for row in rows[1:]) == [False] * 5 + [True]
    # One rating of a procedure: hidden on the dashboard, so exported neither.
    for what in ("responses", "comments"):
        one = f"/api/v1/export/{what}.csv?{_dates(world)}&service=CT-BANSAO"
        assert len(_csv(_api(app, world, "admin", one).data, ";")) == 1
    low = _api(app, world, "admin", f"/api/v1/export/comments.csv?{_dates(world)}&low=1")
    assert [row[-1] for row in _csv(low.data, ";")[1:]] == ["Cán bộ hướng dẫn tận tình"]


def test_khmer_headers_and_unknown_exports(app, world):
    reply = _api(app, world, "admin", f"/api/v1/export/comments.csv?{_dates(world)}&lang=km")
    assert _csv(reply.data, ";")[0][0] == "ពេលវាយតម្លៃ"
    assert _api(app, world, "admin", "/api/v1/export/figures.csv").status_code == 404
    assert _api(app, world, "admin", "/api/v1/export/summary.pdf").status_code == 404
    assert app.test_client().get("/api/v1/export/summary.csv").status_code == 401


def test_numbers_stay_numbers_and_text_is_neutralised():
    vi, en = STYLES["vi"], STYLES["en"]
    assert csv_cell(-1.5, "number", vi) == "-1,50" and csv_cell(-1.5, "number", en) == "-1.50"
    assert csv_cell(12, "int", vi) == "12" and csv_cell(None, "int", vi) == ""
    for text in ("=1+1", "+84 912", "-1", "@SUM(A1)", "\tx", "\rx", "\nx"):
        assert csv_cell(text, "text", vi) == "'" + text
    assert csv_cell("Đăng ký khai sinh", "text", vi) == "Đăng ký khai sinh"


def test_a_long_export_tells_the_server_it_is_alive(tmp_path):
    beats = []
    table = Table("T", [Column("n", "int")], ([n] for n in range(12_000)))
    tally = Tally(alive=lambda: beats.append(tally.rows))
    chunks = list(file_chunks(xlsx_file([table], STYLES["vi"], tally), tally))
    assert tally.rows == 12_000 and beats[:2] == [5_000, 10_000]
    assert len(beats) == 2 + len(chunks)  # and after every chunk sent
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"".join(chunks))
    assert openpyxl.load_workbook(path, read_only=True).active.max_row == 12_001


def test_period_keywords_reach_every_interface(app, world, client, runner, tmp_path):
    year = str(world["today"].year)
    sign_in(client, "admin@ag.vn")
    page = client.get(f"/admin/export/responses.csv?period={year}")
    assert f'filename="sipas-responses-{year}.csv"' in page.headers["Content-Disposition"]
    assert len(_csv(page.data, ";")) == 12
    api = _api(app, world, "manager", f"/api/v1/export/responses.xlsx?period={year}")
    assert _xlsx(api.data, tmp_path).active.max_row == 6
    out = tmp_path / "r.csv"
    result = runner.invoke(
        args=["export", "responses", "--period", year, "--format", "csv", "-o", str(out)]
    )
    assert f"Wrote 11 rows to {out} (sipas-responses-{year}.csv)" in result.output
