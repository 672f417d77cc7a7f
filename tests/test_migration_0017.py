"""Migration 0017 upgrades a database at 0016 that holds responses with and without comments:
every comment is tagged with the lexicon file (a comment about nothing with the row "none"),
a rating without a comment gets no row, and the downgrade drops only the topic tables."""

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

CAPTURED = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
COMMENTS = {1: "Chờ lâu quá, cán bộ cộc lốc", 2: None, 3: "Rất hài lòng", 4: "Le phi cao"}


@pytest.fixture
def app_at_0016(empty_database, tmp_path):  # noqa: F811
    """An app on a database at 0016 holding four responses, three with a comment."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0016")
        version = questionnaire.ensure_default()
        make_catalogue()
        db.session.commit()
        with db.engine.begin() as conn:
            unit = conn.execute(text("SELECT min(id) FROM unit")).scalar()
            service = conn.execute(text("SELECT min(id) FROM service")).scalar()
            for n, comment in COMMENTS.items():
                conn.execute(
                    text(
                        "INSERT INTO response (id, public_id, questionnaire_id, service_id, "
                        "unit_id, channel, locale, captured_at, received_at, updated_at, status, "
                        "comment) VALUES (:id, :pid, :q, :s, :u, 'qr', 'vi', "
                        ":at, :at, :at, 'complete', :comment)"
                    ),
                    {
                        "id": n,
                        "pid": f"00000000-0000-4000-8000-00000000000{n}",
                        "q": version.id,
                        "s": service,
                        "u": unit,
                        "at": CAPTURED,
                        "comment": comment,
                    },
                )
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_0017_tags_every_existing_comment_and_nothing_else(app_at_0016):
    with app_at_0016.app_context():
        upgrade(revision="0017")
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT response_id, topic, source FROM comment_topic ORDER BY 1, 2")
            ).all()
        assert [tuple(r) for r in rows] == [
            (1, "thai_do", "auto"),
            (1, "thoi_gian_cho", "auto"),
            (3, "none", "auto"),
            (4, "phi_le_phi", "auto"),
        ]
        with pytest.raises(Exception, match="(?i)unique|duplicate"), db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO comment_topic (response_id, topic, source, tagged_at) "
                "VALUES (1, 'thai_do', 'manual', :at)"
            ), {"at": CAPTURED})  # fmt: skip
        downgrade(revision="0016")
        tables = inspect(db.engine).get_table_names()
        assert "comment_topic" not in tables and "topic_keywords" not in tables
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM response")).scalar() == 4
