"""Rollups: per local day and per local month, the counts the summaries read, kept in step.

Two tables (survey/models.py): `rollup_day` per day, unit, procedure, counter and channel, and
`rollup_month` per month, unit and procedure. A row holds the number of responses and, in
column n<i * 5 + value - 1>, the answers `value` to the questionnaire's i-th scored item (the
overall question, then the criteria, then the expectations, in questionnaire order: `layout`).
One response touches one row of each.

A listener on the ORM session, attached by `init_app`, compares, for every response touched by
a flush, what it contributed before the flush with what it contributes after, and applies the
difference in the same transaction; `count_new` does the same for a response written without
the ORM. Flagged responses (a `flag_reason`, awaiting review or confirmed) contribute nothing.
`rebuild()` recomputes both tables from the raw answers in set-based SQL, a month at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey import questionnaire
from survey.extensions import db
from survey.models import (
    ROLLUP_ITEMS,
    ROLLUP_LEVELS,
    ROLLUP_SLOTS,
    Answer,
    Response,
    rollup_day,
    rollup_month,
)
from survey.questionnaire import Questionnaire

RESPONSES = "*"  # the item under which figures count responses themselves
KEY_FIELDS = (
    "captured_at",
    "questionnaire_id",
    "unit_id",
    "service_id",
    "counter_id",
    "channel",
    "flag_reason",
)
DAY_KEY = ("day", "questionnaire_id", "unit_id", "service_id", "counter_id", "channel")
MONTH_KEY = ("month", "questionnaire_id", "unit_id", "service_id")
_layouts: dict[int, dict[str, int]] = {}


class LayoutError(ValueError):
    """A questionnaire with more scored items than the rollups have columns for."""


def layout(q: Questionnaire) -> dict[str, int]:
    """The first count column of each scored item: 5 columns per item, in questionnaire order."""
    items = [q.overall_code, *q.criteria, *q.expectation_codes]
    if len(items) > ROLLUP_ITEMS:
        raise LayoutError(f"{len(items)} scored items; the rollups hold {ROLLUP_ITEMS}")
    return {item: index * ROLLUP_LEVELS for index, item in enumerate(items)}


def layout_of(questionnaire_id: int) -> dict[str, int]:
    """The layout of a stored version, kept per process: a version never changes once stored."""
    found = _layouts.get(questionnaire_id)
    if found is None:
        found = _layouts[questionnaire_id] = layout(questionnaire.by_id(questionnaire_id))
    return found


def local_day(moment: datetime) -> date:
    """The centre's local calendar day of a UTC moment."""
    return moment.astimezone(ZoneInfo(current_app.config["SURVEY_TIMEZONE"])).date()


def _old(obj, name: str):
    history = inspect(obj).attrs[name].history
    if history.has_changes():
        return history.deleted[0] if history.deleted else None
    return getattr(obj, name)


def _day_key(values) -> tuple:
    return (
        local_day(values["captured_at"]),
        values["questionnaire_id"],
        values["unit_id"],
        values["service_id"],
        values["counter_id"] or 0,
        values["channel"],
    )


def column(questionnaire_id: int, item: str, value: int) -> str:
    """The count column of answer `value` (1..5) to `item`."""
    return ROLLUP_SLOTS[layout_of(questionnaire_id)[item] + value - 1]


def contribution(values, answers: Iterable[tuple[str, int | None]]) -> Counter:
    """What one unflagged response adds: {(day key, column): count}."""
    key, version = _day_key(values), values["questionnaire_id"]
    counts = Counter({(key, "responses"): 1})
    counts.update((key, column(version, item, value)) for item, value in answers if value)
    return counts


def _delta(session: Session, response: Response) -> Counter:
    new, deleted = session.new, session.deleted
    change: Counter = Counter()
    if response not in new:
        old = {name: _old(response, name) for name in KEY_FIELDS}
        if old["flag_reason"] is None:
            gone = [a for a in deleted if isinstance(a, Answer) and a.response_id == response.id]
            everyone = {id(a): a for a in (*response.answers, *gone) if a not in new}
            answers = [(a.item, _old(a, "value")) for a in everyone.values()]
            change.subtract(contribution(old, answers))
    if response not in deleted and response.flag_reason is None:
        now = {name: getattr(response, name) for name in KEY_FIELDS}
        answers = [(a.item, a.value) for a in response.answers if a not in deleted]
        change.update(contribution(now, answers))
    return change


def _touched(session: Session) -> list[Response]:
    seen: dict[int, Response] = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        response = (
            obj
            if isinstance(obj, Response)
            else (
                obj.response or session.get(Response, obj.response_id)
                if isinstance(obj, Answer)
                else None
            )
        )
        if response is not None:
            seen[id(response)] = response
    return list(seen.values())


def init_app(app: Flask) -> None:
    """Keep the rollups in step with every flush of an ORM session, in its transaction.

    SQLAlchemy's session events are process-wide (every `Session`), so the listener is
    attached once, by the first app, and serves every app of the process.
    """
    if not event.contains(Session, "after_flush", _keep_in_step):
        event.listen(Session, "after_flush", _keep_in_step)


def _keep_in_step(session: Session, _context) -> None:
    change: Counter = Counter()
    for response in _touched(session):
        change.update(_delta(session, response))
    apply(session, change)


def count_new(session: Session, response: dict, answers: Iterable[tuple[str, int | None]]) -> None:
    """Count a new response written without the ORM (so no listener saw it), in `session`'s
    transaction: `response` holds the columns of KEY_FIELDS, `answers` its (item, value) pairs."""
    if response.get("flag_reason") is None:
        apply(session, contribution(response, answers))


def _rows(change: Counter) -> tuple[dict, dict]:
    """The change per day row and per month row: {key: {column: n}}, zeros left out."""
    days: dict[tuple, Counter] = {}
    months: dict[tuple, Counter] = {}
    for (key, column), n in change.items():
        if n:
            days.setdefault(key, Counter())[column] += n
            month = (key[0].replace(day=1), *key[1:4])
            months.setdefault(month, Counter())[column] += n
    return days, months


def apply(session: Session, change: Counter) -> None:
    """Add `change` ({(day key, column): n}) to both rollups: one upsert per row touched; on
    PostgreSQL a day's upsert and its month's go in one statement (one round trip)."""
    days, months = _rows(change)
    connection = session.connection()
    statements = [
        _upsert(connection, table, dict(zip(names, key, strict=True)), counts)
        for table, names, rows in ((rollup_day, DAY_KEY, days), (rollup_month, MONTH_KEY, months))
        for key, counts in rows.items()
        if any(counts.values())
    ]
    if connection.dialect.name == "postgresql" and len(statements) == 2:
        statements = [statements[1].add_cte(statements[0].cte("day_row"))]
    for statement in statements:
        connection.execute(statement)


def _upsert(connection, table, key: dict, counts: Counter):
    counts = {column: n for column, n in counts.items() if n}
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values({**key, "responses": 0, **counts})
    added = {c: table.c[c] + statement.excluded[c] for c in counts if c == "responses"}
    added.update(
        (c, db.func.coalesce(table.c[c], 0) + statement.excluded[c])
        for c in counts
        if c != "responses"
    )
    return statement.on_conflict_do_update(index_elements=list(key), set_=added)


def recompute() -> dict[tuple, dict[str, int]]:
    """Both rollups computed afresh, in Python, from the raw responses and answers."""
    change: Counter = Counter()
    query = (
        select(*(getattr(Response, n) for n in KEY_FIELDS), Response.id, Answer.item, Answer.value)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.flag_reason.is_(None))
        .order_by(Response.id)
    )
    last = None
    for row in db.session.execute(query.execution_options(yield_per=5000)):
        if row.id != last:
            change.update(contribution(row._mapping, []))
            last = row.id
        if row.value:
            change[(_day_key(row._mapping), column(row.questionnaire_id, row.item, row.value))] += 1
    days, months = _rows(change)
    return _keyed(days, months)


def _keyed(days: dict, months: dict) -> dict[tuple, dict[str, int]]:
    result = {("day", *k): {c: n for c, n in v.items() if n} for k, v in days.items()}
    result.update({("month", *k): {c: n for c, n in v.items() if n} for k, v in months.items()})
    return {key: counts for key, counts in result.items() if counts}


def stored() -> dict[tuple, dict[str, int]]:
    """Both rollups as stored, in the shape of `recompute()` (zeros and empty rows left out)."""
    days, months = {}, {}
    for table, names, into in ((rollup_day, DAY_KEY, days), (rollup_month, MONTH_KEY, months)):
        for row in db.session.execute(select(table)).mappings():
            counts = {c: row[c] for c in ("responses", *ROLLUP_SLOTS) if row[c]}
            into[tuple(row[n] for n in names)] = counts
    return _keyed(days, months)


def counted() -> int:
    """How many responses the rollups count."""
    return db.session.scalar(select(db.func.coalesce(db.func.sum(rollup_day.c.responses), 0)))


def rebuild() -> int:
    """Replace both rollups with a recomputation from the raw answers; return their rows."""
    from survey import rollup_rebuild  # the SQL lives beside, to keep this module short

    rows = rollup_rebuild.rebuild(db.session)
    db.session.commit()
    return rows
