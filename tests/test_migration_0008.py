"""Migration 0008 upgrades a database at 0007 that holds ratings: the report drafts and the
dossier counts arrive empty and usable, the ratings and their rollups are untouched, and the
downgrade takes both tables away again."""

from __future__ import annotations

from datetime import date

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select

from survey import questionnaire, responses, rollups
from survey.catalogue import find_service, find_unit
from survey.extensions import db
from survey.models import DossierCount, ReportDraft, Response, utcnow
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)


@pytest.fixture
def app_at_0007(empty_database, tmp_path):  # noqa: F811
    """An app on a database at revision 0007 with a few ratings."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade()
        questionnaire.ensure_default()
        make_catalogue()
        service = find_service("HT-KHAISINH")
        for n in range(3):
            responses.add_response(
                public_id=f"00000000-0000-4000-8000-{n:012d}",
                questionnaire=questionnaire.active(),
                service=service,
                unit=find_unit("XA1"),
                counter=None,
                channel="qr",
                locale="vi",
                captured_at=utcnow(),
                answers={"OV": 5, "TC1": 4 - n},
            )
            db.session.commit()
        app.config["ROLLUPS"] = rollups.stored()
        db.session.remove()
        downgrade(revision="0007")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_upgrade_adds_both_tables_and_keeps_the_ratings(app_at_0007):
    with app_at_0007.app_context():
        assert "report_draft" not in inspect(db.engine).get_table_names()
        upgrade()
        assert db.session.scalar(select(func.count()).select_from(Response)) == 3
        assert rollups.stored() == app_at_0007.config["ROLLUPS"]
        unit, service = find_unit("XA1"), find_service("HT-KHAISINH")
        db.session.add(ReportDraft(period="2026-Q3", scope="XA1", recommendations="Rút ngắn"))
        db.session.add(
            DossierCount(
                day=date(2026, 7, 1),
                unit_id=unit.id,
                service_id=service.id,
                dossiers=1200,
                source="import",
            )
        )
        db.session.commit()
        assert db.session.scalar(select(ReportDraft.recommendations)) == "Rút ngắn"
        assert db.session.scalar(select(DossierCount.dossiers)) == 1200
        db.session.remove()
        downgrade(revision="0007")
        names = inspect(db.engine).get_table_names()
        assert "report_draft" not in names and "dossier_count" not in names
