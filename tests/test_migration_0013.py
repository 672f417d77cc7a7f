"""Migrations 0013 and 0014 upgrade a database at 0012 that holds a plaintext call-back number:
the number is encrypted into `contact` with the app's data key, the plaintext columns are gone
(on SQLite not a byte of the number is left in the file or its write-ahead log), and 0014 opens
a case for it; the downgrade brings the column back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from survey import contacts, questionnaire
from survey.extensions import db
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)

RECEIVED = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # a Friday
PHONE = "0987 654 321"


@pytest.fixture
def app_at_0012(empty_database, tmp_path):  # noqa: F811
    """An app on a database at 0012 holding two responses: one with a consented number written
    in plain, as the previous release stored it, and one without."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0012")
        version = questionnaire.ensure_default()
        make_catalogue()
        db.session.commit()
        with db.engine.begin() as conn:
            unit = conn.execute(text("SELECT min(id) FROM unit")).scalar()
            service = conn.execute(text("SELECT min(id) FROM service")).scalar()
            for n, phone in ((1, PHONE), (2, None)):
                conn.execute(
                    text(
                        "INSERT INTO response (id, public_id, questionnaire_id, service_id, "
                        "unit_id, channel, locale, captured_at, received_at, updated_at, status, "
                        "contact_phone, contact_consent) VALUES (:id, :pid, :q, :s, :u, 'web', "
                        "'vi', :at, :at, :at, 'complete', :phone, :consent)"
                    ),
                    {
                        "id": n,
                        "pid": f"00000000-0000-4000-8000-00000000000{n}",
                        "q": version.id,
                        "s": service,
                        "u": unit,
                        "at": RECEIVED,
                        "phone": phone,
                        "consent": phone is not None,
                    },
                )
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def _file_bytes(url: str) -> bytes:
    path = Path(url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_0013_encrypts_the_number_and_drops_the_plaintext(app_at_0012):
    with app_at_0012.app_context():
        upgrade(revision="0013")
        columns = {c["name"] for c in inspect(db.engine).get_columns("response")}
        assert "contact_phone" not in columns and "contact_consent" not in columns
        assert contacts.masked_phone(1) == "09•• ••• 321"
        assert contacts.responses_for_phone(PHONE) == [1]
        assert contacts.masked_phone(2) is None
        db.session.remove()  # its reads hold locks a later ALTER TABLE waits for (PostgreSQL)
        url = str(db.engine.url)
        if url.startswith("sqlite"):
            db.engine.dispose()
            stored = _file_bytes(url)
            for form in (PHONE, "0987654321"):
                assert form.encode() not in stored
        upgrade(revision="0014")
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT response_id, state, due_on FROM followup_case")).one()
        # Friday 4 December + 15 working days (weekends skipped) = Friday 25 December.
        assert (row[0], row[1], str(row[2])) == (1, "new", str(date(2026, 12, 25)))
        downgrade(revision="0012")
        with db.engine.connect() as conn:
            back = conn.execute(text("SELECT contact_phone FROM response WHERE id = 1")).scalar()
        assert back == "0987654321"
        assert "contact" not in inspect(db.engine).get_table_names()
