"""Flask extensions, unbound; `create_app` binds them with init_app."""

from __future__ import annotations

import time

from flask import current_app, has_app_context
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

from survey import limitstore  # noqa: F401  (registers the `sqlitefile://` store with limits)


class Base(DeclarativeBase):
    # Named constraints, so that later migrations can alter them on SQLite and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Make every SQLite connection durable and patient: WAL, full sync, a busy timeout."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    busy = 10000
    if has_app_context():
        busy = current_app.config.get("SURVEY_SQLITE_BUSY_TIMEOUT", busy)
    cursor.execute(f"PRAGMA busy_timeout={int(busy)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


PING_AFTER = 5.0
"""Seconds a pooled connection may rest before its next checkout tests it (`SELECT 1`)."""


@event.listens_for(Pool, "connect")
@event.listens_for(Pool, "checkin")
def _rested_since(dbapi_connection, record) -> None:
    """Note when a connection was made or given back to the pool."""
    if dbapi_connection is not None:
        record.info["rested_since"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _test_if_rested(dbapi_connection, record, _proxy) -> None:
    """Test a connection that rested in the pool for PING_AFTER seconds or more before it
    serves a request: one the database dropped meanwhile (a restart, an idle timeout) is
    replaced (DisconnectionError makes the pool connect anew) instead of failing the request.
    A connection given back moments ago, as under load, goes out untested: the test would be
    one more round trip per request."""
    if time.monotonic() - record.info.get("rested_since", 0) < PING_AFTER:
        return
    autocommit = getattr(dbapi_connection, "autocommit", None)
    try:
        if autocommit is False:  # psycopg: the test must not open a transaction
            dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        if autocommit is False:
            dbapi_connection.autocommit = False
    except Exception as exc:  # any failure: the connection is not usable
        raise DisconnectionError() from exc
