"""Rollups: per local day and per local month, the counts the summaries read, kept in step.

Four tables (survey/rollup_tables.py): `rollup_day` per day, unit, procedure, counter and
channel, `rollup_month` per month, unit and procedure, `rollup_unit_month` per month and unit,
`rollup_service_month` per month, procedure and channel. A row holds the number of responses
and, in column n<i * 5 + value - 1>, the answers `value` to the questionnaire's i-th scored
item (the overall question, then the criteria, then the expectations, in questionnaire order:
`layout`), and in t_<topic> the comments about each topic (survey/rollup_topics.py). One
response touches one row of each. `rollup_profile` holds the same counts but the topics' per
month and unit (`rollup_province_profile` per month over every unit) for each option a
response's profile answers (one row per answered profile item): the breakdown "who is
satisfied" (survey/profiles.py) reads them.

A listener on the ORM session, attached by `init_app`, compares, for every response touched by
a flush, what it contributed before the flush with what it contributes after, and applies the
difference in the same transaction; `count_new` (or, on PostgreSQL, survey/rollup_write.py)
does it for a response written without the ORM. Flagged responses contribute nothing.
`rebuild()` recomputes every table from the raw answers in set-based SQL, a month at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import Date, TextClause, bindparam, event, inspect, select, text
from sqlalchemy.orm import Session

from survey import questionnaire, topic_lexicon
from survey.extensions import db
from survey.models import (
    ROLLUP_ITEMS,
    ROLLUP_LEVELS,
    ROLLUP_SLOTS,
    ROLLUP_TOPICS,
    Answer,
    Response,
    rollup_day,
    rollup_month,
    rollup_profile,
    rollup_province_profile,
    rollup_service_month,
    rollup_unit_month,
)
from survey.questionnaire import Questionnaire

RESPONSES = "*"  # the item under which figures count responses themselves
CONTEXT_FIELDS = ("captured_at", "questionnaire_id", "unit_id", "service_id", "counter_id")
KEY_FIELDS = (*CONTEXT_FIELDS, "channel", "flag_reason", "comment", "profile", "topics")
DAY_KEY = ("day", "questionnaire_id", "unit_id", "service_id", "counter_id", "channel")
MONTH_KEY = ("month", "questionnaire_id", "unit_id", "service_id")
SERVICE_MONTH_KEY = ("month", "questionnaire_id", "service_id", "channel")
UNIT_MONTH_KEY = ("month", "questionnaire_id", "unit_id")
PROFILE_KEY = ("month", "questionnaire_id", "unit_id", "item", "option")
PROVINCE_PROFILE_KEY = ("month", "questionnaire_id", "item", "option")
PROFILE = "profile"  # the first part of a change's key that counts toward rollup_profile
NOT_NULL = ("responses", "comments")
TABLES = (
    (rollup_day, DAY_KEY),
    (rollup_month, MONTH_KEY),
    (rollup_service_month, SERVICE_MONTH_KEY),
    (rollup_unit_month, UNIT_MONTH_KEY),
    (rollup_profile, PROFILE_KEY),
    (rollup_province_profile, PROVINCE_PROFILE_KEY),
)
COUNTED, PROFILES = TABLES[:-2], TABLES[-2:]  # every counted response's; its profile options'


class LayoutError(ValueError):
    """A questionnaire with more scored items than the rollups have columns for."""


def layout(q: Questionnaire) -> dict[str, int]:
    """The first count column of each scored item: 5 columns per item, in questionnaire order."""
    items = [q.overall_code, *q.criteria, *q.expectation_codes]
    if len(items) > ROLLUP_ITEMS:
        raise LayoutError(f"{len(items)} scored items; the rollups hold {ROLLUP_ITEMS}")
    return {item: index * ROLLUP_LEVELS for index, item in enumerate(items)}


def layout_of(questionnaire_id: int) -> dict[str, int]:
    """The layout of a stored version, kept per app beside its questionnaire cache (a version
    never changes once stored; another app of the process may have another database)."""
    kept = current_app.extensions.setdefault("survey_rollup_layouts", {})
    found = kept.get(questionnaire_id)
    if found is None:
        found = kept[questionnaire_id] = layout(questionnaire.by_id(questionnaire_id))
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


def profile_options(questionnaire_id: int) -> dict[str, frozenset[str]]:
    """The profile items of a stored version and their option codes, kept like `layout_of`."""
    kept = current_app.extensions.setdefault("survey_profile_options", {})
    found = kept.get(questionnaire_id)
    if found is None:
        entries = questionnaire.by_id(questionnaire_id).data.get("profile") or []
        found = kept[questionnaire_id] = {
            e["code"]: frozenset(o["code"] for o in e.get("options") or []) for e in entries
        }
    return found


def profile_pairs(values) -> list[tuple[str, str]]:
    """The (item, option) pairs a response's profile answers, as the questionnaire has them."""
    profile = values.get("profile")
    if not isinstance(profile, dict) or not profile:
        return []
    known = profile_options(values["questionnaire_id"])
    return [(i, o) for i, o in profile.items() if isinstance(o, str) and o in known.get(i, ())]


def contribution(values, answers: Iterable[tuple[str, int | None]]) -> Counter:
    """What one unflagged response adds: {(day key, column): count}, with one in t_<topic>
    for each topic of its comment, and the same counts but the topics' under a (PROFILE,
    rollup_profile key) for every option its profile answers."""
    key, version = _day_key(values), values["questionnaire_id"]
    counts = Counter({(key, "responses"): 1})
    if values.get("comment") is not None:
        counts[(key, "comments")] += 1
    counts.update((key, column(version, item, value)) for item, value in answers if value)
    pairs = profile_pairs(values)
    if pairs:
        context = (key[0].replace(day=1), *key[1:3])
        for (_, name), n in list(counts.items()):
            counts.update({((PROFILE, *context, *pair), name): n for pair in pairs})
    counts.update((key, f"t_{t}") for t in topic_lexicon.topics_of_bits(values.get("topics")))
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


def _rows(change: Counter) -> list[dict]:
    """The change per row of each rollup (TABLES): {key: {column: n}}, zeros left out."""
    rows: list[dict[tuple, Counter]] = [{} for _ in TABLES]
    for (key, column), n in change.items():
        if not n:
            continue
        if key[0] == PROFILE:
            rows[-2].setdefault(key[1:], Counter())[column] += n
            rows[-1].setdefault((*key[1:3], *key[4:]), Counter())[column] += n
            continue
        month = key[0].replace(day=1)
        keys = (key, (month, *key[1:4]), (month, key[1], key[3], key[5]), (month, *key[1:3]))
        for into, row in zip(rows, keys, strict=False):
            into.setdefault(row, Counter())[column] += n
    return rows


def _parts(change: Counter) -> list[tuple[tuple, dict]]:
    """The rollup rows `change` touches: each as (table, key columns, count columns) with the
    values of its upsert."""
    parts = []
    for (table, names), rows in zip(TABLES, _rows(change), strict=True):
        for key, counts in rows.items():
            counts = {column: n for column, n in counts.items() if n}
            if counts:
                columns = tuple(sorted(c for c in counts if c not in NOT_NULL))
                found = {**dict(zip(names, key, strict=True)), "responses": 0, "comments": 0}
                parts.append(((table.name, names, columns), {**found, **counts}))
    return parts


def _named(parts: list[tuple[tuple, dict]]) -> dict:
    """The parameters of `parts`' upserts in one statement: row i's named p<i>_<column>."""
    return {f"p{i}_{c}": n for i, (_, values) in enumerate(parts) for c, n in values.items()}


def apply(session: Session, change: Counter) -> None:
    """Add `change` ({(day key, column): n}) to the rollups: one upsert per row touched; on
    PostgreSQL all of them in one statement (one round trip)."""
    parts = _parts(change)
    connection = session.connection()
    if connection.dialect.name == "postgresql" and parts:
        connection.execute(_upsert_sql(tuple(p for p, _ in parts)), _named(parts))
        return
    for part in parts:
        connection.execute(_upsert_sql((part[0],)), _named([part]))


@lru_cache(maxsize=4096)
def _upsert_sql(parts: tuple) -> TextClause:
    """The upsert of rollup rows (table, key columns, count columns): one INSERT … ON CONFLICT
    per row, the first ones as WITH clauses of the last. Kept per shape: building it with the
    SQL expression language costs more than the write itself (every column is copied)."""
    statements, dates = [], []
    for i, (table, names, columns) in enumerate(parts):
        every = (*names, *NOT_NULL, *columns)
        added = [f"{c} = {table}.{c} + excluded.{c}" for c in NOT_NULL]
        added += [f"{c} = coalesce({table}.{c}, 0) + excluded.{c}" for c in columns]
        statements.append(
            f"INSERT INTO {table} ({', '.join(every)}) "
            f"VALUES ({', '.join(f':p{i}_{c}' for c in every)}) "
            f"ON CONFLICT ({', '.join(names)}) DO UPDATE SET {', '.join(added)}"
        )
        dates.append(bindparam(f"p{i}_{names[0]}", type_=Date))
    *first, last = statements or ["SELECT 1"]
    ctes = [f"row_{i} AS ({s})" for i, s in enumerate(first)]
    if ctes:
        last = "WITH " + ", ".join(ctes) + " " + last
    return text(last).bindparams(*dates)


def recompute() -> dict[tuple, dict[str, int]]:
    """Every rollup computed afresh, in Python, from the raw responses and answers."""
    change: Counter = Counter()
    query = (
        select(*(getattr(Response, n) for n in KEY_FIELDS), Response.id, Answer.item, Answer.value)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.flag_reason.is_(None))
        .order_by(Response.id)
    )
    current, answers = None, []
    for row in db.session.execute(query.execution_options(yield_per=5000)):
        if current is not None and row.id != current.id:
            change.update(contribution(current._mapping, answers))
            answers = []
        current = row
        if row.value:
            answers.append((row.item, row.value))
    if current is not None:
        change.update(contribution(current._mapping, answers))
    return _keyed(_rows(change))


def _keyed(rows: list[dict]) -> dict[tuple, dict[str, int]]:
    result = {
        (table.name, *key): {c: n for c, n in counts.items() if n}
        for (table, _), into in zip(TABLES, rows, strict=True)
        for key, counts in into.items()
    }
    return {key: counts for key, counts in result.items() if counts}


def stored() -> dict[tuple, dict[str, int]]:
    """The rollups as stored, in the shape of `recompute()` (zeros and empty rows left out)."""
    rows: list[dict] = []
    for table, names in TABLES:
        into, columns = {}, [c for c in (*NOT_NULL, *ROLLUP_SLOTS, *ROLLUP_TOPICS) if c in table.c]
        for row in db.session.execute(select(table)).mappings():
            counts = {c: row[c] for c in columns if row[c]}
            into[tuple(row[n] for n in names)] = counts
        rows.append(into)
    return _keyed(rows)


def counted() -> int:
    """How many responses the rollups count."""
    return db.session.scalar(select(db.func.coalesce(db.func.sum(rollup_day.c.responses), 0)))


def rebuild() -> int:
    """Replace every rollup with a recomputation from the raw answers; return their rows."""
    from survey import rollup_rebuild  # the SQL lives beside, to keep this module short

    rows = rollup_rebuild.rebuild(db.session)
    db.session.commit()
    return rows
