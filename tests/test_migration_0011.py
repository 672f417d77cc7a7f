"""Migration 0011 upgrades a database at 0010 that holds ratings, some with a profile:
`rollup_unit_month` and `rollup_province_profile` are created and filled from the finer
rollups, equal to a recomputation from the raw answers (flagged ratings not counted, local
months); the downgrade drops them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from survey import questionnaire, responses, rollups
from survey.extensions import db
from survey.models import Service, Unit
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)


@pytest.fixture
def app_at_0010(empty_database, tmp_path):  # noqa: F811
    """An app on a database at 0010 with 40 ratings in two units over a month's end, some
    flagged: written by today's code, then taken back to 0010."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade()
        questionnaire.ensure_default()
        make_catalogue()
        q, rng = questionnaire.active(), random.Random(11)
        services = list(db.session.scalars(select(Service)))
        units = list(db.session.scalars(select(Unit)))
        for n in range(40):
            # 16:00 UTC on 31 January is 23:00 in Vietnam: some ratings fall on 1 February.
            moment = datetime(2026, 1, 31, 14, 0, tzinfo=UTC) + timedelta(minutes=9 * n)
            response = responses.add_response(
                public_id=f"00000000-0000-4000-8000-{n:012d}",
                questionnaire=q,
                service=rng.choice(services),
                unit=rng.choice(units),
                counter=None,
                channel="qr",
                locale="vi",
                captured_at=moment,
                answers={"OV": rng.randint(1, 5), "TC1": rng.randint(1, 5)},
            )
            response.flag_reason = "burst" if n % 9 == 0 else None
            if n % 4:
                response.profile = {"gender": rng.choice(["female", "male"])}
            db.session.commit()
        app.config["ROLLUPS"] = rollups.stored()
        db.session.remove()
        downgrade(revision="0010")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


NEW = ("rollup_unit_month", "rollup_province_profile")


def _responses(stored: dict, table: str) -> int:
    return sum(counts["responses"] for key, counts in stored.items() if key[0] == table)


def test_0011_creates_and_fills_the_coarser_rollups(app_at_0010):
    app = app_at_0010
    with app.app_context():
        assert not set(NEW) & set(inspect(db.engine).get_table_names())
        upgrade()
        stored = rollups.stored()
        assert stored == rollups.recompute() == app.config["ROLLUPS"]
        assert {key[1].month for key in stored if key[0] in NEW} == {1, 2}
        assert _responses(stored, "rollup_unit_month") == _responses(stored, "rollup_month")
        assert _responses(stored, "rollup_month") == 40 - 5  # 5 flagged
        by_unit = _responses(stored, "rollup_profile")
        assert _responses(stored, "rollup_province_profile") == by_unit > 0
        db.session.remove()
        downgrade(revision="0010")
        assert not set(NEW) & set(inspect(db.engine).get_table_names())
