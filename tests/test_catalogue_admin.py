"""The catalogue edited on the web: the CSV import's rules, roles and scope, and the audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey import catalogue
from survey.extensions import db
from survey.models import AuditEvent, Counter, Service, Unit
from tests.builders import make_user, sign_in

PROCEDURE = {
    "code": "HT-CAI-CHINH",
    "name_vi": "Cải chính hộ tịch",
    "name_en": "Correction of civil status",
    "name_km": "ការកែតម្រូវអត្រានុកូលដ្ឋាន",
    "national_code": "1.004859",
    "field": "HOTICH",
    "agency": "UBNDXA",
    "active": "y",
}


@pytest.fixture
def people(app):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        make_user("manager@ag.vn", "manager", ("XA1",))
        make_user("viewer@ag.vn", "viewer", ("XA1",))


def as_(app, email: str):
    client = app.test_client()
    sign_in(client, email)
    return client


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def events(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).filter(AuditEvent.action.like("catalogue.%")))
        return [(e.action, e.actor, e.target) for e in rows]


def test_an_admin_adds_and_edits_a_procedure_audited(app, people):
    admin = as_(app, "admin@ag.vn")
    assert admin.post("/admin/catalogue/service/new", data=PROCEDURE).status_code == 303
    with app.app_context():
        added = catalogue.find_service("HT-CAI-CHINH")
        assert (added.national_code, added.field.code, added.name_km) == (
            "1.004859",
            "HOTICH",
            PROCEDURE["name_km"],
        )
    page = admin.get("/admin/catalogue/service/HT-CAI-CHINH")
    assert page.status_code == 200 and 'value="Cải chính hộ tịch"' in page.text
    retired = {**PROCEDURE, "name_vi": "Cải chính, bổ sung hộ tịch", "active": ""}
    assert admin.post("/admin/catalogue/service/HT-CAI-CHINH", data=retired).status_code == 303
    with app.app_context():
        service = db.session.scalar(select(Service).filter_by(code="HT-CAI-CHINH"))
        assert (service.name_vi, service.active) == ("Cải chính, bổ sung hộ tịch", False)
    assert events(app) == [
        ("catalogue.create", "admin@ag.vn", "service HT-CAI-CHINH"),
        ("catalogue.update", "admin@ag.vn", "service HT-CAI-CHINH"),
    ]
    assert "HT-CAI-CHINH" in admin.get("/admin/catalogue").text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "có dấu"}, "Mã chỉ gồm 1 đến 40 chữ cái"),
        ({"code": "HT-KHAISINH"}, "Mã chỉ gồm 1 đến 40 chữ cái"),  # taken
        ({"name_vi": ""}, "Nhập tên bằng tiếng Việt."),
        ({"national_code": "1004859"}, "Ghi mã thủ tục quốc gia theo dạng 1.001193"),
        ({"field": "NOPE"}, "Chọn một lĩnh vực trong danh sách."),
        ({"agency": ""}, "Chọn một cơ quan trong danh sách."),
        ({"name_en": "x" * 301}, "Tối đa 300 ký tự."),
    ],
)
def test_a_bad_procedure_is_refused_whole(app, people, changes, message):
    before = count(app, Service)
    reply = as_(app, "admin@ag.vn").post("/admin/catalogue/service/new", data=PROCEDURE | changes)
    assert reply.status_code == 400 and message in reply.text
    assert "<title>Lỗi: " in reply.text
    assert count(app, Service) == before and events(app) == []


def test_a_manager_edits_the_units_and_counters_of_their_scope(app, people):
    manager = as_(app, "manager@ag.vn")
    counter = {
        "code": "XA1-Q02",
        "parent": "XA1",
        "name_vi": "Quầy 02",
        "name_en": "",
        "name_km": "",
    }
    assert manager.post("/admin/catalogue/counter/new", data=counter).status_code == 303
    hamlet = {"code": "XA1-AP", "parent": "XA1", "name_vi": "Điểm tiếp nhận ấp Một"}
    assert manager.post("/admin/catalogue/unit/new", data=hamlet).status_code == 303
    renamed = {"name_vi": "Điểm phục vụ xã Một (mới)", "parent": "CTR"}
    assert manager.post("/admin/catalogue/unit/XA1", data=renamed).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Counter).filter_by(code="XA1-Q02")).unit.code == "XA1"
        assert catalogue.find_unit("XA1-AP").parent.code == "XA1"
        assert catalogue.find_unit("XA1").name_vi == "Điểm phục vụ xã Một (mới)"
    assert [e[0] for e in events(app)] == ["catalogue.create"] * 2 + ["catalogue.update"]
    page = manager.get("/admin/catalogue").text
    assert "XA1-Q01" in page and "CTR-Q01" not in page and "HT-KHAISINH" not in page


def test_a_manager_cannot_reach_beyond_their_units(app, people):
    manager = as_(app, "manager@ag.vn")
    other = {"code": "CTR-Q09", "parent": "CTR", "name_vi": "Quầy 09"}
    assert manager.post("/admin/catalogue/counter/new", data=other).status_code == 403
    top = {"code": "XA9", "parent": "", "name_vi": "Xã Chín"}
    assert manager.post("/admin/catalogue/unit/new", data=top).status_code == 403
    assert manager.get("/admin/catalogue/counter/CTR-Q01").status_code == 404
    assert manager.get("/admin/catalogue/unit/CTR").status_code == 404
    moved = {"name_vi": "Quầy 01", "parent": "CTR"}
    assert manager.post("/admin/catalogue/counter/XA1-Q01", data=moved).status_code == 403
    for kind in ("service", "field", "agency"):
        assert manager.get(f"/admin/catalogue/{kind}/new").status_code == 403
    assert manager.post("/admin/catalogue/service/HT-KHAISINH", data=PROCEDURE).status_code == 403
    viewer = as_(app, "viewer@ag.vn")
    assert viewer.get("/admin/catalogue").status_code == 403
    assert viewer.post("/admin/catalogue/counter/new", data=other).status_code == 403
    assert count(app, Counter) == 2 and events(app) == []


def test_a_unit_cannot_be_put_below_itself(app, people):
    admin = as_(app, "admin@ag.vn")
    below = {"name_vi": "Trung tâm", "parent": "XA1"}
    reply = admin.post("/admin/catalogue/unit/CTR", data=below)
    assert reply.status_code == 400 and "không phải đơn vị này hoặc đơn vị cấp dưới" in reply.text
    with app.app_context():
        assert db.session.scalar(select(Unit).filter_by(code="CTR")).parent is None


def test_an_unknown_kind_or_code_is_not_found(app, people):
    admin = as_(app, "admin@ag.vn")
    assert admin.get("/admin/catalogue/user/new").status_code == 404
    assert admin.get("/admin/catalogue/service/NOPE").status_code == 404
