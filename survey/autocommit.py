"""Statements that commit themselves, on a connection of the request's own (PostgreSQL).

A new kiosk rating is one statement (survey/rollup_write.py), a transaction in itself, and the
reads before it need none: on PostgreSQL they run on a connection the request takes from the
pool in autocommit mode, without the ORM session (no BEGIN or COMMIT round trip, and no session
transaction to open and commit per rating). What needs a transaction (completing a stored
rating, a rating with its call-back number) goes through the session as every other write;
on SQLite every statement does.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine

from survey.extensions import db


def begin() -> None:
    """On PostgreSQL, give this request its autocommit connection (before its first statement)."""
    if "autocommit" not in g and db.engine.dialect.name == "postgresql":
        g.autocommit = _engine().connect()


def connection() -> Connection:
    """The request's autocommit connection (`begin`), else the session's, in its transaction."""
    own = g.get("autocommit")
    return own if own is not None else db.session.connection()


def owns(connection: Connection) -> bool:
    """Whether `connection` is the request's autocommit connection (its statements are stored
    as they run: there is no session transaction to commit)."""
    return connection is g.get("autocommit")


def session_reads() -> None:
    """With `begin`'s connection, let the session's own reads (a stored rating, loaded whole)
    commit themselves too, unless the session is in a transaction already; a write through the
    session ends that first (submission_write._in_one_transaction)."""
    if "autocommit" in g and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _engine() -> Engine:
    """The app's engine in autocommit mode (the same pool), made once per engine."""
    engine = db.engine
    made = current_app.extensions.get("survey_autocommit")
    if made is None or made[0] is not engine:
        made = (engine, engine.execution_options(isolation_level="AUTOCOMMIT"))
        current_app.extensions["survey_autocommit"] = made
    return made[1]


def _close(_error: BaseException | None = None) -> None:
    own = g.pop("autocommit", None)
    if own is not None:
        own.close()


def init_app(app: Flask) -> None:
    """Give the request's autocommit connection back to the pool when the request ends."""
    app.teardown_appcontext(_close)
