"""Migration 0016 upgrades a database at 0015 that holds responses: they stay as they were,
webhook endpoints and deliveries can then be stored (an event once per endpoint), and the
downgrade drops only the webhook tables."""

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

AT = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def app_at_0015(empty_database, tmp_path):  # noqa: F811
    """An app on a database at 0015 holding two responses, as the previous release wrote them."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0015")
        version = questionnaire.ensure_default()
        make_catalogue()
        db.session.commit()
        with db.engine.begin() as conn:
            unit = conn.execute(text("SELECT min(id) FROM unit")).scalar()
            service = conn.execute(text("SELECT min(id) FROM service")).scalar()
            for n, channel in enumerate(("kiosk", "paper"), start=1):
                conn.execute(
                    text(
                        "INSERT INTO response (id, public_id, questionnaire_id, service_id, "
                        "unit_id, channel, locale, captured_at, received_at, updated_at, status) "
                        "VALUES (:id, :pid, :q, :s, :u, :channel, 'vi', :at, "
                        ":at, :at, 'complete')"
                    ),
                    {
                        "id": n,
                        "pid": f"00000000-0000-4000-8000-00000000000{n}",
                        "q": version.id,
                        "s": service,
                        "u": unit,
                        "channel": channel,
                        "at": AT,
                    },
                )
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_0016_adds_the_webhook_tables_and_keeps_every_response(app_at_0015):
    with app_at_0015.app_context():
        upgrade(revision="0016")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT channel FROM response ORDER BY id")).scalars()
            assert list(rows) == ["kiosk", "paper"]
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO webhook_endpoint (id, url, secret, events, created_by, created_at, "
                "rating_cursor) VALUES (1, 'https://tinh.example/hook', 'k', "
                "'[\"rating.recorded\"]', 'a@b.vn', :at, 2)"
            ), {"at": AT})  # fmt: skip
            conn.execute(text(
                "INSERT INTO webhook_delivery (public_id, endpoint_id, event, event_key, "
                "payload, status, attempts, next_attempt_at, created_at) VALUES ('d-1', 1, "
                "'rating.recorded', 'rating.recorded:r1', '{}', 'pending', 0, :at, :at)"
            ), {"at": AT})  # fmt: skip
        with pytest.raises(Exception, match="(?i)unique"), db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO webhook_delivery (public_id, endpoint_id, event, event_key, "
                "payload, status, attempts, next_attempt_at, created_at) VALUES ('d-2', 1, "
                "'rating.recorded', 'rating.recorded:r1', '{}', 'pending', 0, :at, :at)"
            ), {"at": AT})  # fmt: skip
        downgrade(revision="0015")
        tables = inspect(db.engine).get_table_names()
        assert "webhook_endpoint" not in tables and "webhook_delivery" not in tables
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM response")).scalar() == 2
