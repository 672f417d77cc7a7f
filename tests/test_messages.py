"""Refusals read in the visitor's language, on pages and in the API."""

from __future__ import annotations

from sqlalchemy import update

from survey.extensions import db
from survey.models import QuestionnaireVersion
from tests.builders import make_user, sign_in


def test_a_refused_account_reads_in_the_page_language(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        make_user("lan@ag.vn", "viewer")
    sign_in(client, "admin@ag.vn")
    reply = client.post("/admin/users", data={"email": "Lan@AG.vn", "role": "viewer"})
    assert reply.status_code == 400
    assert "Đã có người dùng với thư điện tử lan@ag.vn." in reply.text
    assert "exists already" not in reply.text


def test_the_command_line_refuses_in_english(app, runner):
    with app.app_context():
        make_user("lan@ag.vn", "viewer")
    dup = runner.invoke(args=["create-user", "lan@ag.vn", "--role", "viewer"])
    assert dup.exit_code == 1
    assert "A user with the e-mail lan@ag.vn exists already." in dup.output


def test_no_active_questionnaire_in_the_requested_language(app, client):
    with app.app_context():
        db.session.execute(update(QuestionnaireVersion).values(active=False))
        db.session.commit()
    reply = client.get("/api/v1/questionnaire?lang=vi")
    assert reply.status_code == 503
    assert reply.get_json()["errors"][0]["message"] == "Chưa có phiếu khảo sát nào được áp dụng."
    english = client.get("/api/v1/questionnaire?lang=en").get_json()
    assert english["errors"][0]["message"] == "No questionnaire is active yet."
