"""Call-back numbers: no plaintext anywhere (database file, write-ahead log, logs), key rotation,
and retention (purge) that removes the number and keeps the rating."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from survey import cases, contacts
from survey.extensions import db
from survey.followup_models import Contact
from survey.models import Response, utcnow
from tests.builders import bearer, kiosk_token, rate, response_body
from tests.test_journey import start

PHONE = "0966 271 828"
FORMS = (PHONE, "0966271828", "966271828", "+84966271828")


def _stored_bytes(app) -> bytes:
    with app.app_context():
        url = str(db.engine.url)
        db.session.remove()
    path = Path(url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_no_plaintext_anywhere(app, client, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # every statement, logged
    rid, _ = start(client, value="1")
    client.post(f"/vi/r/{rid}/finish")
    client.get(f"/vi/r/{rid}/call-back")
    kept = client.post(f"/vi/r/{rid}/call-back", data={"phone": PHONE, "consent": "y"})
    assert kept.status_code == 303
    code = client.get(kept.headers["Location"]).text.split('class="code" lang="en">')[1][:9]
    with app.app_context():
        token = kiosk_token()
    body = response_body(ov=2, contact={"phone": "+84 966 271 828", "consent": True})
    assert client.post("/api/v1/responses", json=body, headers=bearer(token)).status_code == 201
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 2
        if db.engine.dialect.name == "sqlite":
            stored = _stored_bytes(app)
            for form in (*FORMS, code, code.replace("-", "")):
                assert form.encode() not in stored, form
    logged = caplog.text + "".join(capsys.readouterr())
    assert "INSERT INTO contact" in logged  # the logs were really captured
    for form in FORMS:
        assert form not in logged


def test_purge_after_retention_removes_the_number_and_keeps_the_rating(app):
    with app.app_context():
        response = rate(answers={"OV": 2}, comment="Chờ lâu")
        closed = utcnow() - timedelta(days=100)
        contacts.store(response.id, PHONE, now=closed - timedelta(days=5))
        case = cases.open_case(response.id, now=closed - timedelta(days=5))
        case.state, case.closed_at, case.outcome = "closed", closed, "Đã gọi lại"
        db.session.commit()
        assert contacts.purge_contacts(now=closed + timedelta(days=89)) == 0
        assert contacts.masked_phone(response.id) is not None
        assert contacts.purge_contacts(now=closed + timedelta(days=91)) == 1
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
        assert db.session.get(Response, response.id).comment == "Chờ lâu"
        assert contacts.responses_for_phone(PHONE) == []


def test_rotate_key_reencrypts_so_the_old_key_can_go(app, runner):
    old, new = app.config["SURVEY_DATA_KEY"], Fernet.generate_key().decode()
    with app.app_context():
        response = rate(answers={"OV": 1})
        code = contacts.store(response.id, PHONE, now=utcnow())
        db.session.commit()
        rid = response.id
    app.config["SURVEY_DATA_KEY"] = f"{new},{old}"
    result = runner.invoke(args=["contacts", "rotate-key"])
    assert result.exit_code == 0 and "Re-encrypted 1 call-back numbers" in result.output
    app.config["SURVEY_DATA_KEY"] = new  # the old key removed
    with app.app_context():
        assert contacts.masked_phone(rid) == "09•• ••• 828"
        assert contacts.responses_for_phone(PHONE) == [rid]
        assert contacts.withdraw(code, now=utcnow()) == rid


def test_without_the_setting_a_key_is_made_in_the_instance_folder(app):
    key = Path(app.instance_path) / "data_key"
    assert key.read_text().strip() == app.config["SURVEY_DATA_KEY"]
    assert key.stat().st_mode & 0o777 == 0o600


def test_the_purge_command_removes_a_number_90_days_after_its_case_closed(app, runner):
    with app.app_context():
        response = rate(answers={"OV": 1}, comment="Chờ lâu")
        contacts.store(response.id, PHONE, now=utcnow() - timedelta(days=120))
        case = cases.open_case(response.id, now=utcnow() - timedelta(days=120))
        case.state, case.closed_at, case.outcome = "closed", utcnow() - timedelta(days=91), "Xong"
        db.session.commit()
        rid = response.id
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
        assert db.session.get(Response, rid).comment == "Chờ lâu"  # the rating stays
        assert contacts.responses_for_phone(PHONE) == []
