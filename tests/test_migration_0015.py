"""Migration 0015 upgrades a database at 0014 that holds accounts and ratings: they stay as
they were, nobody receives e-mail until they choose to, the jobs and alert tables work, and
the downgrade drops only those tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from survey import questionnaire
from survey.extensions import db
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)

AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def app_at_0014(empty_database, tmp_path):  # noqa: F811
    """An app on a database at 0014 with a manager and one rating, as the release wrote them."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0014")
        version = questionnaire.ensure_default()
        make_catalogue()
        db.session.commit()
        with db.engine.begin() as conn:
            unit = conn.execute(text("SELECT min(id) FROM unit")).scalar()
            service = conn.execute(text("SELECT min(id) FROM service")).scalar()
            conn.execute(text(
                "INSERT INTO \"user\" (id, email, password_hash, role, active, "
                "must_change_password, created_at, failed_logins) VALUES "
                "(7, 'm@ag.vn', 'x', 'manager', true, false, :at, 0)"
            ), {"at": AT})  # fmt: skip
            conn.execute(text(
                "INSERT INTO response (id, public_id, questionnaire_id, service_id, unit_id, "
                "channel, locale, captured_at, received_at, updated_at, status, comment) "
                "VALUES (1, '00000000-0000-4000-8000-000000000001', :q, :s, "
                ":u, 'qr', 'vi', :at, :at, :at, 'complete', 'Tốt')"
            ), {"q": version.id, "s": service, "u": unit, "at": AT})  # fmt: skip
        db.session.remove()
    yield app, unit
    with app.app_context():
        db.engine.dispose()


def test_0015_adds_the_job_and_alert_tables_and_keeps_everything(app_at_0014):
    app, unit = app_at_0014
    with app.app_context():
        upgrade(revision="0015")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT comment FROM response")).scalar() == "Tốt"
            assert conn.execute(text("SELECT count(*) FROM alert_preference")).scalar() == 0
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO job_run (name, next_due_at) VALUES ('purge', :at)"
            ), {"at": AT})  # fmt: skip
            conn.execute(text(
                "INSERT INTO alert_state (key, kind, unit_id, active, started_at, times, detail) "
                "VALUES ('kiosk:1', 'kiosk', :u, true, :at, 1, '{\"minutes\": 30}')"
            ), {"u": unit, "at": AT})  # fmt: skip
            conn.execute(text(
                "INSERT INTO alert_preference (user_id, kinds, digest, locale, updated_at) "
                "VALUES (7, '[\"kiosk\"]', true, 'km', :at)"
            ), {"at": AT})  # fmt: skip
        with pytest.raises(Exception, match="(?i)unique|duplicate"), db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO alert_state (key, kind, active, started_at, times) "
                "VALUES ('kiosk:1', 'kiosk', false, :at, 0)"
            ), {"at": AT})  # fmt: skip
        # An account deleted takes its choices with it.
        with db.engine.begin() as conn:
            conn.execute(text('DELETE FROM "user" WHERE id = 7'))
            assert conn.execute(text("SELECT count(*) FROM alert_preference")).scalar() == 0
        downgrade(revision="0014")
        tables = inspect(db.engine).get_table_names()
        assert not {"job_run", "alert_state", "alert_preference"} & set(tables)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM response")).scalar() == 1
