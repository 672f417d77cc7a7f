"""The dashboard: the figures of a period beside its trend, the year before and the comments."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from survey import questionnaire, rollup_query, sipas
from survey.extensions import db
from survey.filters import Filters, comment_conditions
from survey.models import Answer, Response, Service
from survey.periods import minus_year
from survey.summary import Group, Summary, build_summary

NATIONAL_REFERENCE = {2019: 84.45, 2020: 85.48, 2022: 80.08, 2023: 82.66, 2024: 83.94}
COMMENTS_PER_PAGE = 20


@dataclass(frozen=True)
class Change:
    label: str
    now: sipas.Proportion
    before: sipas.Proportion
    differs: bool | None


@dataclass(frozen=True)
class Comment:
    captured_at: datetime
    service: str
    overall: int | None
    text: str


@dataclass(frozen=True)
class Dashboard:
    summary: Summary
    overall_change: Change
    ranked: list[Group]
    small: list[Group]
    trend: list[Group]
    changes: list[Change]
    priorities: list[tuple[str, sipas.Proportion]]
    comments: list[Comment]
    comments_total: int
    comments_more: bool  # older comments on a next page


def national_reference() -> tuple[int, float]:
    """The latest published national SIPAS (year, percent)."""
    year = max(NATIONAL_REFERENCE)
    return year, NATIONAL_REFERENCE[year]


def _trend_filters(filters: Filters) -> Filters:
    """The months shown in the trend: the period, or at least the 12 months ending with it."""
    if filters.until.month == 12:
        first = date(filters.until.year, 1, 1)
    else:
        first = date(filters.until.year - 1, filters.until.month + 1, 1)
    return replace(filters, since=min(filters.since, first))


def _year_before(filters: Filters) -> Filters:
    return replace(filters, since=minus_year(filters.since), until=minus_year(filters.until))


def _changes(summary: Summary, before: Summary) -> list[Change]:
    """Per procedure: this period against the same period a year before."""
    earlier = {g.key: g for g in before.groups}
    changes = []
    for group in summary.groups:
        old = earlier.get(group.key)
        if old is not None:
            changes.append(
                Change(
                    group.label,
                    group.figures.overall,
                    old.figures.overall,
                    sipas.differs(group.figures.overall, old.figures.overall),
                )
            )
    return sorted(changes, key=lambda c: (c.now.index or 0) - (c.before.index or 0))


def _priorities(summary: Summary, locale: str) -> list[tuple[str, sipas.Proportion]]:
    """The expectations, the most wanted first (those with few answers last)."""
    return sorted(
        (
            (questionnaire.label(e, locale), summary.figures.expectations[e["code"]])
            for e in summary.questionnaire.data["expectations"]
        ),
        key=lambda pair: (pair[1].small, -(pair[1].index or 0)),
    )


def build_dashboard(
    filters: Filters,
    *,
    locale: str,
    comments_page: int = 1,
    low_only: bool = False,
    with_comments: bool = True,
) -> Dashboard:
    """Everything the dashboard shows for `filters`."""
    trend_filters, before_filters = _trend_filters(filters), _year_before(filters)
    # One read of the rollups serves the period, its trend and the year before.
    ranges = [(f.since, f.until) for f in (filters, trend_filters, before_filters)]
    rows = rollup_query.fetch(filters, ranges, "service")
    summary = build_summary(filters, group_by="service", locale=locale, rows=rows)
    rankable = [g for g in summary.groups if not g.figures.overall.small]
    trend = build_summary(trend_filters, group_by="month", locale=locale, rows=rows).groups
    comments, total = (
        latest_comments(
            filters,
            page=comments_page,
            low_only=low_only,
            locale=locale,
            total=None if low_only else summary.comments,
        )
        if with_comments and not summary.hidden
        else ([], 0)
    )
    year_before = build_summary(before_filters, group_by="service", locale=locale, rows=rows)
    before = year_before.figures.overall
    return Dashboard(
        summary=summary,
        overall_change=Change(
            "", summary.figures.overall, before, sipas.differs(summary.figures.overall, before)
        ),
        ranked=sorted(rankable, key=lambda g: g.figures.overall.index),
        small=[g for g in summary.groups if g.figures.overall.small],
        trend=trend,
        changes=_changes(summary, year_before),
        priorities=_priorities(summary, locale),
        comments=comments,
        comments_total=total,
        comments_more=comments_page * COMMENTS_PER_PAGE < total,
    )


def latest_comments(
    filters: Filters, *, page: int, low_only: bool, locale: str, total: int | None = None
) -> tuple[list[Comment], int]:
    """One page of comments, newest first, from the answers the figures of `filters` count;
    `total`, when the rollups gave it, spares counting them."""
    q = questionnaire.by_id(filters.questionnaire_id)
    overall = aliased(Answer)
    query = (
        select(Response.captured_at, Response.comment, Service, overall.value)
        .join(Service, Service.id == Response.service_id)
        .outerjoin(overall, (overall.response_id == Response.id) & (overall.item == q.overall_code))
        .where(*comment_conditions(filters))
    )
    if low_only:
        query = query.where(overall.value.in_((1, 2)))
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(
        query.order_by(Response.captured_at.desc(), Response.id.desc())
        .offset((page - 1) * COMMENTS_PER_PAGE)
        .limit(COMMENTS_PER_PAGE)
    )
    return [
        Comment(moment, service.name_in(locale), value, text)
        for moment, text, service, value in rows
    ], total
