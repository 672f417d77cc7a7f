"""Follow-up cases: the deadline in working days, a case through every state on the pages, the
scope and roles, the full number only to the assignee (audited), the hotline's lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from survey import cases, contacts
from survey.extensions import db
from survey.followup_models import FollowupCase, Holiday
from survey.models import AuditEvent, Response
from tests.builders import bearer, kiosk_token, make_user, rate, response_body, sign_in

FRIDAY = datetime(2026, 4, 24, 2, 0, tzinfo=UTC)  # 09:00 in Hồ Chí Minh City
PHONE = "0912 345 678"


def test_working_days_skip_the_weekend_and_the_holidays():
    holidays = [date(2026, 4, 27), date(2026, 4, 30), date(2026, 5, 1)]
    # Friday + 2: Saturday, Sunday and the Monday holiday are skipped.
    assert cases.add_working_days(date(2026, 4, 24), 2, holidays) == date(2026, 4, 29)
    # Over 30 April and 1 May (Thursday, Friday) and the weekend after.
    assert cases.add_working_days(date(2026, 4, 29), 1, holidays) == date(2026, 5, 4)
    assert cases.add_working_days(date(2026, 4, 24), 0, holidays) == date(2026, 4, 24)


@pytest.fixture
def case_setup(app):
    """A rating of XA1 with a consented number, its case opened on a Friday with a holiday on
    the Monday after; a manager and a viewer of XA1, a manager of CTR only."""
    with app.app_context():
        db.session.add(Holiday(day=date(2026, 4, 27), name="Giỗ Tổ Hùng Vương"))
        db.session.commit()
        response = rate(counter="XA1-Q01", answers={"OV": 1}, comment="Chờ quá lâu")
        contacts.store(response.id, PHONE, now=FRIDAY)
        case = cases.open_case(response.id, now=FRIDAY)
        db.session.commit()
        make_user("m@xa1.vn", "manager", ("XA1",))
        make_user("v@xa1.vn", "viewer", ("XA1",))
        make_user("m@ctr.vn", "manager", ("CTR",))
        return {"case": case.id, "response": response.id}


def _case(app, case_id):
    with app.app_context():
        return db.session.get(FollowupCase, case_id)


def test_a_case_through_every_state(app, client, case_setup):
    case_id = case_setup["case"]
    found = _case(app, case_id)
    # 15 working days from Friday 24 April: the weekends and Monday 27 April are not counted.
    assert found.due_on == date(2026, 5, 18) and found.state == "new"
    sign_in(client, "m@xa1.vn")
    page = client.get(f"/admin/cases/{case_id}")
    assert page.status_code == 200 and "09•• ••• 678" in page.text and "0912345678" not in page.text
    with app.app_context():
        from survey.accounts import find_user

        me = find_user("m@xa1.vn").id
    assert client.post(f"/admin/cases/{case_id}/reveal").status_code == 403  # not assigned yet
    assert client.post(f"/admin/cases/{case_id}/assign", data={"assignee": me}).status_code == 303
    shown = client.post(f"/admin/cases/{case_id}/reveal")
    assert shown.status_code == 200 and "0912345678" in shown.text
    for state in ("in_progress", "contacted"):
        moved = client.post(f"/admin/cases/{case_id}/state", data={"state": state})
        assert moved.status_code == 303
    assert client.post(f"/admin/cases/{case_id}/state", data={"state": "closed"}).status_code == 400
    note = client.post(f"/admin/cases/{case_id}/note", data={"text": "Đã gọi lại, hẹn trả sớm"})
    assert note.status_code == 303
    closed = client.post(
        f"/admin/cases/{case_id}/state", data={"state": "closed", "outcome": "Đã giải thích"}
    )
    assert closed.status_code == 303
    found = _case(app, case_id)
    assert (found.state, found.outcome) == ("closed", "Đã giải thích")
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions.count("contact.reveal") == 1 and actions.count("case.state") == 3
        closed_day = cases.local_day(found.closed_at)
        got = cases.counts(since=date(2026, 4, 1), until=closed_day, unit_ids=None)
        assert got.opened == 1
        assert (got.closed_on_time, got.overdue) == (
            (1, 0) if closed_day <= found.due_on else (0, 1)
        )
    assert "Đã gọi lại" in client.get(f"/admin/cases/{case_id}").text


def test_scope_and_roles(app, client, case_setup):
    case_id = case_setup["case"]
    sign_in(client, "v@xa1.vn")
    page = client.get(f"/admin/cases/{case_id}")
    assert page.status_code == 200 and "Chờ quá lâu" not in page.text  # viewers read no comment
    assert (
        client.post(f"/admin/cases/{case_id}/state", data={"state": "in_progress"}).status_code
        == 403
    )
    with app.app_context():  # a case of the centre, above XA1: not XA1's staff's
        other = rate(counter="CTR-Q01", answers={"OV": 2})
        contacts.store(other.id, "0988 000 111", now=FRIDAY)
        other_case = cases.open_case(other.id, now=FRIDAY).id
        db.session.commit()
    client.post("/admin/logout")
    sign_in(client, "m@xa1.vn")
    assert client.get(f"/admin/cases/{other_case}").status_code == 404
    assert f">#{other_case}<" not in client.get("/admin/cases").text
    looked_up = client.post("/admin/cases/hotline", data={"phone": "0988000111"})
    assert f">#{other_case}<" not in looked_up.text
    client.post("/admin/logout")
    sign_in(client, "m@ctr.vn")  # the centre's manager sees the units below it too
    assert client.get(f"/admin/cases/{case_id}").status_code == 200


def test_the_list_marks_overdue_cases_in_words(app, client, case_setup):
    sign_in(client, "m@xa1.vn")
    listed = client.get("/admin/cases?overdue=y")  # its deadline, 18 May 2026, has passed
    assert f"#{case_setup['case']}" in listed.text and 'class="overdue"' in listed.text
    assert "tag-overdue" in listed.text
    assert f"#{case_setup['case']}" not in client.get("/admin/cases?state=closed").text


def test_the_hotline_finds_a_numbers_cases_and_withdraws_by_code(app, client, case_setup):
    sign_in(client, "m@xa1.vn")
    found = client.post("/admin/cases/hotline", data={"phone": "+84912345678"})
    assert f"#{case_setup['case']}" in found.text
    assert client.post("/admin/cases/withdraw", data={"code": "AAAA-AAAA"}).status_code == 400


def test_a_manager_opens_a_case_from_a_comment(app, client):
    with app.app_context():
        response = rate(counter="XA1-Q01", answers={"OV": 4}, comment="Nên có thêm quầy")
        silent = rate(counter="XA1-Q01", answers={"OV": 4})
        make_user("m@xa1.vn", "manager", ("XA1",))
        ids = (response.id, silent.id)
    sign_in(client, "m@xa1.vn")
    opened = client.post(f"/admin/cases/open/{ids[0]}")
    assert opened.status_code == 303
    assert client.post(f"/admin/cases/open/{ids[1]}").status_code == 404  # no comment
    with app.app_context():
        case = db.session.scalar(select(FollowupCase))
        assert (case.response_id, case.opened_by) == (ids[0], "m@xa1.vn")


def test_a_kiosk_rating_with_a_consented_number_opens_a_case(app, client):
    with app.app_context():
        token = kiosk_token()
    body = response_body(ov=2, contact={"phone": PHONE, "consent": True})
    assert client.post("/api/v1/responses", json=body, headers=bearer(token)).status_code == 201
    refused = response_body(contact={"phone": PHONE, "consent": False})
    assert client.post("/api/v1/responses", json=refused, headers=bearer(token)).status_code == 422
    with app.app_context():
        rid = db.session.scalar(select(Response.id).filter_by(public_id=body["id"]))
        assert db.session.scalar(select(FollowupCase.response_id)) == rid
        assert contacts.responses_for_phone(PHONE) == [rid]


def test_due_soon_lists_open_cases_near_their_deadline(app, case_setup):
    with app.app_context():
        # Due Monday 18 May 2026: two working days before is Thursday 14 May.
        assert cases.due_soon(now=datetime(2026, 5, 13, 2, tzinfo=UTC)) == []
        soon = cases.due_soon(now=datetime(2026, 5, 14, 2, tzinfo=UTC))
        assert [c.id for c in soon] == [case_setup["case"]]
        assert cases.due_soon(now=datetime(2026, 5, 19, 2, tzinfo=UTC)) == []  # passed


def test_the_dashboard_and_the_report_count_the_cases(app, client, case_setup):
    sign_in(client, "m@xa1.vn")
    board = client.get("/admin/?period=2026-Q2")
    assert "Hồ sơ xử lý phản ánh" in board.text and "Tạo trong kỳ: 1" in board.text
    report = client.get("/admin/report?unit=XA1&period=2026-Q2")
    counted = "1 hồ sơ được tạo trong kỳ, trong đó 0 hồ sơ đóng đúng hạn, 1 hồ sơ quá hạn"
    assert counted in report.text
