"""The write path's cost in SQL statements, counted on the engine.

Each figure is exact. Later work that adds a statement to a write raises the number here on
purpose, in the same commit, with the reason beside it; a number that grows by accident fails.

A new kiosk rating, on PostgreSQL (2): the kiosk with its unit and counter, the service the
rating names, whether its id is stored, the active questionnaire and, for the streak check, the
kiosk's own last ratings' answers (one statement, one row), and one statement of
data-modifying WITH clauses for the response, its answers, its rollup counts (its day row, its
unit's month row per procedure and for all procedures, the province's month row) and the
kiosk's last rating time (as it moves on).
Each statement commits itself (autocommit): the write is one statement.
SQLite (9) reads the last ratings apart and writes the kiosk's last rating time (an UPDATE),
the response (INSERT … RETURNING), its answers (one executemany, without the ORM: no ids are
read back) and the four rollup upserts one by one, in one transaction (the fourth, the unit's
month over all its procedures, came with the rankings of units: 8 → 9).
Nothing the request wrote is read back.
The citizen's overall question (5): the service with the unit of its link and the active
questionnaire (one statement), the response id, the phone limits' check, the response, its
answer.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event

from survey import rollups
from survey.extensions import db
from tests import test_kiosk_api as kiosk_api
from tests.builders import bearer, overall_form, response_body

device = kiosk_api.device  # the fixture: a kiosk at XA1, counter XA1-Q01


@pytest.fixture
def statements(app):
    """The SQL statements the app's engines run (its own and, on PostgreSQL, the autocommit
    one of survey/autocommit.py), each as its first line."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many):
        seen.append(statement.strip().splitlines()[0])

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def _rating(minutes_ago: float, ov: int = 5) -> dict:
    return response_body(
        minutes_ago=minutes_ago,
        ov=ov,
        counter="XA1-Q01",
        answers={"OV": ov, "TC1": 4, "TT2": None},
        expectations={"1": 3},
        comment="Tốt",
    )


def _warm(client, device) -> None:
    """One rating first: caches (questionnaire, catalogue) are filled as in a running server."""
    reply = client.post("/api/v1/responses", json=_rating(20), headers=bearer(device))
    assert reply.status_code == 201


def _expected(app, *, postgresql: int, sqlite: int) -> int:
    with app.app_context():
        return postgresql if db.engine.dialect.name == "postgresql" else sqlite


def _in_step(app) -> None:
    with app.app_context():
        assert rollups.stored() == rollups.recompute()


def test_one_kiosk_rating(app, client, device, statements):
    _warm(client, device)
    statements.clear()
    reply = client.post("/api/v1/responses", json=_rating(3), headers=bearer(device))
    assert reply.status_code == 201, reply.text
    assert len(statements) == _expected(app, postgresql=2, sqlite=9), statements
    _in_step(app)


def test_a_kiosk_rating_with_a_profile(app, client, device, statements):
    """A profile adds its rows of the two profile rollups (the unit's and the province's, one
    each per profile item answered, here 3): on PostgreSQL as more WITH clauses of the same
    statement, on SQLite one upsert each (2 × 3, since the province's rollup came with the
    province-wide breakdown)."""
    _warm(client, device)
    statements.clear()
    profile = {"gender": "female", "ethnicity": "khmer", "age_band": "25-34"}
    body = {**_rating(3), "profile": profile}
    reply = client.post("/api/v1/responses", json=body, headers=bearer(device))
    assert reply.status_code == 201, reply.text
    assert len(statements) == _expected(app, postgresql=2, sqlite=9 + 2 * 3), statements
    _in_step(app)


def test_a_batch_of_five(app, client, device, statements):
    _warm(client, device)
    statements.clear()
    batch = [_rating(10 - i, ov=1 + i) for i in range(5)]
    reply = client.post(
        "/api/v1/responses/batch", json={"responses": batch}, headers=bearer(device)
    )
    assert [r["status"] for r in reply.get_json()["results"]] == ["created"] * 5
    # Once: the kiosk (with the first item's service, the questionnaire and, on PostgreSQL,
    # the first item's streak check), the stored ids of all five (one statement); then 2 per
    # rating (8 on SQLite): the streak check (but for the first item on PostgreSQL), then the
    # response, its answers, its rollup counts and the kiosk's last rating time.
    assert len(statements) == _expected(app, postgresql=11, sqlite=42), statements
    _in_step(app)


def test_the_citizens_overall_question(app, client, statements):
    fields = overall_form(client, "/vi/s/HT-KHAISINH")
    statements.clear()
    reply = client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": "5"})
    assert reply.status_code == 303, reply.text
    assert len(statements) == 5, statements
    _in_step(app)
