"""Topic counts of a period and their monthly trend, for the dashboard and the report: one read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from survey import rollup_query
from survey.filters import Filters
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


def topic_figures(
    filters: Filters, trend: Filters, *, comments: int | None, labels: bool = True
) -> TopicFigures:
    """Comments per topic in `filters`' period (and their share of its `comments`), and per
    calendar month of `trend`, which covers that period, from the rollups (one read, whatever
    the number of comments): flagged ratings are left out, and a comment whose text was
    removed keeps its topics."""
    months = rollup_query.months(trend.since, trend.until)
    ranges = [(trend.since, trend.until), (filters.since, filters.until)]
    rows = rollup_query.fetch(filters, ranges, "month", items=(), topics=True)

    def counted(since: date, until: date) -> dict[str, int]:
        total = rollup_query.add_up(rollup_query.tally(rows, since, until).values())
        return rollup_query.topic_counts(total) if total else dict.fromkeys(TOPICS, 0)

    now = counted(filters.since, filters.until)
    per_month = [
        counted(max(m, trend.since), min(rollup_query.month_end(m), trend.until)) for m in months
    ]
    found = [
        TopicCount(
            topic,
            str(LABELS[topic]) if labels else topic,
            now[topic],
            now[topic] / comments if comments else None,
            tuple(month[topic] for month in per_month),
        )
        for topic in TOPICS
    ]
    return TopicFigures(tuple(months), tuple(sorted(found, key=lambda t: -t.count)))
