"""Migration 0012 upgrades a database at 0011 that holds responses: they stay as they were and
count as before, paper forms can then be stored, and the downgrade drops only the paper tables."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from survey import questionnaire
from survey.extensions import db
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)

CAPTURED = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def app_at_0011(empty_database, tmp_path):  # noqa: F811
    """An app on a database at 0011 holding two responses, one of each channel, as the previous
    release wrote them."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0011")
        version = questionnaire.ensure_default()
        make_catalogue()
        db.session.commit()
        with db.engine.begin() as conn:
            unit = conn.execute(text("SELECT min(id) FROM unit")).scalar()
            service = conn.execute(text("SELECT min(id) FROM service")).scalar()
            for n, channel in enumerate(("kiosk", "qr"), start=1):
                conn.execute(
                    text(
                        "INSERT INTO response (id, public_id, questionnaire_id, service_id, "
                        "unit_id, channel, locale, captured_at, received_at, updated_at, status, "
                        "contact_consent) VALUES (:id, :pid, :q, :s, :u, :channel, 'vi', :at, "
                        ":at, :at, 'complete', false)"
                    ),
                    {
                        "id": n,
                        "pid": f"00000000-0000-4000-8000-00000000000{n}",
                        "q": version.id,
                        "s": service,
                        "u": unit,
                        "channel": channel,
                        "at": CAPTURED,
                    },
                )
                conn.execute(
                    text("INSERT INTO answer (response_id, item, value) VALUES (:r, 'OV', 4)"),
                    {"r": n},
                )
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_0012_adds_the_paper_tables_and_keeps_every_response(app_at_0011):
    with app_at_0011.app_context():
        upgrade(revision="0012")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT channel FROM response ORDER BY id")).scalars()
            assert list(rows) == ["kiosk", "qr"]
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO paper_form (id, serial, status, response_id, created_at) "
                "VALUES (1, 'P-000001', 'counted', 1, :at)"
            ), {"at": CAPTURED})  # fmt: skip
            conn.execute(text(
                "INSERT INTO paper_entry (form_id, kind, typed_by, typed_at, unit_id, "
                "service_id, written_on, locale, answers, comment) SELECT 1, 'typed', "
                "'a@b.vn', :at, unit_id, service_id, :day, 'vi', '{\"OV\": 4}', NULL "
                "FROM response WHERE id = 1"
            ), {"at": CAPTURED, "day": date(2026, 3, 2)})  # fmt: skip
        with pytest.raises(Exception, match="(?i)unique"), db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO paper_form (serial, status, created_at) "
                "VALUES ('P-000001', 'pending', :at)"
            ), {"at": CAPTURED})  # fmt: skip
        # A response deleted leaves its paper form, without a response.
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM answer WHERE response_id = 1"))
            conn.execute(text("DELETE FROM response WHERE id = 1"))
        with db.engine.connect() as conn:
            kept = conn.execute(text("SELECT serial, response_id FROM paper_form")).all()
            assert [tuple(r) for r in kept] == [("P-000001", None)]
        downgrade(revision="0011")
        tables = inspect(db.engine).get_table_names()
        assert "paper_form" not in tables and "paper_entry" not in tables
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM response")).scalar() == 1
