"""`survey backup`: an online copy of the SQLite database, consistent while a write is open."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from survey import backup, demo
from survey.extensions import db
from tests.conftest import build_app


def test_backup_copies_the_live_database_leaving_out_an_open_write(app, runner, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL is backed up with pg_dump (docs/OPERATIONS.md)")
    with app.app_context():
        demo.seed_responses(12, seed=4)
        db.session.remove()
        db.engine.dispose()
    source = backup.sqlite_path(url)
    with closing(sqlite3.connect(source, isolation_level=None)) as writer:
        answers = writer.execute("SELECT count(*) FROM answer").fetchone()[0]
        writer.execute("BEGIN IMMEDIATE")  # a rating being written, not yet committed
        writer.execute("UPDATE response SET comment = 'not yet committed'")
        writer.execute("DELETE FROM answer")
        result = runner.invoke(args=["backup", str(tmp_path / "copy.db")])
        writer.execute("COMMIT")
    assert result.exit_code == 0, result.output
    assert f"response 12, answer {answers}" in result.output
    copy = tmp_path / "copy.db"
    assert copy.stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob("copy.db.*"))  # no partial file or WAL beside it
    with closing(sqlite3.connect(copy)) as restored:
        assert restored.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert restored.execute("SELECT count(*) FROM answer").fetchone()[0] == answers
        pending = "SELECT count(*) FROM response WHERE comment = 'not yet committed'"
        assert restored.execute(pending).fetchone()[0] == 0


def test_backup_refuses_what_it_cannot_copy(tmp_path):
    with pytest.raises(backup.BackupError, match="pg_dump"):
        backup.sqlite_path("postgresql+psycopg://postgres@127.0.0.1/survey")
    database = tmp_path / "survey.db"
    sqlite3.connect(database).close()
    with pytest.raises(backup.BackupError, match="overwrite"):
        backup.backup_sqlite(f"sqlite:///{database}", database)
    with pytest.raises(backup.BackupError, match="no database"):
        backup.backup_sqlite(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path / "copy.db")
    assert not Path(tmp_path / "copy.db").exists()


def test_the_command_points_a_postgresql_install_to_pg_dump(tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/survey"  # never connected to
    app = build_app(url, tmp_path / "instance")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "copy.db")])
    assert result.exit_code == 1
    assert "use pg_dump for PostgreSQL" in result.output
    assert not (tmp_path / "copy.db").exists()
