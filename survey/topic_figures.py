"""Topic counts of a period and their monthly trend, for the dashboard and the report: one read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, func, literal, select

from survey.extensions import db
from survey.filters import Filters, context_conditions, utc_bounds
from survey.models import Response
from survey.topic_models import NO_TOPIC, CommentTopic
from survey.topics import LABELS, TOPICS


@dataclass(frozen=True)
class TopicCount:
    topic: str
    label: str
    count: int  # comments about it in the period
    share: float | None  # of the period's comments (0–1)
    months: tuple[int, ...]  # comments about it per month of the trend, oldest first


@dataclass(frozen=True)
class TopicFigures:
    months: tuple[date, ...]  # the first day of each month of the trend
    topics: tuple[TopicCount, ...]  # the most frequent first

    @property
    def empty(self) -> bool:
        return not any(t.count or any(t.months) for t in self.topics)


def month_starts(since: date, until: date) -> list[date]:
    """The first day of each calendar month from `since`'s to `until`'s."""
    months, day = [], since.replace(day=1)
    while day <= until:
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def _instant(day: date) -> datetime:
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    return datetime.combine(day, time.min, zone)


def topic_figures(
    filters: Filters, trend: Filters, *, comments: int | None, labels: bool = True
) -> TopicFigures:
    """Comments per topic in `filters`' period (and their share of its `comments`), and per
    calendar month of `trend`, which covers that period; flagged ratings are left out, and a
    comment whose text was removed keeps its topics."""
    months = month_starts(trend.since, trend.until)
    start, end = utc_bounds(trend)
    since, until = utc_bounds(filters)
    bounds = [(Response.captured_at < _instant(m), i - 1) for i, m in enumerate(months[1:], 1)]
    bucket = case(*bounds, else_=len(months) - 1) if bounds else literal(0)
    inner = (
        select(
            CommentTopic.topic.label("topic"),
            bucket.label("month"),
            case(
                ((Response.captured_at >= since) & (Response.captured_at < until), 1), else_=0
            ).label("now"),
        )
        .join(Response, Response.id == CommentTopic.response_id)
        .where(
            CommentTopic.topic != NO_TOPIC,
            Response.flag_reason.is_(None),
            Response.captured_at >= start,
            Response.captured_at < end,
            Response.questionnaire_id == filters.questionnaire_id,
            *context_conditions(filters, Response),
        )
        .subquery()
    )
    query = select(inner.c.topic, inner.c.month, func.count(), func.sum(inner.c.now)).group_by(
        inner.c.topic, inner.c.month
    )
    per_month = {t: [0] * len(months) for t in TOPICS}
    now = dict.fromkeys(TOPICS, 0)
    for topic, month, count, in_period in db.session.execute(query):
        if topic in per_month:
            per_month[topic][month] += count
            now[topic] += int(in_period or 0)
    found = [
        TopicCount(
            topic,
            str(LABELS[topic]) if labels else topic,
            now[topic],
            now[topic] / comments if comments else None,
            tuple(per_month[topic]),
        )
        for topic in TOPICS
    ]
    return TopicFigures(tuple(months), tuple(sorted(found, key=lambda t: -t.count)))
