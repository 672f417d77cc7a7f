"""Reading the rollups: the counts of one or more date ranges in at most two queries.

Whole months come from `rollup_service_month` (per procedure and channel) when every unit is
counted together, else from `rollup_unit_month` (per unit), or from `rollup_month` (per unit
and procedure) when a procedure, agency or lĩnh vực is filtered or grouped by; the days of a
month only partly inside a range, and everything filtered or grouped by counter or channel
(which the month rows do not keep), from `rollup_day`. Rows come back per time bucket (a whole
month, or a day) and group, so several ranges (the dashboard's period, trend and year before)
are read together and summed apart.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import Date, and_, case, cast, func, literal, or_, select, type_coerce

from survey import rollups
from survey.extensions import db
from survey.filters import Filters, context_conditions
from survey.models import (
    ROLLUP_LEVELS,
    ROLLUP_SLOTS,
    ROLLUP_TOPICS,
    Service,
    rollup_day,
    rollup_month,
    rollup_service_month,
    rollup_unit_month,
)

Range = tuple[date, date]


@dataclass(frozen=True)
class Row:
    first: date  # the bucket: a whole month, or one day
    last: date
    key: tuple  # the group (empty when not grouped)
    counts: list[int]  # responses, comments, every count column in use, the topics' counts


def month_end(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)


def months(since: date, until: date) -> list[date]:
    """The first day of each calendar month from `since`'s to `until`'s."""
    months, month = [], since.replace(day=1)
    while month <= until:
        months.append(month)
        month = month_end(month) + timedelta(days=1)
    return months


def _whole(month: date, ranges: list[Range], span: Range) -> bool:
    """Whether every range holds all of `month` or none of it (so it can be read as one)."""
    last = month_end(month)
    if month < span[0] or last > span[1]:
        return False
    return all((since <= month and last <= until) or until < month or since > last
               for since, until in ranges)  # fmt: skip


@dataclass(frozen=True)
class _Read:
    filters: Filters
    group_by: str | None
    by_bucket: bool  # rows per month or day (several ranges, or grouped by time)
    width: int  # count columns in use
    span: Range
    summed: frozenset[str] | None = None  # the count columns to add up (None: all of them)


def fetch(
    filters: Filters,
    ranges: list[Range],
    group_by: str | None = None,
    *,
    items: Iterable[str] | None = None,
    topics: bool = False,
) -> list[Row]:
    """The rollup rows of `filters` (its own dates ignored) that fall in any of `ranges`; with
    `items`, only the responses, comments and those items' counts are added up (the others
    read 0), which is all a ranking by the overall index needs, and the topics' counts only
    with `topics`."""
    span = (min(r[0] for r in ranges), max(r[1] for r in ranges))
    by_counter = filters.counter is not None or group_by == "counter"
    province = filters.units is None and group_by != "unit" and not by_counter
    fine = by_counter or (bool(filters.channel) and not province)
    by_bucket = len(ranges) > 1 or group_by in ("month", "quarter")
    width = _width(filters.questionnaire_id)
    summed = None if items is None else columns_of(filters.questionnaire_id, items)
    if summed is not None and topics:
        summed |= frozenset(ROLLUP_TOPICS)
    read = _Read(filters, group_by, by_bucket, width, span, summed)
    firsts = months(*span)
    whole = [m for m in firsts if _whole(m, ranges, span)]
    partial = [m for m in firsts if fine or m not in whole]
    rows: list[Row] = []
    if whole and not fine:
        table = _month_table(filters, group_by, province)
        month, runs = table.c.month, _runs(whole, ranges, group_by)
        bucket = _run_bucket(month, runs) if len(runs) < len(whole) else month
        rows += _query(read, table, bucket, month.in_(whole), runs)
    if partial:
        day = rollup_day.c.day
        where = or_(*(day.between(max(m, span[0]), min(month_end(m), span[1])) for m in partial))
        inside = [m for m in whole if fine] if by_bucket else []
        bucket = _month_bucket(day, inside) if inside else day
        rows += _query(read, rollup_day, bucket, where, {m: month_end(m) for m in inside})
    return rows


def _runs(whole: list[date], ranges: list[Range], group_by: str | None) -> dict[date, date]:
    """The buckets of whole months: {first month: last day}. Per month when rows are grouped
    by time; else each run of consecutive months that the same ranges hold is one bucket (the
    year of a dashboard's period and its year before come back as two rows per group, not 24).
    """
    runs: dict[date, date] = {}
    first = None
    for month in whole:
        held = [since <= month <= until for since, until in ranges]
        if (
            first is None
            or group_by in ("month", "quarter")
            or runs[first] + timedelta(days=1) != month
            or held != [since <= first <= until for since, until in ranges]
        ):
            first = month
        runs[first] = month_end(month)
    return runs


def _run_bucket(month, runs: dict[date, date]):
    """The first month of the run (`_runs`) that `month` falls in."""
    return type_coerce(case(*((month.between(f, last), f) for f, last in runs.items())), Date)


def _month_table(filters: Filters, group_by: str | None, province: bool):
    """The table of whole months: the province's per procedure and channel when every unit
    counts together; else the units' months, per procedure only when one is needed."""
    if province:
        return rollup_service_month
    by_procedure = group_by in ("service", "field", "agency") or any(
        v is not None for v in (filters.service, filters.agency, filters.field)
    )
    return rollup_month if by_procedure else rollup_unit_month


def _width(questionnaire_id: int) -> int:
    return max(rollups.layout_of(questionnaire_id).values()) + ROLLUP_LEVELS


def columns_of(questionnaire_id: int, items: Iterable[str]) -> frozenset[str]:
    """The count columns of `items` (with the responses and comments)."""
    layout = rollups.layout_of(questionnaire_id)
    slots = (ROLLUP_SLOTS[layout[i] : layout[i] + ROLLUP_LEVELS] for i in items if i in layout)
    return frozenset((*rollups.NOT_NULL, *(name for part in slots for name in part)))


def _month_bucket(day, months: list[date]):
    """`day`, or the first of its month where that month is read whole."""
    first = (
        cast(func.date_trunc("month", day), Date)
        if db.session.get_bind().dialect.name == "postgresql"
        else type_coerce(func.date(day, "start of month"), Date)
    )
    return type_coerce(
        case((or_(*(and_(day >= m, day <= month_end(m)) for m in months)), first), else_=day),
        Date,
    )


def _group_columns(table, group_by: str | None) -> list:
    if group_by in (None, "", "month", "quarter"):
        return []
    if group_by in ("field", "agency"):
        return [getattr(Service, f"{group_by}_id")]
    return [table.c[f"{group_by}_id"]]


def _one_per_row(table, keys: list) -> bool:
    """Whether the groups of `keys` are the table's own rows (one questionnaire version is
    read): then the database need not add them up, row by row and count by count."""
    named = {key.name for key in keys if getattr(key, "table", None) is table}
    return named >= {c.name for c in table.primary_key.columns} - {"questionnaire_id"}


@lru_cache(maxsize=256)
def _sums(table, stored: bool, width: int, summed: frozenset[str] | None) -> tuple:
    """The count columns of a read, each added up (or as stored), made once per shape: 0
    rather than NULL, so a row comes back as the list of its counts as it is."""
    return tuple(
        func.coalesce(table.c[name] if stored else func.sum(table.c[name]), 0)
        if summed is None or name in summed
        else literal(0)
        for name in (*rollups.NOT_NULL, *ROLLUP_SLOTS[:width], *ROLLUP_TOPICS)
    )


def topic_counts(counts: list[int]) -> dict[str, int]:
    """The comments per topic of a row's (or a sum's) counts, by topic code."""
    return {
        name[2:]: n for name, n in zip(ROLLUP_TOPICS, counts[-len(ROLLUP_TOPICS) :], strict=True)
    }


def _query(read: _Read, table, bucket, where, whole: dict[date, date]) -> list[Row]:
    groups = _group_columns(table, read.group_by)
    keys = ([bucket] if read.by_bucket else []) + groups
    # A row per stored row (the units' months by unit and month): nothing to add up.
    stored = _one_per_row(table, keys)
    sums = _sums(table, stored, read.width, read.summed)
    query = select(*keys, *sums).where(
        where,
        table.c.questionnaire_id == read.filters.questionnaire_id,
        *context_conditions(read.filters, table.c),
    )
    if read.group_by in ("field", "agency"):
        query = query.join(Service, Service.id == table.c.service_id)
    rows = []
    for row in db.session.execute(query if stored else query.group_by(*keys)).all():
        counts = list(row[len(keys) :])
        if read.by_bucket:
            first = row[0]
            rows.append(Row(first, whole.get(first, first), tuple(row[1 : len(keys)]), counts))
        else:
            rows.append(Row(*read.span, tuple(row[: len(keys)]), counts))
    return rows


def tally(rows: list[Row], since: date, until: date, key=lambda row: row.key) -> dict:
    """The summed counts of the rows inside since..until, per `key(row)`."""
    totals: dict = {}
    for row in rows:
        if since <= row.first and row.last <= until:
            k = key(row)
            found = totals.get(k)
            totals[k] = row.counts if found is None else list(map(operator.add, found, row.counts))
    return totals


def add_up(parts: Iterable[list[int]]) -> list[int] | None:
    """The sum of count lists (None when there are none)."""
    total = None
    for counts in parts:
        total = counts if total is None else list(map(operator.add, total, counts))
    return total


def items(
    questionnaire_id: int, counts: list[int], layout: dict[str, int] | None = None
) -> dict[str, dict[int, int]]:
    """Summed counts as {item: {value: answers}}, responses under RESPONSES (value 0);
    `layout`: the version's (rollups.layout_of), when it was read already."""
    result = {rollups.RESPONSES: {0: counts[0]}}
    for item, base in (layout or rollups.layout_of(questionnaire_id)).items():
        values = counts[2 + base : 2 + base + ROLLUP_LEVELS]
        result[item] = {v: n for v, n in enumerate(values, start=1) if n}
    return result
