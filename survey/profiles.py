"""Who is satisfied: the SIPAS index broken down by each respondent profile item.

The counts come from `rollup_profile` (per local month, unit, profile item and option;
survey/rollups.py keeps it in step): its rows are bounded by months × units × options whatever
the number of ratings. The whole months of a period are read from it; the days of a month only
partly inside the period (custom dates, the reporting cut-off) are counted from the raw responses
of those days only, so that part is bounded by two months of responses. A filter on a procedure,
agency, field, channel or counter, which the rollup does not keep, counts the raw responses it
selects (in one statement, on the indexes of the responses).

Privacy: the profile answers are shown only as these totals. A group with 1 to 4 ratings is
hidden (no figure and no count), like every group of the dashboard; n < 30 is shown greyed.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, literal, or_, select

from survey import questionnaire, rollup_query, rollup_rebuild, rollups, sipas
from survey.extensions import db
from survey.filters import Filters, context_conditions, utc_bounds
from survey.models import (
    ROLLUP_LEVELS,
    ROLLUP_SLOTS,
    Response,
    rollup_profile,
    rollup_province_profile,
)
from survey.summary import figures_of

Counts = dict[tuple[str, str], list[int]]


@dataclass(frozen=True)
class Group:
    """One option of a profile item: its index with interval and n, unless too few rated."""

    code: str
    label: str
    responses: int | None  # None: hidden (1 to 4 ratings), like its figure
    overall: sipas.Proportion | None

    @property
    def hidden(self) -> bool:
        return self.overall is None

    @property
    def small(self) -> bool:
        return self.overall is not None and self.overall.small


@dataclass(frozen=True)
class Item:
    """A profile item ("Dân tộc") and its options, in questionnaire order."""

    code: str
    label: str
    groups: list[Group]


def breakdown(filters: Filters, locale: str) -> list[Item]:
    """Per profile item, per option: the overall index, its interval and n, for `filters`
    (every dashboard filter and the caller's scope, which `filters.units` holds)."""
    q = questionnaire.by_id(filters.questionnaire_id)
    entries = q.data.get("profile") or []
    if not entries:
        return []
    counts = count_options(filters)
    items = []
    for entry in entries:
        groups = []
        for option in entry["options"]:
            found = counts.get((entry["code"], option["code"]))
            if found is None or not found[0]:
                continue
            figures = figures_of(q, found)
            hidden = figures.responses < sipas.COUNTER_MIN_N
            label = questionnaire.label(option, locale)
            overall = None if hidden else figures.overall
            groups.append(
                Group(option["code"], label, None if hidden else figures.responses, overall)
            )
        items.append(Item(entry["code"], questionnaire.label(entry, locale), groups))
    return items


def count_options(filters: Filters) -> Counts:
    """The summed counts (responses, comments, then the count columns) per (item, option)."""
    months = _whole_months(filters.since, filters.until)
    if _narrowed(filters) or not months:
        return _raw(filters, [(filters.since, filters.until)])
    edges = [(filters.since, months[0] - timedelta(days=1))]
    edges.append((rollup_query.month_end(months[-1]) + timedelta(days=1), filters.until))
    counts = _from_rollup(filters, months)
    for item, extra in _raw(filters, [e for e in edges if e[0] <= e[1]]).items():
        counts[item] = list(map(operator.add, counts.get(item, [0] * len(extra)), extra))
    return counts


def _narrowed(filters: Filters) -> bool:
    """Whether `filters` choose a procedure, agency, field, channel or counter, which
    rollup_profile does not keep: then the raw responses they select are counted."""
    chosen = (filters.service, filters.agency, filters.field, filters.channel, filters.counter)
    return any(value is not None and value != "" for value in chosen)


def _whole_months(since: date, until: date) -> list[date]:
    """The first days of the months entirely inside since..until."""
    month = since if since.day == 1 else rollup_query.month_end(since) + timedelta(days=1)
    months = []
    while rollup_query.month_end(month) <= until:
        months.append(month)
        month = rollup_query.month_end(month) + timedelta(days=1)
    return months


def _width(filters: Filters) -> int:
    return max(rollups.layout_of(filters.questionnaire_id).values()) + ROLLUP_LEVELS


def _from_rollup(filters: Filters, months: list[date]) -> Counts:
    # Every unit together: the province's months (a few hundred rows a year).
    table = rollup_province_profile if filters.units is None else rollup_profile
    columns = ("responses", "comments", *ROLLUP_SLOTS[: _width(filters)])
    # The breakdown shows the overall index: only the criteria's counts are added up.
    criteria = questionnaire.by_id(filters.questionnaire_id).criteria
    summed = rollup_query.columns_of(filters.questionnaire_id, criteria)
    sums = [func.sum(table.c[c]) if c in summed else literal(0) for c in columns]
    query = (
        select(table.c.item, table.c.option, *sums)
        .where(
            table.c.month.in_(months),
            table.c.questionnaire_id == filters.questionnaire_id,
            *context_conditions(filters, table.c),
        )
        .group_by(table.c.item, table.c.option)
    )
    return {(r[0], r[1]): [n or 0 for n in r[2:]] for r in db.session.execute(query)}


def _raw(filters: Filters, ranges: list[tuple[date, date]]) -> Counts:
    """The counts of the raw responses captured within `ranges` (local days)."""
    q = questionnaire.by_id(filters.questionnaire_id)
    items = [entry["code"] for entry in q.data.get("profile") or []]
    if not ranges or not items:
        return {}
    counts: Counts = {}
    for item, option, slot, n in db.session.execute(_raw_query(filters, ranges, items)):
        row = counts.setdefault((item, option), [0] * (2 + _width(filters)))
        row[0] += n if slot < 0 else 0  # a response (-1), or one with a comment (-2)
        row[1] += n if slot == -2 else 0
        if slot >= 0:
            row[2 + slot] += n
    return counts


def _raw_query(filters: Filters, ranges: list[tuple[date, date]], items: list[str]):
    """The counts per (item, option, slot) of the responses of `ranges` within `filters`."""
    spans = []
    for since, until in ranges:
        start, end = utc_bounds(Filters(since, until, filters.questionnaire_id))
        spans.append((Response.captured_at >= start) & (Response.captured_at < end))
    where = [
        Response.flag_reason.is_(None),
        Response.questionnaire_id == filters.questionnaire_id,
        or_(*spans),
        *context_conditions(filters, Response),
    ]
    version = filters.questionnaire_id
    return rollup_rebuild.profile_counts(where, {version: rollups.layout_of(version)}, items, [])


def breakdown_json(filters: Filters, items: list[Item]) -> dict:
    """The API's document of a breakdown: a hidden group carries no figure and no count."""

    def group(g: Group) -> dict:
        if g.overall is None:
            return {"key": g.code, "label": g.label, "hidden": True}
        ci = [round(v, 4) for v in g.overall.ci95] if g.overall.ci95 else None
        index = None if g.overall.index is None else round(g.overall.index, 4)
        overall = {"index": index, "ci95": ci, "n": g.overall.n}
        return {"key": g.code, "label": g.label, "responses": g.responses, "overall": overall}

    return {
        "period": filters.period,
        "from": filters.since.isoformat(),
        "to": filters.until.isoformat(),
        "questionnaire": questionnaire.by_id(filters.questionnaire_id).code,
        "items": [
            {"key": i.code, "label": i.label, "groups": [group(g) for g in i.groups]} for i in items
        ],
    }
