"""Migration 0019 upgrades a database at 0018 holding kiosk ratings: the kiosk index gains the id,
so on PostgreSQL the streak check's newest-first read comes from the index in its order with
nothing to sort (SQLite's index held the id already, as the rowid); no row changes, and the
downgrade puts the two-column index back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

from survey import flags, kiosks, questionnaire, rollups
from survey.catalogue import find_service
from survey.extensions import db
from survey.models import Answer, Response, utcnow
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)
from tests.test_migration_0006 import RATINGS, _Kiosk, rate_alike


@pytest.fixture
def app_at_0018(empty_database, tmp_path):  # noqa: F811
    """An app on a database at 0018 with a kiosk's ratings, all answers equal."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade()
        questionnaire.ensure_default()
        make_catalogue()
        q, service = questionnaire.active(), find_service("HT-KHAISINH")
        device = kiosks.create_kiosk(unit="XA1", counter=None, name="A", actor="t")[0]
        rate_alike(device, q, service, tag=1)
        app.config["KIOSK"] = device.id
        db.session.remove()
        downgrade(revision="0018")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _kiosk_index() -> list[str]:
    found = {i["name"]: i["column_names"] for i in inspect(db.engine).get_indexes("response")}
    return found["ix_response_kiosk_received"]


def _streak_read_sorts(kiosk_id: int) -> bool:
    """Whether the database sorts a kiosk's recent ratings for the streak check (its index does
    not give them in order) rather than reading the newest from the index."""
    statement = flags._recent(kiosk_id).params(**flags.streak_params(utcnow()))
    compiled = statement.compile(dialect=db.engine.dialect)
    params = compiled.params
    if compiled.positiontup:  # SQLite's placeholders are positional
        params = tuple(params[name] for name in compiled.positiontup)
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # a table this small is read whole
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            plan = conn.exec_driver_sql(f"EXPLAIN (COSTS OFF) {compiled.string}", params)
            return any("Sort" in line for line in plan.scalars())
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}", params).all()
        return any("TEMP B-TREE" in row[-1] for row in plan)


def test_0019_puts_the_id_in_the_kiosk_index_and_keeps_every_row(app_at_0018):
    with app_at_0018.app_context():
        kiosk = app_at_0018.config["KIOSK"]
        before = rollups.stored()
        counts = (db.session.scalar(select(func.count()).select_from(Response)),
                  db.session.scalar(select(func.count()).select_from(Answer)))  # fmt: skip
        db.session.remove()
        assert _kiosk_index() == ["kiosk_id", "received_at"]
        # SQLite's index entries end with the rowid (the id) already: only PostgreSQL sorted.
        assert _streak_read_sorts(kiosk) == (db.engine.dialect.name == "postgresql")
        upgrade(revision="0019")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0019"
        assert _kiosk_index() == ["kiosk_id", "received_at", "id"]
        assert not _streak_read_sorts(kiosk)
        assert counts == (RATINGS, 2 * RATINGS)
        assert (db.session.scalar(select(func.count()).select_from(Response)),
                db.session.scalar(select(func.count()).select_from(Answer))) == counts  # fmt: skip
        assert rollups.stored() == rollups.recompute() == before
        later = utcnow() - timedelta(minutes=1)  # the streak check still finds the streak
        assert flags._streak(_Kiosk(kiosk), later, {"OV": 5, "TC1": 4})
        assert not flags._streak(_Kiosk(kiosk), later, {"OV": 4, "TC1": 4})
        db.session.remove()
        downgrade(revision="0018")
        assert _kiosk_index() == ["kiosk_id", "received_at"]
