"""Rankings of units, agencies, lĩnh vực and procedures, each against the same period a year
before, and the year-over-year table a province's goal ("this year beats last year") asks for.

A group is ranked only with at least SMALL_N (30) valid answers; smaller ones are listed after
the ranked ones, greyed and without a rank. A group with 1–4 ratings shows no figure at all
(summary.py). The year-over-year table keeps only the groups with n ≥ 30 on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from survey import rollup_query, sipas
from survey.filters import Filters
from survey.periods import minus_year
from survey.summary import Group, build_summary

KINDS = ("unit", "agency", "field", "service")


@dataclass(frozen=True)
class Ranked:
    key: str  # the catalogue code
    label: str
    now: sipas.Proportion  # the overall index of the period, with its interval and n
    before: sipas.Proportion  # the same days a year before
    rank: int | None  # 1 for the highest index; None when too few answers to rank
    hidden: bool = False  # 1–4 ratings: no figure is shown

    @property
    def change(self) -> float | None:
        """Points gained (negative: lost) since the same period a year before."""
        if self.now.index is None or self.before.index is None:
            return None
        return self.now.index - self.before.index

    @property
    def differs(self) -> bool | None:
        """Whether the change is larger than the two intervals (sipas.differs)."""
        return sipas.differs(self.now, self.before)

    @property
    def comparable(self) -> bool:
        """Enough answers on both sides (n ≥ 30) for the year-over-year table."""
        return not self.now.small and not self.before.small


@dataclass(frozen=True)
class Comparison:
    rows: list[Ranked]  # comparable groups, the largest fall first
    left_out: int  # groups with answers in the period that are not comparable


def year_before(filters: Filters) -> Filters:
    """The same days a year earlier."""
    return replace(filters, since=minus_year(filters.since), until=minus_year(filters.until))


def rank(groups: list[Group], before: list[Group]) -> list[Ranked]:
    """Groups best first with their rank, then those with too few answers (unranked)."""
    earlier = {g.key: g.figures.overall for g in before}
    empty = sipas.Proportion(None, 0, None)
    listed = [
        (g, g.figures.overall, earlier.get(g.key, empty)) for g in groups if not g.figures.empty
    ]
    ranked = sorted((item for item in listed if not item[1].small), key=lambda item: -item[1].index)
    small = sorted((item for item in listed if item[1].small), key=lambda item: item[0].label)
    return [
        Ranked(g.key, g.label, now, old, position, g.hidden)
        for position, (g, now, old) in enumerate(ranked, start=1)
    ] + [Ranked(g.key, g.label, now, old, None, g.hidden) for g, now, old in small]


def rankings(
    filters: Filters,
    *,
    locale: str,
    kinds: tuple[str, ...] = KINDS,
    rows: dict[str, list[rollup_query.Row]] | None = None,
) -> dict[str, list[Ranked]]:
    """The ranking of each kind of group within `filters`; `rows` are rollup rows per kind
    that were already read for the period and the year before (the dashboard's procedures)."""
    before_filters = year_before(filters)
    ranges = [(filters.since, filters.until), (before_filters.since, before_filters.until)]
    result = {}
    for kind in kinds:
        found = (rows or {}).get(kind)
        if found is None:
            found = rollup_query.fetch(filters, ranges, kind)
        now = build_summary(filters, group_by=kind, locale=locale, rows=found)
        before = build_summary(before_filters, group_by=kind, locale=locale, rows=found)
        result[kind] = rank(now.groups, before.groups)
    return result


def compare(ranked: list[Ranked]) -> Comparison:
    """The year-over-year table: comparable groups only, sorted by change (largest fall
    first), and how many groups with answers were left out."""
    rows = sorted((r for r in ranked if r.comparable), key=lambda r: r.change)
    return Comparison(rows, len(ranked) - len(rows))
