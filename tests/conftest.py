"""Fixtures: a fresh app and an empty database per test, on SQLite or PostgreSQL.

Each run gets its own database: a temporary SQLite file, or, when SURVEY_TEST_DATABASE_URL
points at a PostgreSQL server, a database created for the run and dropped afterwards. The
schema comes from the migrations; every test starts with empty tables. Every app and server
keeps its files (secret key, rate-limit store) in a temporary folder: a run that writes
./instance of the checkout fails.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest
from flask import Flask
from jinja2 import StrictUndefined
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from survey import config, create_app
from survey.extensions import db
from tests.builders import make_catalogue

PG_URL = os.environ.get("SURVEY_TEST_DATABASE_URL")
CHECKOUT_INSTANCE = Path(__file__).resolve().parent.parent / "instance"


def _files(folder: Path) -> dict[str, tuple[int, int]] | None:
    if not folder.exists():
        return None
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
    }


@pytest.fixture(scope="session", autouse=True)
def checkout_instance_untouched():
    """Fail the run if it created or changed ./instance of the checkout."""
    before = _files(CHECKOUT_INSTANCE)
    yield
    after = _files(CHECKOUT_INSTANCE)
    if after != before:
        pytest.fail(f"the tests wrote {CHECKOUT_INSTANCE}: {before} became {after}")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The URL of this run's own database, migrated once."""
    if not PG_URL:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
        _migrate(url, tmp_path_factory)
        yield url
        return
    server = make_url(PG_URL)
    name = f"survey_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url, tmp_path_factory)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str, tmp_path_factory) -> None:
    from flask_migrate import upgrade

    app = build_app(url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _test_config(url: str, instance: Path, **extra) -> dict:
    """A test app's settings: cheap password hashing, and a rate-limit store of its own in
    `instance`, so that no app counts another's sign-ins (whatever the scope of its fixture)."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False,
        "SURVEY_CHEAP_PASSWORD_HASH": True,
        "RATELIMIT_STORAGE_URI": config.default_limits_url(str(instance)),
        **extra,
    }


def build_app(url: str, instance: Path, **extra) -> Flask:
    """A test app on `url` whose instance folder is `instance` (for a fixture of any scope)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SURVEY_INSTANCE_PATH", str(instance))
        return create_app(_test_config(url, instance, **extra))


def _empty(app) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    """A fresh app on an empty database, with the questionnaire and a small catalogue."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(_test_config(database_url, tmp_path / "instance"))
    app.jinja_env.undefined = StrictUndefined
    _empty(app)
    with app.app_context():
        from survey import questionnaire

        questionnaire.ensure_default()
        make_catalogue()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    _empty(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def live_server(app):
    """Serve the test app on a free local port for the length of a test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
