"""Migration 0009 upgrades a database at 0008 that holds ratings with respondent profiles:
`rollup_profile` is created and filled from them (flagged ratings not counted, local months),
equal to a recomputation from the raw responses; the downgrade drops it."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from survey import questionnaire, rollups
from survey.extensions import db
from survey.models import Service, Unit
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)

INSERT_RESPONSE = (
    "INSERT INTO response (id, public_id, questionnaire_id, service_id, unit_id, counter_id, "
    "channel, locale, captured_at, received_at, updated_at, status, flag_reason, comment, "
    "profile, contact_consent) VALUES (:id, :public_id, :q, :service, :unit, NULL, :channel, "
    "'vi', :at, :at, :at, 'complete', :flag, :comment, {profile}, false)"
)


def _fill(conn, q, services: list[int], units: list[int]) -> int:
    """60 ratings around a local month's end, most with a profile; returns those counted."""
    rng = random.Random(9)
    profile_sql = "CAST(:profile AS JSON)" if conn.dialect.name == "postgresql" else ":profile"
    entries = q.data["profile"]
    counted = 0
    for n in range(1, 61):
        chosen = {e["code"]: rng.choice(e["options"])["code"] for e in rng.sample(entries, 3)}
        row = {
            "id": n,
            "public_id": f"00000000-0000-4000-8000-{n:012d}",
            "q": q.id,
            "service": rng.choice(services),
            "unit": rng.choice(units),
            "channel": rng.choice(["kiosk", "qr", "web"]),
            # 16:00 UTC on 31 January is 23:00 in Vietnam; some ratings fall on 1 February.
            "at": datetime(2026, 1, 31, 14, 0, tzinfo=UTC) + timedelta(hours=rng.randint(0, 6)),
            "flag": "burst" if n % 7 == 0 else None,
            "comment": "Chờ lâu" if n % 3 == 0 else None,
            "profile": json.dumps(chosen) if n % 5 else None,
        }
        conn.execute(text(INSERT_RESPONSE.format(profile=profile_sql)), row)
        for item in [q.overall_code, *list(q.criteria)[:3], q.expectation_codes[0]]:
            conn.execute(
                text("INSERT INTO answer (response_id, item, value) VALUES (:r, :i, :v)"),
                {"r": n, "i": item, "v": rng.choice([None, 1, 2, 3, 4])},
            )
        counted += bool(row["profile"] and not row["flag"])
    return counted


@pytest.fixture
def app_at_0008(empty_database, tmp_path):  # noqa: F811
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0008")
        questionnaire.ensure_default()
        make_catalogue()
        q = questionnaire.active()
        services = list(db.session.scalars(select(Service.id)))
        units = list(db.session.scalars(select(Unit.id)))
        db.session.remove()
        with db.engine.begin() as conn:
            app.config["COUNTED"] = _fill(conn, q, services, units)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _profile_rows(rows: dict) -> dict:
    return {key: counts for key, counts in rows.items() if key[0] == "rollup_profile"}


def test_0009_creates_and_fills_rollup_profile(app_at_0008):
    app = app_at_0008
    with app.app_context():
        upgrade()
        stored = _profile_rows(rollups.stored())
        assert stored and stored == _profile_rows(rollups.recompute())
        # Three items answered per counted profile: each counted once under each.
        assert sum(c["responses"] for c in stored.values()) == 3 * app.config["COUNTED"]
        assert {key[1].day for key in stored} == {1} and len({key[1] for key in stored}) == 2
        db.session.remove()
        downgrade(revision="0008")
        assert "rollup_profile" not in inspect(db.engine).get_table_names()
