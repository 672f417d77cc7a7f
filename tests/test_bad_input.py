"""Bad input: a clear 4xx in the visitor's language, nothing stored, no stack trace."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Response
from tests.builders import overall_form


def stored(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Response)),
            db.session.scalar(select(func.count()).select_from(Answer)),
        )


def started(client) -> str:
    fields = overall_form(client, "/vi/s/HT-KHAISINH")
    client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": "4"})
    return fields["rid"]


@pytest.fixture(autouse=True)
def no_tracebacks(caplog):
    caplog.set_level(logging.INFO)
    yield
    assert not [r for r in caplog.records if r.exc_info], "a stack trace was logged"


@pytest.mark.parametrize("value", ["6", "0", "-1", "abc", "4.5", ""])
def test_overall_score_outside_the_scale_is_refused(app, client, value):
    fields = overall_form(client, "/vi/s/HT-KHAISINH")
    reply = client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": value})
    assert reply.status_code == 400
    assert "<title>Lỗi: " in reply.text
    assert 'class="error-summary"' in reply.text
    # The summary says what is missing, the field what to do (the reviewed wording).
    assert "Ông/Bà chưa chọn mức độ hài lòng" in reply.text
    expected = "Vui lòng chọn một mức bên dưới."
    assert expected in reply.text
    assert stored(app) == (0, 0)


def test_error_is_in_the_visitors_language(client):
    fields = overall_form(client, "/km/s/HT-KHAISINH")
    reply = client.post("/km/s/HT-KHAISINH", data=fields)
    assert reply.status_code == 400 and '<html lang="km">' in reply.text
    assert "Choose how satisfied" not in reply.text


def test_criterion_score_outside_the_scale_changes_nothing(app, client):
    rid = started(client)
    reply = client.post(f"/vi/r/{rid}/tc", data={"TC1": "5", "TC2": "9"})
    assert reply.status_code == 400 and 'href="#TC2-1"' in reply.text
    assert stored(app) == (1, 1)  # TC1 was not stored half-way either


def test_unknown_item_code_is_refused(app, client):
    rid = started(client)
    reply = client.post(f"/vi/r/{rid}/tc", data={"TC1": "5", "XX9": "5"})
    assert reply.status_code == 400 and "không có trong phiếu khảo sát" in reply.text
    reply = client.post(f"/vi/r/{rid}/tc", data={"TT1": "5"})  # an item of another page
    assert reply.status_code == 400
    assert stored(app) == (1, 1)


@pytest.mark.parametrize("code", ["NO-SUCH", "CT-CU"])
def test_unknown_or_inactive_service_is_not_found(app, client, code):
    assert client.get(f"/vi/s/{code}").status_code == 404
    reply = client.post(f"/vi/s/{code}", data={"rid": str(uuid.uuid4()), "OV": "5"})
    assert reply.status_code == 404 and "Không tìm thấy trang" in reply.text
    assert stored(app) == (0, 0)


def test_unknown_counter_is_not_found(app, client):
    assert client.get("/vi/s/HT-KHAISINH?counter=NOPE").status_code == 404


def test_forged_or_foreign_response_id_is_not_found(app, client):
    rid = started(client)
    other = app.test_client()  # another browser does not own this response
    assert other.get(f"/vi/r/{rid}/tc").status_code == 404
    assert other.post(f"/vi/r/{rid}/tc", data={"TC1": "1"}).status_code == 404
    assert other.post("/vi/s/HT-KHAISINH", data={"rid": rid, "OV": "1"}).status_code == 404
    assert client.get(f"/vi/r/{uuid.uuid4()}/tc").status_code == 404
    assert client.get("/vi/r/not-a-uuid/tc").status_code == 404
    assert client.post("/vi/s/HT-KHAISINH", data={"rid": "x' OR 1=1", "OV": "5"}).status_code == 400
    assert stored(app) == (1, 1)


def test_ten_thousand_character_comment_is_refused(app, client):
    rid = started(client)
    reply = client.post(f"/vi/r/{rid}/comment", data={"comment": "á" * 10_000})
    assert reply.status_code == 400 and "Góp ý quá dài: tối đa 1200 ký tự" in reply.text
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert (response.status, response.comment) == ("partial", None)


def test_oversized_body_is_refused(app, client):
    rid = started(client)
    reply = client.post(f"/vi/r/{rid}/comment", data={"comment": "a" * 100_000})
    assert reply.status_code == 413 and "Dữ liệu gửi lên quá lớn" in reply.text
    assert stored(app) == (1, 1)


def test_non_utf8_body_is_refused(app, client):
    rid = started(client)
    reply = client.post(
        f"/vi/r/{rid}/comment",
        data="comment=C\xe1n b\xf4".encode("latin-1"),
        content_type="application/x-www-form-urlencoded",
    )
    assert reply.status_code == 400 and "Yêu cầu không hợp lệ" in reply.text
    with app.app_context():
        assert db.session.scalar(select(Response.status)) == "partial"


def test_post_without_csrf_token_is_refused(app):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    reply = client.post("/vi/s/HT-KHAISINH", data={"rid": str(uuid.uuid4()), "OV": "5"})
    assert reply.status_code == 400 and "Trang đã hết hạn" in reply.text
    stale = client.post(
        "/vi/s/HT-KHAISINH", data={"rid": str(uuid.uuid4()), "OV": "5", "csrf_token": "stale"}
    )
    assert stale.status_code == 400
    fields = overall_form(client, "/vi/s/HT-KHAISINH")  # with the page's token it works
    assert client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": "5"}).status_code == 303
    assert stored(app) == (1, 1)


def test_unknown_page_is_a_friendly_404(client):
    reply = client.get("/vi/no-such-page")
    assert reply.status_code == 404 and "Về danh sách thủ tục" in reply.text
