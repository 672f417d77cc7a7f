"""The dashboard: the figures of a period beside its rankings, trend, the year before and the
comments."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from survey import questionnaire, rankings, rollup_query, sipas, topics
from survey.extensions import db
from survey.filters import Filters, comment_conditions
from survey.i18n import lazy_text as _l
from survey.models import Answer, Response, Service
from survey.summary import Group, Summary, build_summary
from survey.topic_figures import TopicFigures, topic_figures
from survey.topic_models import CommentTopic

NATIONAL_REFERENCE = {2019: 84.45, 2020: 85.48, 2022: 80.08, 2023: 82.66, 2024: 83.94}
COMMENTS_PER_PAGE = 20
# The rankings' headings, in the order the page shows them (rankings.KINDS).
KIND_TITLES = {
    "unit": _l("Units"),
    "agency": _l("Agencies (departments, commune People's Committees)"),
    "field": _l("Fields (lĩnh vực)"),
    "service": _l("Procedures"),
}


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
    response_id: int = 0  # for the redaction link
    public_id: str = ""
    topics: tuple[tuple[str, str], ...] = ()  # (topic, source), survey.topics


@dataclass(frozen=True)
class Dashboard:
    summary: Summary
    overall_change: Change
    rankings: dict[str, list[rankings.Ranked]]  # per kind (rankings.KINDS), best first
    comparisons: dict[str, rankings.Comparison]  # per kind: groups with n ≥ 30 on both sides
    trend: list[Group]
    priorities: list[tuple[str, sipas.Proportion]]
    comments: list[Comment]
    comments_total: int
    comments_more: bool  # older comments on a next page
    topics: TopicFigures | None = None  # what the period's comments are about


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


def _by_catalogue(
    ranges: list[Filters], rows: list[rollup_query.Row], kind: str
) -> list[rollup_query.Row]:
    """The procedures' sums over each of `ranges`, as one row per procedure keyed by its agency
    or its lĩnh vực (`kind`): a procedure belongs to one of each, so these rankings need no
    second read of the rollups, and add up a few rows instead of every month's."""
    owner = getattr(Service, f"{kind}_id")
    owners = dict(db.session.execute(select(Service.id, owner)).all())
    return [
        rollup_query.Row(f.since, f.until, (owners[key[0]],), counts)
        for f in ranges
        for key, counts in rollup_query.tally(rows, f.since, f.until).items()
        if key[0] in owners
    ]


def _ranking(
    filters: Filters, summary: Summary, before: Summary, rows: list[rollup_query.Row], **how: str
) -> list[rankings.Ranked]:
    """The groups of `kind` ranked: the procedures from the summary's own groups; agencies and
    lĩnh vực from the procedures' sums; units from their months over all procedures, for both
    periods at once, adding up only the criteria's counts. `how`: the kind and the locale."""
    kind = how["kind"]
    if kind == "service":
        return rankings.rank(summary.groups, before.groups)
    if kind == "unit":
        ranges = [(f.since, f.until) for f in (filters, before.filters)]
        found = rollup_query.fetch(filters, ranges, "unit", items=summary.questionnaire.criteria)
    else:
        found = _by_catalogue([filters, before.filters], rows, kind)
    found = rankings.rankings(filters, locale=how["locale"], kinds=(kind,), rows={kind: found})
    return found[kind]


def priorities(summary: Summary, locale: str) -> list[tuple[str, sipas.Proportion]]:
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
    ranked_by: str = "unit",
    topic: str | None = None,
    now: datetime | None = None,
) -> Dashboard:
    """Everything the dashboard shows for `filters`, with the ranking of one kind of group
    (`ranked_by`, a tab of the page); with `now`, the untagged comments of the trend's months
    are tagged first (survey.topics), so the topic counts are whole."""
    trend_filters, before_filters = _trend_filters(filters), rankings.year_before(filters)
    if now is not None:
        topics.tag_pending(trend_filters, now=now)
    # One read of the rollups serves the period and the year before, a row per procedure and
    # period; the trend reads its months over all procedures together.
    ranges = [(f.since, f.until) for f in (filters, before_filters)]
    rows = rollup_query.fetch(filters, ranges, "service")
    summary = build_summary(filters, group_by="service", locale=locale, rows=rows)
    trend = build_summary(trend_filters, group_by="month", locale=locale).groups
    year_before = build_summary(before_filters, group_by="service", locale=locale, rows=rows)
    before = year_before.figures.overall
    shown = not (summary.hidden or summary.figures.empty)
    how = {"kind": ranked_by, "locale": locale}
    ranked = {ranked_by: _ranking(filters, summary, year_before, rows, **how)} if shown else {}
    comments, total = (
        latest_comments(
            filters,
            page=comments_page,
            low_only=low_only,
            locale=locale,
            known=summary,
            topic=topic,
        )
        if with_comments and not summary.hidden
        else ([], 0)
    )
    return Dashboard(
        summary=summary,
        overall_change=Change(
            "", summary.figures.overall, before, sipas.differs(summary.figures.overall, before)
        ),
        rankings=ranked,
        comparisons={kind: rankings.compare(listed) for kind, listed in ranked.items()},
        trend=trend,
        priorities=priorities(summary, locale),
        comments=comments,
        comments_total=total,
        comments_more=comments_page * COMMENTS_PER_PAGE < total,
        topics=None
        if summary.hidden
        else topic_figures(filters, trend_filters, comments=summary.comments),
    )


def latest_comments(
    filters: Filters,
    *,
    page: int,
    low_only: bool,
    locale: str,
    known: Summary | None = None,
    topic: str | None = None,
) -> tuple[list[Comment], int]:
    """One page of comments, newest first, from the answers the figures of `filters` count
    (about `topic` only, when given), each with its topics; the count of all of them comes from
    `known`, the summary of `filters`, when it was read."""
    q = questionnaire.by_id(filters.questionnaire_id)
    overall = aliased(Answer)
    query = (
        select(Response.id, Response.public_id, Response.captured_at, Response.comment)
        .add_columns(Service, overall.value)
        .join(Service, Service.id == Response.service_id)
        .outerjoin(overall, (overall.response_id == Response.id) & (overall.item == q.overall_code))
        .where(*comment_conditions(filters))
    )
    if low_only:
        query = query.where(overall.value.in_((1, 2)))
    if topic:
        about = select(CommentTopic.response_id).where(CommentTopic.topic == topic)
        query = query.where(Response.id.in_(about))
    total = None if low_only or topic or known is None else known.comments
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(
        query.order_by(Response.captured_at.desc(), Response.id.desc())
        .offset((page - 1) * COMMENTS_PER_PAGE)
        .limit(COMMENTS_PER_PAGE)
    ).all()
    about = topics.topics_of(row[0] for row in rows)
    return [
        Comment(moment, service.name_in(locale), value, text, rid, public_id, about[rid])
        for rid, public_id, moment, text, service, value in rows
    ], total
