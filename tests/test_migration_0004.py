"""Migration 0004 upgrades a database filled by the previous release (at 0003)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from survey.extensions import db
from tests.conftest import PG_URL, build_app

USERS = [  # id, email, role, active
    (1, "admin@ag.vn", "admin", True),
    (2, "left@ag.vn", "manager", False),
    (3, "viewer@ag.vn", "viewer", True),
]
TOKENS = [  # id, user id, revoked
    (1, 1, None),
    (2, 2, None),
    (3, 2, datetime(2026, 1, 2, tzinfo=UTC)),
    (4, 3, None),
]


@pytest.fixture
def empty_database(tmp_path):
    """A database of its own, empty: a SQLite file, or a PostgreSQL database made for it."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'release.db'}"
        return
    name = f"survey_test_mig_{uuid.uuid4().hex[:10]}"
    server = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _fill_release_0003(conn) -> None:
    created = datetime(2025, 12, 1, tzinfo=UTC)
    for user_id, email, role, active in USERS:
        conn.execute(
            text(
                'INSERT INTO "user" (id, email, password_hash, role, active, '
                "must_change_password, created_at, failed_logins) "
                "VALUES (:id, :email, 'x', :role, :active, false, :created, 2)"
            ),
            {"id": user_id, "email": email, "role": role, "active": active, "created": created},
        )
    for token_id, user_id, revoked in TOKENS:
        conn.execute(
            text(
                "INSERT INTO api_token (id, token_hash, prefix, user_id, created_at, revoked_at) "
                "VALUES (:id, :hash, 'sv_x', :user, :created, :revoked)"
            ),
            {
                "id": token_id,
                "hash": f"{token_id:064d}",
                "user": user_id,
                "created": created,
                "revoked": revoked,
            },
        )


def test_0004_upgrades_a_database_of_release_0003(empty_database, tmp_path):
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as conn:
            _fill_release_0003(conn)
        upgrade(revision="0004")
        with db.engine.connect() as conn:
            users = conn.execute(
                text(
                    'SELECT id, totp_secret, totp_last_step, failed_logins FROM "user" ORDER BY id'
                )
            ).all()
            tokens = dict(conn.execute(text("SELECT id, revoked_at FROM api_token")).all())
            codes = conn.execute(text("SELECT count(*) FROM recovery_code")).scalar()
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert revision == "0004" and codes == 0
        assert users == [(1, None, None, 2), (2, None, None, 2), (3, None, None, 2)]
        # The deactivated account's live token is revoked; the others are as they were.
        assert tokens[1] is None and tokens[4] is None
        assert tokens[2] is not None and tokens[3] is not None
        assert str(tokens[3]).startswith("2026-01-02")
        downgrade(revision="0003")
        assert "recovery_code" not in inspect(db.engine).get_table_names()
        assert "totp_secret" not in {c["name"] for c in inspect(db.engine).get_columns("user")}
        db.engine.dispose()
