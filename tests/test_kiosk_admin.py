"""Kiosk administration, suspect ratings, QR posters and visit codes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update

from survey import flags, kiosks, rollups
from survey.extensions import db
from survey.models import AuditEvent, KioskDevice, Response, Unit, VisitCode, utcnow
from tests.builders import bearer, kiosk_token, make_user, overall_form, response_body, sign_in

# Sunday 20:00 UTC is Monday 03:00 in Vietnam: the kiosk's working week follows local time.
MONDAY_03_VN = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


@pytest.fixture
def token(app):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        make_user("manager@ag.vn", "manager", ("XA1",))
        return kiosk_token()


def send(client, token, *, seconds_ago: int, ov: int = 5):
    body = response_body(ov=ov, minutes_ago=seconds_ago / 60)
    return client.post("/api/v1/responses", json=body, headers=bearer(token)).get_json()["id"]


def flags_of(app) -> list[str | None]:
    """Each rating's flag reason, oldest first (None: counted)."""
    with app.app_context():
        return list(db.session.scalars(select(Response.flag_reason).order_by(Response.captured_at)))


def reviews_of(app) -> list[str | None]:
    with app.app_context():
        return list(db.session.scalars(select(Response.flag_review).order_by(Response.captured_at)))


def test_a_burst_is_flagged_kept_and_left_out_of_the_index(app, client, token):
    send(client, token, seconds_ago=100)
    burst = send(client, token, seconds_ago=98)
    send(client, token, seconds_ago=30)
    assert flags_of(app) == [None, "burst", None]
    with app.app_context():
        counted = rollups.counted()
    assert counted == 2
    sign_in(client, "manager@ag.vn")
    page = client.get("/admin/flags").text
    assert burst in page and "Sảnh A" in page
    assert 'name="decision" value="confirm"' in page and 'name="decision" value="clear"' in page
    assert client.post("/admin/flags", data={"id": burst, "decision": "clear"}).status_code == 303
    assert flags_of(app) == [None, None, None] and reviews_of(app) == [None, None, None]
    with app.app_context():
        assert rollups.counted() == 3
        event = db.session.scalar(select(AuditEvent).filter_by(action="flag.clear"))
        assert (event.actor, event.target) == ("manager@ag.vn", burst)


def test_a_streak_of_identical_answers_is_flagged(app, client, token):
    for i in range(8):
        send(client, token, seconds_ago=600 - i * 60, ov=1)
    assert flags_of(app) == [None] * 7 + ["streak"]
    send(client, token, seconds_ago=30, ov=4)
    assert flags_of(app)[-1] is None


def test_confirming_keeps_the_rating_out(app, client, token):
    send(client, token, seconds_ago=100)
    burst = send(client, token, seconds_ago=99)
    sign_in(client, "admin@ag.vn")
    client.post("/admin/flags", data={"id": burst, "decision": "confirm"})
    assert (flags_of(app)[1], reviews_of(app)[1]) == ("burst", "confirmed")
    with app.app_context():
        assert rollups.counted() == 1
    assert "Đã loại khỏi chỉ số" in client.get("/admin/flags").text


def test_a_decision_other_than_confirm_or_clear_is_refused(app, client, token):
    send(client, token, seconds_ago=100)
    burst = send(client, token, seconds_ago=99)
    sign_in(client, "admin@ag.vn")
    assert client.post("/admin/flags", data={"id": burst, "decision": "keep"}).status_code == 400
    assert client.post("/admin/flags", data={"id": burst}).status_code == 400
    nothing_chosen = client.post("/admin/flags", data={"decision": "clear"})
    assert nothing_chosen.status_code == 400 and "Chọn ít nhất một phiếu" in nothing_chosen.text
    assert client.post("/admin/flags", data={"id": "nope", "decision": "clear"}).status_code == 404
    assert flags_of(app) == [None, "burst"] and reviews_of(app) == [None, None]


def test_the_list_of_suspect_ratings_takes_the_same_queries_however_long(app, client, token):
    def queries_for_the_list() -> int:
        statements = []
        count = lambda *args: statements.append(args[2])  # noqa: E731
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                found = flags.flagged(visible=None, locale="vi")
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
        return len(found), len(statements)

    send(client, token, seconds_ago=300)
    for seconds in (200, 199):
        send(client, token, seconds_ago=seconds)
    one = queries_for_the_list()
    for seconds in (100, 99, 98, 97):
        send(client, token, seconds_ago=seconds)
    assert one[0] == 1 and queries_for_the_list() == (4, one[1])


def test_kiosk_list_shows_offline_and_queue(app, client, token):
    client.post(
        "/api/v1/kiosk/heartbeat",
        json={"app_version": "1", "queued": 4},
        headers=bearer(token),
    )
    with app.app_context():
        device = db.session.scalar(select(KioskDevice))
        assert not kiosks.is_offline(device, now=utcnow())  # it has just called in
        db.session.execute(
            update(KioskDevice).values(last_heartbeat=MONDAY_03_VN - timedelta(days=7))
        )
        db.session.commit()
        device = db.session.scalar(select(KioskDevice))
        assert not kiosks.is_offline(device, now=MONDAY_03_VN)  # before opening (07:00)
        app.config["SURVEY_OPENING_HOURS"] = "00:00-23:59"
        assert kiosks.is_offline(device, now=MONDAY_03_VN)  # Monday in Vietnam, Sunday in UTC
        assert kiosks.is_offline(device, now=MONDAY_03_VN - timedelta(days=1, hours=17))  # Sat 10h
        assert not kiosks.is_offline(device, now=MONDAY_03_VN - timedelta(days=1))  # Sun 03h
        assert not kiosks.is_offline(device, now=MONDAY_03_VN - timedelta(hours=17))  # Sun 10h
    sign_in(client, "manager@ag.vn")
    page = client.get("/admin/kiosks").text
    assert "Sảnh A" in page and ">4<" in page


def test_kiosk_can_be_moved_renamed_and_revoked(app, client, token):
    sign_in(client, "admin@ag.vn")
    with app.app_context():
        kiosk_id = db.session.scalar(select(KioskDevice.id))
    moved = client.post(
        f"/admin/kiosks/{kiosk_id}", data={"name": "Sảnh B", "unit": "CTR", "counter": "CTR-Q01"}
    )
    assert moved.status_code == 303
    wrong = client.post(
        f"/admin/kiosks/{kiosk_id}", data={"name": "X", "unit": "CTR", "counter": "XA1-Q01"}
    )
    assert wrong.status_code == 400
    client.post(f"/admin/kiosks/{kiosk_id}", data={"action": "revoke"})
    assert client.post("/api/v1/kiosk/heartbeat", json={}, headers=bearer(token)).status_code == 401
    with app.app_context():
        device = db.session.get(KioskDevice, kiosk_id)
        assert (device.name, device.unit.code, device.revoked_at is not None) == (
            "Sảnh B",
            "CTR",
            True,
        )


def test_the_kiosk_forms_carry_their_csrf_token(app, client, token):
    sign_in(client, "admin@ag.vn")
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        kiosk_id = db.session.scalar(select(KioskDevice.id))
    page = client.get(f"/admin/kiosks/{kiosk_id}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/admin/kiosks/{kiosk_id}", data={"action": "revoke"}).status_code == 400
    edit = {"name": "Sảnh C", "unit": "XA1", "counter": "", "csrf_token": csrf}
    assert client.post(f"/admin/kiosks/{kiosk_id}", data=edit).status_code == 303
    revoke = {"action": "revoke", "csrf_token": csrf}
    assert client.post(f"/admin/kiosks/{kiosk_id}", data=revoke).status_code == 303
    with app.app_context():
        device = db.session.get(KioskDevice, kiosk_id)
        assert (device.name, device.counter, device.revoked_at is not None) == (
            "Sảnh C",
            None,
            True,
        )


def test_a_manager_cannot_touch_kiosks_of_other_units(app, client, token):
    with app.app_context():
        other = kiosks.create_kiosk(unit="CTR", counter=None, name="Trung tâm", actor="t")[0]
        other_id = other.id
    sign_in(client, "manager@ag.vn")
    assert "Trung tâm" not in client.get("/admin/kiosks").text
    assert client.get(f"/admin/kiosks/{other_id}").status_code == 404
    assert client.post(f"/admin/kiosks/{other_id}", data={"action": "revoke"}).status_code == 404


@pytest.mark.skipif(
    (not shutil.which("zbarimg") or not shutil.which("pdftoppm"))
    and not os.environ.get("SURVEY_REQUIRE_BROWSER"),
    reason="needs zbarimg (zbar-tools) and pdftoppm (poppler-utils)",
)
def test_poster_pdf_decodes_to_the_right_url(app, runner, tmp_path):
    app.config["SURVEY_PUBLIC_URL"] = "https://khaosat.angiang.gov.vn"
    pdf = tmp_path / "poster.pdf"
    result = runner.invoke(
        args=[
            "qr",
            "--service",
            "HT-KHAISINH",
            "--counter",
            "XA1-Q01",
            "--size",
            "a5",
            "-o",
            str(pdf),
        ]
    )
    assert result.exit_code == 0, result.output
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(pdf), str(tmp_path / "page")], check=True)
    decoded = subprocess.run(
        ["zbarimg", "-q", "--raw", str(tmp_path / "page-1.png")], capture_output=True, text=True
    ).stdout.strip()
    assert decoded == "https://khaosat.angiang.gov.vn/s/HT-KHAISINH?counter=XA1-Q01"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Đăng ký khai sinh" in text and "Birth registration" in text
    assert "khaosat.angiang.gov.vn/s/HT-KHAISINH" in text


def test_poster_svg_from_the_admin_pages(app, client, token):
    sign_in(client, "manager@ag.vn")
    reply = client.get("/admin/qr/HT-KHAISINH.svg?size=a4&counter=XA1-Q01")
    assert reply.status_code == 200 and reply.mimetype == "image/svg+xml"
    assert "Đăng ký khai sinh" in reply.text and "/s/HT-KHAISINH?counter=XA1-Q01" in reply.text
    assert client.get("/admin/qr/HT-KHAISINH.svg?counter=CTR-Q01").status_code == 404
    assert client.get("/admin/qr/NOPE.pdf").status_code == 404
    assert "Đăng ký khai sinh" in client.get("/admin/qr").text


def test_visit_codes_rate_once(app, client, runner):
    result = runner.invoke(args=["visit-codes", "mint", "--service", "HT-KHAISINH", "--count", "2"])
    urls = result.output.strip().splitlines()
    assert len(urls) == 2 and all("/v/" in u for u in urls)
    code = urls[0].rsplit("/", 1)[1]
    with app.app_context():
        stored = list(db.session.scalars(select(VisitCode.code_hash)))
        assert code not in stored and len(stored) == 2
    reply = client.get(f"/v/{code}")
    assert reply.headers["Location"].startswith("/vi/s/HT-KHAISINH")
    fields = overall_form(client, "/vi/s/HT-KHAISINH?via=qr")
    assert client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": "5"}).status_code == 303
    again = app.test_client().get(f"/v/{code}")
    assert again.status_code == 200 and "đã được đánh giá" in again.text
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")  # one character of the signature
    assert app.test_client().get(f"/v/{forged}").status_code == 404
    with app.app_context():
        used = db.session.scalar(select(VisitCode).where(VisitCode.used_at.is_not(None)))
        assert used.response_id == db.session.scalar(select(Response.id))


def test_a_unit_can_require_visit_codes(app, client, runner):
    assert runner.invoke(args=["visit-codes", "require", "--unit", "CTR"]).exit_code == 0
    blocked = client.get("/vi/s/HT-KHAISINH")
    assert blocked.status_code == 403 and "Giấy tiếp nhận hồ sơ" in blocked.text
    code = runner.invoke(args=["visit-codes", "mint", "--service", "HT-KHAISINH"]).output
    client.get("/v/" + code.strip().rsplit("/", 1)[1])
    assert client.get("/vi/s/HT-KHAISINH?via=qr").status_code == 200
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Unit).filter_by(visit_codes_required=True)
            )
            == 1
        )


def test_visit_code_api_for_the_one_stop_software(app, client, token):
    from survey import accounts

    with app.app_context():
        api = accounts.create_api_token(accounts.find_user("manager@ag.vn"), actor="t")
    reply = client.post(
        "/api/v1/visit-codes",
        json={"service": "HT-KHAISINH", "count": 3, "counter": "XA1-Q01"},
        headers=bearer(api),
    )
    assert reply.status_code == 201 and len(reply.get_json()["codes"]) == 3
    outside = client.post(
        "/api/v1/visit-codes",
        json={"service": "HT-KHAISINH", "counter": "CTR-Q01"},
        headers=bearer(api),
    )
    assert outside.status_code == 403
    assert client.post("/api/v1/visit-codes", json={"service": "HT-KHAISINH"}).status_code == 401


def test_the_visit_code_refusal_says_what_was_refused_in_the_callers_language(app, client, token):
    from survey import accounts

    with app.app_context():
        api = accounts.create_api_token(accounts.find_user("manager@ag.vn"), actor="t")
    outside = client.post(
        "/api/v1/visit-codes?lang=vi",
        json={"service": "HT-KHAISINH", "counter": "CTR-Q01"},
        headers={"Authorization": f"Bearer {api}"},
    )
    assert outside.status_code == 403
    assert outside.get_json()["errors"] == [
        {
            "field": "counter",
            "message": "Ông/Bà không có quyền lấy mã đánh giá lượt giao dịch của đơn vị này.",
        }
    ]
    in_khmer = client.post(
        "/api/v1/visit-codes",
        json={"service": "HT-KHAISINH", "counter": "CTR-Q01"},
        headers={"Authorization": f"Bearer {api}", "Accept-Language": "km"},
    )
    assert in_khmer.get_json()["errors"][0]["message"].startswith("លោកអ្នកមិនមានសិទ្ធិស្នើសុំ")


def _visit_for(runner, client, counter: str) -> str:
    minted = runner.invoke(
        args=["visit-codes", "mint", "--service", "HT-KHAISINH", "--counter", counter]
    )
    code = minted.output.strip().rsplit("/", 1)[1]
    assert client.get(f"/v/{code}").headers["Location"].endswith(f"counter={counter}")
    return code


def test_a_visit_code_rates_only_the_counter_it_was_minted_for(app, client, runner):
    for unit in ("CTR", "XA1"):
        assert runner.invoke(args=["visit-codes", "require", "--unit", unit]).exit_code == 0
    code = _visit_for(runner, client, "XA1-Q01")
    other = "/vi/s/HT-KHAISINH?via=qr&counter=CTR-Q01"
    assert client.get(other).status_code == 403
    forged = {"rid": str(uuid.uuid4()), "via": "qr", "counter": "CTR-Q01", "OV": "1"}
    refused = client.post("/vi/s/HT-KHAISINH", data=forged)
    assert refused.status_code == 403 and "Giấy tiếp nhận hồ sơ" in refused.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        assert db.session.scalar(select(VisitCode.used_at)) is None
    fields = overall_form(client, "/vi/s/HT-KHAISINH?via=qr&counter=XA1-Q01")
    assert client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": "5"}).status_code == 303
    with app.app_context():
        rated = db.session.scalar(select(Response))
        assert rated.counter.code == "XA1-Q01" and db.session.scalar(select(VisitCode.used_at))
    assert client.get(f"/v/{code}").status_code == 200  # "already rated"


def test_a_visit_code_is_not_spent_on_another_counter(app, client, runner):
    # The centre (CTR) takes open ratings; the code stays for the counter it names.
    assert runner.invoke(args=["visit-codes", "require", "--unit", "XA1"]).exit_code == 0
    _visit_for(runner, client, "XA1-Q01")
    fields = overall_form(client, "/vi/s/HT-KHAISINH?via=qr&counter=CTR-Q01")
    assert client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": "3"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(VisitCode.used_at)) is None
    fields = overall_form(client, "/vi/s/HT-KHAISINH?via=qr&counter=XA1-Q01")
    assert client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": "5"}).status_code == 303
    with app.app_context():
        used = db.session.scalar(select(VisitCode))
        assert used.used_at is not None
        assert db.session.get(Response, used.response_id).counter.code == "XA1-Q01"
