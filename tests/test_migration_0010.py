"""Migration 0010 upgrades a database at 0009 that holds kiosks: each keeps its credential,
shows Vietnamese by default as before, is bound to no procedure and counts as paired since it
was created; a kiosk registered but never paired goes on the downgrade."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from survey import questionnaire
from survey.extensions import db
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)

CREATED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def app_at_0009(empty_database, tmp_path):  # noqa: F811
    """An app on a database at 0009 holding two kiosks, as the previous release made them."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0009")
        questionnaire.ensure_default()
        make_catalogue()
        db.session.commit()
        with db.engine.begin() as conn:
            unit = conn.execute(text("SELECT min(id) FROM unit")).scalar()
            for n, name in enumerate(("Quầy 1", "Sảnh"), start=1):
                conn.execute(
                    text(
                        "INSERT INTO kiosk_device (id, name, token_hash, unit_id, created_at, "
                        "queued, dead_letters) VALUES (:id, :name, :hash, :unit, :at, 0, 0)"
                    ),
                    {"id": n, "name": name, "hash": f"{n:064x}", "unit": unit, "at": CREATED},
                )
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def _kiosks() -> list[tuple]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT name, token_hash, default_language, service_id, pairing_tries "
            "FROM kiosk_device ORDER BY id"
        ))]  # fmt: skip


def test_0010_keeps_every_kiosk_paired_in_vietnamese(app_at_0009):
    with app_at_0009.app_context():
        upgrade(revision="0010")
        rows = _kiosks()
        assert rows == [
            ("Quầy 1", f"{1:064x}", "vi", None, 0),
            ("Sảnh", f"{2:064x}", "vi", None, 0),
        ]
        with db.engine.connect() as conn:
            same = "SELECT count(*) FROM kiosk_device WHERE paired_at = created_at"
            assert conn.execute(text(same)).scalar() == 2
        # A kiosk registered on the web waits for its pairing without a credential.
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO kiosk_device (id, name, token_hash, unit_id, created_at, queued, "
                "dead_letters, default_language, pairing_tries) "
                "SELECT 3, 'Tri Tôn', NULL, unit_id, created_at, 0, 0, 'km', 0 "
                "FROM kiosk_device WHERE id = 1"
            ))  # fmt: skip
        downgrade(revision="0009")
        with db.engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM kiosk_device ORDER BY id")).scalars()
            assert list(names) == ["Quầy 1", "Sảnh"]
