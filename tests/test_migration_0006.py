"""Migration 0006 upgrades a database at 0005 that holds kiosk ratings: the kiosk's recent-rows
index replaces the index on kiosk_id, nothing else changes, and the streak check reads it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

from survey import flags, kiosks, questionnaire, responses, rollups
from survey.catalogue import find_service
from survey.extensions import db
from survey.models import Answer, Response, utcnow
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)

RATINGS = 12  # more than a streak's length


@pytest.fixture
def app_at_0005(empty_database, tmp_path):  # noqa: F811
    """An app on a database at revision 0005 with two kiosks' ratings, all answers equal."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade()  # filled by today's code, then taken back to 0005 by the downgrades
        questionnaire.ensure_default()
        make_catalogue()
        q, service = questionnaire.active(), find_service("HT-KHAISINH")
        for name in ("A", "B"):
            device = kiosks.create_kiosk(unit="XA1", counter=None, name=name, actor="t")[0]
            rate_alike(device, q, service, tag=ord(name))
        app.config["ROLLUPS"] = rollups.stored()
        db.session.remove()
        downgrade(revision="0005")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def rate_alike(device, q, service, *, tag: int) -> None:
    """RATINGS ratings from the kiosk `device` in the last ten minutes, all answers equal (a
    streak), their ids marked with `tag`; each committed."""
    for n in range(RATINGS):
        responses.add_response(
            public_id=f"00000000-0000-4000-8000-{tag:04d}{n:08d}",
            questionnaire=q,
            service=service,
            unit=device.unit,
            counter=None,
            channel="kiosk",
            locale="vi",
            captured_at=utcnow() - timedelta(minutes=10, seconds=-6 * n),
            answers={"OV": 5, "TC1": 4},
            kiosk=device,
        )
        db.session.commit()


def _indexes() -> dict[str, list[str]]:
    return {i["name"]: i["column_names"] for i in inspect(db.engine).get_indexes("response")}


def test_0006_replaces_the_kiosk_index_and_keeps_every_row(app_at_0005):
    with app_at_0005.app_context():
        before = app_at_0005.config["ROLLUPS"]
        counts = (db.session.scalar(select(func.count()).select_from(Response)),
                  db.session.scalar(select(func.count()).select_from(Answer)))  # fmt: skip
        db.session.remove()
        assert _indexes()["ix_response_kiosk_id"] == ["kiosk_id"]
        upgrade(revision="0006")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0006"
        indexes = _indexes()
        assert indexes["ix_response_kiosk_recent"] == ["kiosk_id", "id"]
        assert "ix_response_kiosk_id" not in indexes
        assert counts == (2 * RATINGS, 4 * RATINGS)
        assert (db.session.scalar(select(func.count()).select_from(Response)),
                db.session.scalar(select(func.count()).select_from(Answer))) == counts  # fmt: skip
        db.session.remove()  # 0007 changes the response table's indexes: no reader may wait
        upgrade()
        assert rollups.stored() == rollups.recompute() == before
        # The streak check reads a kiosk's own rows through the new index.
        kiosk = db.session.scalar(select(Response.kiosk_id).order_by(Response.id.desc()))
        later = utcnow() - timedelta(minutes=1)
        assert flags._streak(_Kiosk(kiosk), later, {"OV": 5, "TC1": 4})
        assert not flags._streak(_Kiosk(kiosk), later, {"OV": 4, "TC1": 4})
        db.session.remove()
        downgrade(revision="0005")
        indexes = _indexes()
        assert indexes["ix_response_kiosk_id"] == ["kiosk_id"]
        assert "ix_response_kiosk_recent" not in indexes


class _Kiosk:
    def __init__(self, kiosk_id: int) -> None:
        self.id = kiosk_id
