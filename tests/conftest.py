"""Fixtures: a fresh app and an empty database per test, on SQLite or PostgreSQL.

Each run gets its own database: a temporary SQLite file, or, when SURVEY_TEST_DATABASE_URL
points at a PostgreSQL server, a database created for the run and dropped afterwards. The
schema comes from the migrations; every test starts with empty tables.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from jinja2 import StrictUndefined
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from survey import create_app
from survey.extensions import db
from tests.builders import make_catalogue

PG_URL = os.environ.get("SURVEY_TEST_DATABASE_URL")


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

    app = create_app(_test_config(url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _test_config(url: str, instance) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False,
        "SURVEY_CHEAP_PASSWORD_HASH": True,
    }


def _empty(app) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    """A fresh app on an empty database, with the questionnaire and a small catalogue."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(_test_config(database_url, tmp_path))
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
