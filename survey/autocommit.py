"""Statements that commit themselves, on a connection of the request's own (PostgreSQL).

A new kiosk rating is one statement (survey/rollup_write.py), a transaction in itself, and the
reads before it need none: on PostgreSQL they run on a connection the request takes from a pool
of autocommit connections, without the ORM session (no BEGIN or COMMIT round trip, and no
session transaction to open and commit per rating). What needs a transaction (completing a stored
rating, a rating with its call-back number) goes through the session as every other write;
on SQLite every statement does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import psycopg
from flask import Flask, current_app, g
from sqlalchemy import Connection, CursorResult, Engine, create_engine, event

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


_NAMED = re.compile(r"%\((\w+)\)s")


@lru_cache(maxsize=1024)
def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` with psycopg's named placeholders, %(name)s, as PostgreSQL's own ($1, $2…, one
    number per name), and the names in their numbers' order."""
    numbers: dict[str, int] = {}
    text = _NAMED.sub(lambda m: f"${numbers.setdefault(m.group(1), len(numbers) + 1)}", sql)
    if "%" in text:
        raise ValueError("a statement run as it is holds no other % than its placeholders")
    return text, tuple(numbers)


def run_as_is(connection: Connection, sql: str, params: dict[str, Any]) -> CursorResult:
    """PostgreSQL: run `sql` (psycopg's %(name)s placeholders) with its text converted once
    per process, not on every run. The driver converts a text longer than 4096 bytes on each
    run (a regular-expression pass over it, the tenth of a kiosk write's CPU in the app); a
    RawCursor sends the converted text as it is. The engine's events see the statement."""
    text, names = positional(sql)
    driver = connection.connection.driver_connection
    made = driver.cursor_factory
    driver.cursor_factory = psycopg.RawCursor
    try:
        return connection.exec_driver_sql(text, tuple(params[name] for name in names))
    finally:
        driver.cursor_factory = made


def _engine() -> Engine:
    """An engine of the app's database whose connections are in autocommit mode for good, made
    once per app engine with its settings; disposed whenever the app's engine is (after
    gunicorn's fork, by the tests), so it never holds connections of its own beyond it.

    Its own pool, not the app's engine with an autocommit execution option: that option sets
    the isolation level on every checkout and resets it on every return (a twentieth of the
    app's CPU per kiosk rating). A request holds one connection of each pool at most."""
    engine = db.engine
    made = current_app.extensions.get("survey_autocommit")
    if made is None or made[0] is not engine:
        options = dict(current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        own = create_engine(engine.url, **{**options, "isolation_level": "AUTOCOMMIT"})
        event.listen(engine, "engine_disposed", lambda _engine: own.dispose())
        made = (engine, own)
        current_app.extensions["survey_autocommit"] = made
    return made[1]


def _close(_error: BaseException | None = None) -> None:
    own = g.pop("autocommit", None)
    if own is not None:
        own.close()


def init_app(app: Flask) -> None:
    """Give the request's autocommit connection back to the pool when the request ends."""
    app.teardown_appcontext(_close)
