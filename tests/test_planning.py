"""Survey planning: dossiers imported from the one-stop software's CSV or typed for a period, the
sample each procedure needs (Yamane, ±5% at 95%: N = 1,200 → 300), the response rate, the
"mẫu chưa đủ" flag, and the rankings that leave a short procedure out."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from survey import catalogue, planning, rankings
from survey.extensions import db
from survey.filters import SummaryFilterForm
from survey.models import AuditEvent, DossierCount, Service, Unit
from tests.builders import make_user, rate, sign_in

JULY = datetime(2026, 7, 20, 3, tzinfo=UTC)
GOOD = (
    "date,unit,service,dossiers\n"
    "01/07/2026,XA1,HT-KHAISINH,12\n"
    "2026-07-02,XA1,HT-KHAISINH,8\n"
    "02/07/2026,CTR,1.001193,5\n"  # a procedure by its national code
)


def _stored() -> list[tuple]:
    rows = db.session.execute(
        select(
            DossierCount.day, Unit.code, Service.code, DossierCount.dossiers, DossierCount.source
        )
        .join(Unit, Unit.id == DossierCount.unit_id)
        .join(Service, Service.id == DossierCount.service_id)
        .order_by(DossierCount.day, Unit.code, Service.code)
    )
    return [tuple(row) for row in rows]


def _import(runner, tmp_path, content: str | bytes, name: str = "dossiers.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return runner.invoke(args=["dossiers", "import", str(path)])


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).filter_by(action=action)))


def test_the_sample_needed_is_yamanes_at_five_percent():
    assert planning.sample_needed(1200) == 300
    assert [planning.sample_needed(n) for n in (0, 1, 20, 100, 10_000)] == [0, 1, 20, 80, 385]


# --- The command -----------------------------------------------------------------------------


def test_a_good_file_is_imported_and_audited(app, runner, tmp_path):
    result = _import(runner, tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    assert "Imported 3 rows" in result.output and "01/07/2026 to 02/07/2026" in result.output
    with app.app_context():
        assert _stored() == [
            (date(2026, 7, 1), "XA1", "HT-KHAISINH", 12, "import"),
            (date(2026, 7, 2), "CTR", "HT-KHAISINH", 5, "import"),
            (date(2026, 7, 2), "XA1", "HT-KHAISINH", 8, "import"),
        ]
        (event,) = _events("dossiers.import")
        assert event.actor == "cli" and event.target == "dossiers.csv"
        assert event.detail == {
            "rows": 3,
            "added": 3,
            "replaced": 0,
            "from": "2026-07-01",
            "to": "2026-07-02",
        }


def test_bad_lines_are_each_reported_and_nothing_is_stored(app, runner, tmp_path):
    bad = GOOD + (
        "31/02/2026,XA1,HT-KHAISINH,3\n"
        "03/07/2026,XA9,HT-KHAISINH,3\n"
        "03/07/2026,XA1,NO-SUCH,3\n"
        "03/07/2026,XA1,HT-KETHON,-4\n"
        "03/07/2026,XA1,CT-BANSAO,many\n"
        "01/07/2026,XA1,HT-KHAISINH,1\n"
    )
    result = _import(runner, tmp_path, bad)
    assert result.exit_code == 1
    assert "nothing imported" in result.output
    for expected in (
        "Line 5: The date “31/02/2026” is not a date dd/mm/yyyy.",
        "Line 6: There is no unit with the code XA9.",
        "Line 7: There is no procedure with the code NO-SUCH.",
        "Line 8: The number of dossiers must not be negative (-4).",
        "Line 9: The number of dossiers must be a whole number, not “many”.",
        "Line 10: The same date, unit and procedure are on line 2.",
    ):
        assert expected in result.output
    with app.app_context():
        assert _stored() == [] and _events("dossiers.import") == []


def test_a_file_without_the_header_is_refused(runner, tmp_path):
    result = _import(runner, tmp_path, "01/07/2026,XA1,HT-KHAISINH,12\n")
    assert result.exit_code == 1
    assert "Line 1: The first line must name the columns: date, unit, service" in result.output


def test_importing_again_replaces_rather_than_doubles(app, runner, tmp_path):
    assert _import(runner, tmp_path, GOOD).exit_code == 0
    again = _import(runner, tmp_path, GOOD.replace(",12\n", ",20\n"))
    assert again.exit_code == 0 and "0 new, 3 replaced" in again.output
    with app.app_context():
        assert [row[3] for row in _stored()] == [20, 5, 8]


def test_vietnamese_headers_a_bom_and_semicolons_are_read(app, runner, tmp_path):
    text = "Ngày;Đơn vị;Thủ tục;Số hồ sơ\r\n15/08/2026;XA1;HT-KETHON;7\r\n"
    result = _import(runner, tmp_path, "\ufeff".encode() + text.encode())
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _stored() == [(date(2026, 8, 15), "XA1", "HT-KETHON", 7, "import")]


# --- The page --------------------------------------------------------------------------------


@pytest.fixture
def people(app):
    with app.app_context():
        catalogue.import_csv(
            "kind,code,parent,name_vi,name_en,name_km,national_code,field,agency,active\n"
            "unit,XA2,CTR,Xã Hai,Commune Two,ឃុំ ២,,,,\n"
        )
        for email, role, units in (
            ("m@ag.vn", "manager", ("XA1",)),
            ("v@ag.vn", "viewer", ("XA1",)),
        ):
            make_user(email, role, units)


def _signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def _row(page: str, label: str) -> str:
    """The table row (its cells' text) of `label` in the first table."""
    match = re.search(rf"<tr[^>]*><th scope=\"row\">{re.escape(label)}.*?</tr>", page, re.S)
    assert match, f"no row for {label}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match[0])).strip()


def test_the_page_shows_300_needed_for_1200_dossiers_and_the_response_rate(app, people):
    with app.app_context():
        for _ in range(60):
            rate(service="HT-KHAISINH", unit="XA1", answers={"OV": 5}, captured_at=JULY)
        for _ in range(20):
            rate(service="HT-KETHON", unit="XA1", answers={"OV": 4}, captured_at=JULY)
    manager = _signed_in(app, "m@ag.vn")
    for service, count in (("HT-KHAISINH", "1200"), ("HT-KETHON", "20")):
        form = {"period": "2026-Q3", "unit": "XA1", "service": service, "dossiers": count}
        reply = manager.post("/admin/planning/entry?period=2026-Q3", data=form)
        assert reply.status_code == 303 and reply.headers["Location"].endswith("period=2026-Q3")
    page = manager.get("/admin/planning?period=2026-Q3&lang=vi").text
    # N = 1.200, n = 60, 5,0% answered, 300 needed, 20,0% of the way: "mẫu chưa đủ"
    assert _row(page, "Đăng ký khai sinh") == (
        "Đăng ký khai sinh mẫu chưa đủ 1.200 60 5,0% 300 20,0%"
    )
    # N = 20 needs 20 (ceil(19.05)); 20 ratings: enough, no flag
    assert _row(page, "Đăng ký kết hôn") == "Đăng ký kết hôn 20 20 100,0% 20 100,0%"
    assert "1 thủ tục có ít đánh giá hơn cỡ mẫu cần thiết." in page
    with app.app_context():
        assert _stored() == [
            (date(2026, 7, 1), "XA1", "HT-KETHON", 20, "manual"),
            (date(2026, 7, 1), "XA1", "HT-KHAISINH", 1200, "manual"),
        ]
        entries = _events("dossiers.entry")
        assert [(e.actor, e.target, e.detail) for e in entries] == [
            ("m@ag.vn", "XA1/HT-KHAISINH", {"period": "2026-Q3", "dossiers": 1200}),
            ("m@ag.vn", "XA1/HT-KETHON", {"period": "2026-Q3", "dossiers": 20}),
        ]


def test_a_period_typed_by_hand_replaces_the_days_imported_within_it(app, people, runner, tmp_path):
    assert _import(runner, tmp_path, GOOD).exit_code == 0
    form = {"period": "2026-M07", "unit": "XA1", "service": "HT-KHAISINH", "dossiers": "400"}
    assert _signed_in(app, "m@ag.vn").post("/admin/planning/entry", data=form).status_code == 303
    with app.app_context():
        assert _stored() == [
            (date(2026, 7, 1), "XA1", "HT-KHAISINH", 400, "manual"),
            (date(2026, 7, 2), "CTR", "HT-KHAISINH", 5, "import"),
        ]


def _upload(client, content: str, name: str = "hs.csv"):
    data = {"file": (io.BytesIO(content.encode()), name)}
    return client.post("/admin/planning/import?period=2026-Q3", data=data)


def test_an_upload_on_the_page_is_stored_or_refused_with_its_lines(app, people):
    manager = _signed_in(app, "m@ag.vn")
    good = "ngày;đơn vị;thủ tục;số hồ sơ\n01/07/2026;XA1;HT-KHAISINH;30\n"
    assert _upload(manager, good).status_code == 303
    bad = good + "02/07/2026;XA1;HT-KHAISINH;-1\n"
    reply = _upload(manager, bad)
    assert reply.status_code == 400
    assert "Dòng 3: Số hồ sơ không được là số âm (-1)." in reply.text
    with app.app_context():
        assert [row[3] for row in _stored()] == [30]
        (event,) = _events("dossiers.import")
        assert event.actor == "m@ag.vn" and event.target == "hs.csv"


def test_another_units_upload_or_entry_is_forbidden_and_viewers_only_read(app, people):
    manager, viewer = _signed_in(app, "m@ag.vn"), _signed_in(app, "v@ag.vn")
    mixed = (
        "date,unit,service,dossiers\n01/07/2026,XA1,HT-KHAISINH,3\n01/07/2026,XA2,HT-KHAISINH,3\n"
    )
    assert _upload(manager, mixed).status_code == 403
    entry = {"period": "2026-Q3", "unit": "XA2", "service": "HT-KHAISINH", "dossiers": "9"}
    assert manager.post("/admin/planning/entry", data=entry).status_code == 403
    assert manager.get("/admin/planning?unit=XA2").status_code == 403
    good = "date,unit,service,dossiers\n01/07/2026,XA1,HT-KHAISINH,3\n"
    assert _upload(viewer, good).status_code == 403
    entry["unit"] = "XA1"
    assert viewer.post("/admin/planning/entry", data=entry).status_code == 403
    page = viewer.get("/admin/planning?period=2026-Q3")
    assert page.status_code == 200 and 'action="/admin/planning/import' not in page.text
    with app.app_context():
        assert _stored() == [] and _events("dossiers.import") == []


# --- Rankings --------------------------------------------------------------------------------


def _rankings(app) -> list[tuple]:
    with app.test_request_context("/admin/?period=2026-Q3&lang=vi"):
        filters = SummaryFilterForm.from_query().resolve(visible=None, today=JULY.date())
        found = rankings.rankings(filters, locale="vi", kinds=("service", "unit"))
    return {kind: [(r.key, r.rank, r.short) for r in rows] for kind, rows in found.items()}


def test_rankings_leave_out_a_procedure_short_of_its_sample(app, runner, tmp_path):
    with app.app_context():
        for service, value in (("HT-KHAISINH", 5), ("CT-BANSAO", 4)):
            for _ in range(40):
                rate(service=service, unit="XA1", answers={"OV": 5, "TC1": value}, captured_at=JULY)
    assert _rankings(app)["service"] == [("HT-KHAISINH", 1, False), ("CT-BANSAO", 2, False)]
    # 1,200 birth dossiers need 300 ratings; 40 copies need 37 (ceil(40 / 1.1)): enough
    dossiers = "date,unit,service,dossiers\n01/07/2026,XA1,HT-KHAISINH,1200\n"
    assert _import(runner, tmp_path, dossiers + "01/07/2026,XA1,CT-BANSAO,40\n").exit_code == 0
    found = _rankings(app)
    assert found["service"] == [("CT-BANSAO", 1, False), ("HT-KHAISINH", None, True)]
    assert found["unit"] == [("XA1", None, True)]  # 80 ratings of 1,240 dossiers (needs 303)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DossierCount)) == 2


def test_a_file_larger_than_other_requests_may_be_uploaded(app, people):
    first = date(2024, 1, 1).toordinal()
    lines = [
        f"{date.fromordinal(first + day):%d/%m/%Y},XA1,{service},{day % 50}"
        for day in range(1000)
        for service in ("HT-KHAISINH", "HT-KETHON", "CT-BANSAO")
    ]
    content = "date,unit,service,dossiers\n" + "\n".join(lines) + "\n"
    assert len(content.encode()) > 64 * 1024  # the limit of every other request
    assert _upload(_signed_in(app, "m@ag.vn"), content).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DossierCount)) == 3000


def test_a_wrong_entry_says_what_to_correct_and_stores_nothing(app, people):
    manager = _signed_in(app, "m@ag.vn")
    form = {"period": "2026-Q5", "unit": "XA1", "service": "HT-KHAISINH", "dossiers": "-5"}
    reply = manager.post("/admin/planning/entry?lang=vi", data=form)
    assert reply.status_code == 400
    assert "Hãy nhập một số từ 0 đến 1.000.000." in reply.text
    assert "Hãy chọn kỳ báo cáo." in reply.text
    with app.app_context():
        assert _stored() == [] and _events("dossiers.entry") == []
