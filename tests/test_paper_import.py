"""Paper forms imported from a CSV (`survey import-responses` and /admin/paper/import): all or
nothing, every bad line named in the reader's language, idempotent on the serial number."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey import questionnaire, rollups
from survey.extensions import db
from survey.models import AuditEvent, ReportDraft, Response
from survey.paper_models import PaperForm
from tests.builders import make_user, sign_in
from tests.test_paper import paper_figures, today


def csv_file(app, lines: list[dict], *, sep: str = ",") -> bytes:
    """A file of typed forms: the header, then a line per dict (item codes not given: blank)."""
    with app.app_context():
        q = questionnaire.active()
        items = [q.overall_code, *q.criteria, *q.expectation_codes]
    header = ["serial", "unit", "service", "date", *items, "comment"]
    rows = [sep.join(header)]
    for line in lines:
        rows.append(sep.join(str(line.get(name, "")) for name in header))
    return ("\n".join(rows) + "\n").encode()


def good(app, serial: str, **changes) -> dict:
    day = today(app) - timedelta(days=3)
    return {
        "serial": serial,
        "unit": "XA1",
        "service": "HT-KHAISINH",
        "date": day.strftime("%d/%m/%Y"),
        "OV": 4,
        "TC1": 5,
        "TC2": 0,
        "EX1": 3,
        **changes,
    }


def forms(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PaperForm))


@pytest.fixture
def manager(app):
    with app.app_context():
        make_user("nhap@xa1.vn", "manager", ("XA1",))
    client = app.test_client()
    sign_in(client, "nhap@xa1.vn")
    return client


def upload(client, data: bytes, name: str = "phieu.csv"):
    return client.post(
        "/admin/paper/import", data={"file": (io.BytesIO(data), name)}, follow_redirects=True
    )


def test_one_bad_line_imports_nothing_and_names_the_line(app, manager):
    data = csv_file(
        app, [good(app, "P-000001"), good(app, "P-000002", TC3=7), good(app, "P-000003")]
    )
    reply = upload(manager, data)
    assert reply.status_code == 400
    assert "Dòng 3: TC3: gõ một chữ số từ 1 đến 5" in reply.text
    assert "không có dữ liệu nào được lưu" in reply.text
    assert forms(app) == 0 and paper_figures(app) == (0, 0)


def test_the_same_file_twice_stores_each_form_once(app, manager):
    data = csv_file(app, [good(app, "P-000001"), good(app, "P-000002", OV=2)], sep=";")
    first = upload(manager, data)
    assert first.status_code == 200 and "2 phiếu được nhập" in first.text
    again = upload(manager, data)
    assert again.status_code == 200 and "2 phiếu đã có" in again.text
    assert forms(app) == 2 and paper_figures(app) == (2, 2)
    with app.app_context():
        assert set(db.session.scalars(select(Response.channel))) == {"paper"}
        assert rollups.stored() == rollups.recompute()
        events = db.session.scalars(select(AuditEvent.detail).filter_by(action="paper.import"))
        assert [e["added"] for e in events] == [2, 0]


def test_an_import_into_a_reported_period_warns(app, manager):
    day = today(app) - timedelta(days=3)
    with app.app_context():
        db.session.add(ReportDraft(period=f"{day.year}-M{day.month:02d}", scope="XA1"))
        db.session.add(ReportDraft(period=f"{day.year - 1}", scope=""))  # another year
        db.session.commit()
    reply = upload(manager, csv_file(app, [good(app, "P-000001")]))
    assert f"Báo cáo Tháng {day.month:02d}/{day.year} đã được lập" in reply.text
    assert str(day.year - 1) not in reply.text


def test_a_serial_stored_with_other_answers_is_a_bad_line(app, manager):
    upload(manager, csv_file(app, [good(app, "P-000001")]))
    reply = upload(manager, csv_file(app, [good(app, "P-000009"), good(app, "P-000001", OV=1)]))
    assert reply.status_code == 400
    assert "Dòng 3: Phiếu P-000001 đã được lưu với câu trả lời khác" in reply.text
    assert forms(app) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"unit": "CTR"}, "Không có đơn vị nào có mã CTR"),  # not one of the manager's units
        ({"service": "KHONG"}, "Không có thủ tục nào có mã KHONG"),
        ({"date": "31/02/2026"}, "dd/mm/yyyy"),
    ],
)
def test_each_bad_line_says_why(app, manager, changes, message):
    reply = upload(manager, csv_file(app, [good(app, "P-000001", **changes)]))
    assert reply.status_code == 400 and "Dòng 2" in reply.text and message in reply.text


def test_the_same_serial_twice_in_a_file(app, manager):
    reply = upload(manager, csv_file(app, [good(app, "P-000001"), good(app, "p-000001")]))
    assert reply.status_code == 400 and "Dòng 3" in reply.text and "dòng 2" in reply.text


def test_an_unknown_column_is_refused(app, manager):
    reply = upload(manager, b"serial,unit,service,date,XX9\nP-1,XA1,HT-KHAISINH,01/12/2026,4\n")
    assert reply.status_code == 400 and "XX9" in reply.text


def test_the_command_line(app, runner, tmp_path):
    path = tmp_path / "phieu.csv"
    path.write_bytes(csv_file(app, [good(app, "P-000001"), good(app, "P-000002")]))
    result = runner.invoke(args=["import-responses", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 forms imported, 0 already stored" in result.output
    again = runner.invoke(args=["import-responses", str(path)])
    assert "0 forms imported, 2 already stored" in again.output
    path.write_bytes(csv_file(app, [good(app, "P-000003"), good(app, "P-000004", OV=9)]))
    bad = runner.invoke(args=["import-responses", str(path)])
    assert bad.exit_code != 0 and "nothing imported" in bad.output and "3" in bad.output
    assert forms(app) == 2


def test_viewers_may_not_import(app):
    with app.app_context():
        make_user("xem@xa1.vn", "viewer", ("XA1",))
    client = app.test_client()
    sign_in(client, "xem@xa1.vn")
    assert upload(client, csv_file(app, [good(app, "P-000001")])).status_code == 403


def test_paper_forms_are_exempt_from_the_abuse_rules(app, manager):
    """Twelve identical forms dated the same day: a kiosk's streak or a phone's limits would
    flag them; typed by signed-in staff, they all count."""
    lines = [good(app, f"P-{n:06d}") for n in range(1, 13)]
    assert upload(manager, csv_file(app, lines)).status_code == 200
    assert paper_figures(app) == (12, 12)
    with app.app_context():
        flagged = select(func.count()).where(Response.flag_reason.is_not(None))
        assert db.session.scalar(flagged) == 0
