"""Losing the database: a 503 page in the visitor's language or a JSON 503 with Retry-After.

A database that cannot be reached, or a SQLite file locked by another process past the busy
timeout, is a passing outage, not a fault of ours: never a 500, a stack trace or a thank-you.
"""

from __future__ import annotations

import sqlite3

import pytest

from survey import questionnaire
from survey.extensions import db
from tests.builders import bearer, kiosk_token, make_catalogue, overall_form, response_body
from tests.conftest import build_app

CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:18749/survey_nowhere"
UNAVAILABLE_VI = "Hệ thống tạm thời không phục vụ được"


def _app(url: str, tmp_path, **extra):
    return build_app(url, tmp_path / "instance", SURVEY_SQLITE_BUSY_TIMEOUT=200, **extra)


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on its own SQLite file (whatever the suite's database), with a kiosk token."""
    path = tmp_path / "locked.db"
    app = _app(f"sqlite:///{path}", tmp_path)
    with app.app_context():
        db.create_all()  # the models match the migrations (test_setup)
        questionnaire.ensure_default()
        make_catalogue()
        token = kiosk_token(counter=None, name="K")
    yield app, path, token
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def unreachable(tmp_path):
    """An app whose PostgreSQL server does not answer (a closed loopback port)."""
    app = _app(CLOSED_PORT_URL, tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


def _assert_json_503(reply) -> None:
    assert reply.status_code == 503, reply.text
    assert reply.headers["Retry-After"].isdigit()
    assert reply.is_json and reply.json["errors"][0]["message"]
    assert "Traceback" not in reply.text and "created" not in reply.text


def _assert_page_503(reply, heading: str = UNAVAILABLE_VI) -> None:
    assert reply.status_code == 503
    assert reply.headers["Retry-After"].isdigit()
    main = reply.text.split('<main id="main"')[1].split("</main>")[0]  # not the kiosk's dialogs
    assert f"<h1>{heading}</h1>" in main
    assert "Traceback" not in reply.text and "Cảm ơn" not in main


def test_a_locked_sqlite_database_gives_503_not_500(sqlite_app):
    app, path, token = sqlite_app
    client = app.test_client()
    fields = overall_form(client, "/vi/s/HT-KHAISINH")  # read before the lock
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process writing past the busy timeout
        api = client.post(
            "/api/v1/responses",
            json=response_body(minutes_ago=0, locale="vi"),
            headers=bearer(token),
        )
        _assert_json_503(api)
        _assert_page_503(client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": "5"}))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    again = client.post(
        "/api/v1/responses", json=response_body(minutes_ago=0, locale="vi"), headers=bearer(token)
    )
    assert again.status_code == 201  # the lock is gone: the same app stores again


def test_an_unreachable_database_gives_503_pages_and_json(unreachable):
    client = unreachable.test_client()
    _assert_page_503(client.get("/vi/"))
    _assert_page_503(client.get("/en/s/HT-KHAISINH"), "The service is temporarily unavailable")
    client.set_cookie("kiosk_device", "kd_x")
    _assert_page_503(client.get("/k/"))
    client.delete_cookie("kiosk_device")
    _assert_json_503(client.get("/api/v1/services"))
    _assert_json_503(
        client.post(
            "/api/v1/responses",
            json=response_body(minutes_ago=0, locale="vi"),
            headers={"Authorization": "Bearer x"},
        )
    )


def test_an_outage_logs_no_stack_trace_and_no_sql(unreachable, caplog):
    unreachable.test_client().get("/vi/")
    warnings = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert warnings and not any(r.exc_info for r in caplog.records)
    assert "SELECT" not in caplog.text
