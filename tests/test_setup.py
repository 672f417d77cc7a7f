"""Configuration, first-run setup, migrations and the `survey` command."""

from __future__ import annotations

import os
import stat

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from survey import accounts, config, first_run
from survey.extensions import db
from survey.models import User


def test_secret_key_is_generated_once_with_private_permissions(tmp_path):
    first = config.load_secret_key(str(tmp_path))
    assert len(first) == 64 and config.load_secret_key(str(tmp_path)) == first
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql+psycopg://x@h/db")
    monkeypatch.setenv("SURVEY_SECRET_KEY", "s3cret")
    settings = config.from_environment(str(tmp_path))
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://x@h/db"
    assert settings["SECRET_KEY"] == "s3cret" and not (tmp_path / "secret_key").exists()
    monkeypatch.delenv("SURVEY_DATABASE_URL")
    assert config.from_environment(str(tmp_path))["SQLALCHEMY_DATABASE_URI"].endswith(
        str(tmp_path / "survey.db")
    )


def test_the_rate_limit_store_has_one_setting(monkeypatch, tmp_path):
    """SURVEY_RATELIMIT_STORAGE_URL (the variable operators set) fills the one key that is read."""
    monkeypatch.setenv("SURVEY_RATELIMIT_STORAGE_URL", "redis://limits:6379/0")
    settings = config.from_environment(str(tmp_path))
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://limits:6379/0"
    assert "SURVEY_RATELIMIT_STORAGE_URL" not in settings
    monkeypatch.delenv("SURVEY_RATELIMIT_STORAGE_URL")
    assert config.from_environment(str(tmp_path))["RATELIMIT_STORAGE_URI"].startswith(
        "sqlitefile:///"
    )


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_first_run_setup_creates_one_admin_once(app):
    with app.app_context():
        db.session.execute(User.__table__.delete())
        db.session.commit()
        report = first_run.prepare()
        again = first_run.prepare()
        admin = db.session.scalar(select(User))
        assert (report.admin_email, admin.role, admin.must_change_password) == (
            "admin@localhost",
            "admin",
            True,
        )
        assert accounts.check_password(admin, report.admin_password)
        assert again.admin_password is None and again.catalogue_rows == 0


def test_create_user_command(app, runner):
    result = runner.invoke(
        args=["create-user", "Lan@AnGiang.gov.vn", "--role", "manager", "--password-stdin"],
        input="mật khẩu dài\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).filter_by(email="lan@angiang.gov.vn"))
        assert user.role == "manager" and accounts.check_password(user, "mật khẩu dài")
        assert user.password_hash.startswith("$argon2id$")
    dup = runner.invoke(args=["create-user", "lan@angiang.gov.vn", "--role", "viewer"])
    assert dup.exit_code == 1 and "exists already" in dup.output
    short = runner.invoke(
        args=["create-user", "b@x.vn", "--role", "viewer", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1 and "8" in short.output
    common = runner.invoke(
        args=["create-user", "d@x.vn", "--role", "viewer", "--password-stdin"], input="matkhau123\n"
    )
    assert common.exit_code == 1 and "d@x.vn" not in common.output


def test_create_user_prints_a_generated_password_last(app, runner):
    result = runner.invoke(args=["create-user", "c@x.vn", "--role", "viewer"])
    password = result.output.strip().splitlines()[-1]
    with app.app_context():
        assert accounts.check_password(db.session.scalar(select(User)), password)


def test_only_the_test_suite_may_hash_passwords_cheaply(app):
    """A server hashes at argon2id's full cost even if the test switch leaks into its config."""
    from argon2 import extract_parameters

    with app.app_context():
        cheap = extract_parameters(accounts.hash_password("mật khẩu dài"))
        app.config["TESTING"] = False  # the switch alone does nothing outside the test suite
        full = extract_parameters(accounts.hash_password("mật khẩu dài"))
    assert cheap.memory_cost < full.memory_cost
    assert full.memory_cost >= 64 * 1024 and full.time_cost >= 3
