"""Daily rollups: answer counts per local day and context, kept in step with every write.

A listener on the ORM session, attached by `init_app`, compares, for every response touched by
a flush, what it contributed to the rollups before the flush with what it contributes after,
and applies the difference in the same transaction. Flagged responses (a `flag_reason`, whether
awaiting review or confirmed) contribute nothing: they are kept but excluded from the index.
`rebuild()` recomputes everything from the raw answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import delete, event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey.extensions import db
from survey.models import Answer, DailyRollup, Response

RESPONSES = "*"  # the item under which responses themselves are counted
KEY_FIELDS = (
    "captured_at",
    "questionnaire_id",
    "unit_id",
    "service_id",
    "counter_id",
    "channel",
    "flag_reason",
)
Key = tuple  # (day, questionnaire_id, unit_id, service_id, counter_id, channel, item, value)


def local_day(moment: datetime) -> date:
    """The centre's local calendar day of a UTC moment."""
    return moment.astimezone(ZoneInfo(current_app.config["SURVEY_TIMEZONE"])).date()


def _old(obj, name: str):
    history = inspect(obj).attrs[name].history
    if history.has_changes():
        return history.deleted[0] if history.deleted else None
    return getattr(obj, name)


def _context(values: dict) -> tuple:
    return (
        local_day(values["captured_at"]),
        values["questionnaire_id"],
        values["unit_id"],
        values["service_id"],
        values["counter_id"] or 0,
        values["channel"],
    )


def contribution(context: tuple, answers: Iterable[tuple[str, int | None]]) -> Counter:
    """The rollup counts one unflagged response adds: itself and each of its answers."""
    counts = Counter({(*context, RESPONSES, 0): 1})
    counts.update((*context, item, value or 0) for item, value in answers)
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
            change.subtract(contribution(_context(old), answers))
    if response not in deleted and response.flag_reason is None:
        now = {name: getattr(response, name) for name in KEY_FIELDS}
        answers = [(a.item, a.value) for a in response.answers if a not in deleted]
        change.update(contribution(_context(now), answers))
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
    apply(session, {key: n for key, n in change.items() if n})


def apply(session: Session, change: dict[Key, int]) -> None:
    """Add `change` to the stored counts with one upsert per key."""
    if not change:
        return
    connection = session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    columns = (
        "day",
        "questionnaire_id",
        "unit_id",
        "service_id",
        "counter_id",
        "channel",
        "item",
        "value",
    )
    rows = [dict(zip(columns, key, strict=True), count=n) for key, n in change.items()]
    statement = dialect.insert(DailyRollup)
    statement = statement.on_conflict_do_update(
        index_elements=list(columns), set_={"count": DailyRollup.count + statement.excluded.count}
    )
    connection.execute(statement, rows)


def count_new(session: Session, response: dict, answers: Iterable[tuple[str, int | None]]) -> None:
    """Count a new response written without the ORM (so no listener saw it), in `session`'s
    transaction: `response` holds the columns of KEY_FIELDS, `answers` its (item, value) pairs."""
    if response.get("flag_reason") is None:
        apply(session, dict(contribution(_context(response), answers)))


def recompute() -> Counter:
    """Rollup counts computed afresh from the raw responses and answers."""
    counts: Counter = Counter()
    query = (
        select(*(getattr(Response, n) for n in KEY_FIELDS), Response.id, Answer.item, Answer.value)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.flag_reason.is_(None))
        .order_by(Response.id)
    )
    last = None
    for row in db.session.execute(query.execution_options(yield_per=5000)):
        context = _context(row._mapping)
        if row.id != last:
            counts[(*context, RESPONSES, 0)] += 1
            last = row.id
        if row.item is not None:
            counts[(*context, row.item, row.value or 0)] += 1
    return counts


def stored() -> Counter:
    """The rollup counts as stored (rows with a zero count left out)."""
    rows = db.session.execute(select(DailyRollup).where(DailyRollup.count != 0)).scalars()
    return Counter(
        {
            (
                r.day,
                r.questionnaire_id,
                r.unit_id,
                r.service_id,
                r.counter_id,
                r.channel,
                r.item,
                r.value,
            ): r.count
            for r in rows
        }
    )


def rebuild() -> int:
    """Replace every rollup row with a recomputation from the raw answers; return the rows."""
    counts = recompute()
    db.session.execute(delete(DailyRollup))
    apply(db.session, dict(counts))
    db.session.commit()
    return len(counts)
