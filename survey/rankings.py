"""Rankings of units, agencies, lĩnh vực and procedures, each against the same period a year
before, and the year-over-year table a province's goal ("this year beats last year") asks for.

A group is ranked only with at least SMALL_N (30) valid answers; smaller ones are listed after
the ranked ones, greyed and without a rank. A group with 1–4 ratings shows no figure at all
(summary.py). The year-over-year table keeps only the groups with n ≥ 30 on both sides.

When dossiers are recorded for the period (survey.planning), a group whose ratings fall short of
the sample its dossiers need (SIPAS.md §6: ±5% at 95%) is listed unranked too, with `short` set
("mẫu chưa đủ"); with no dossiers recorded the rankings are as above.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from survey import planning, rollup_query, sipas
from survey.filters import RANKED_BY, Filters
from survey.periods import minus_year
from survey.summary import Group, build_summary

KINDS = RANKED_BY  # the dashboard's tabs offer the same kinds, in this order


@dataclass(frozen=True)
class Ranked:
    key: str  # the catalogue code
    label: str
    now: sipas.Proportion  # the overall index of the period, with its interval and n
    before: sipas.Proportion  # the same days a year before
    rank: int | None  # 1 for the highest index; None when too few answers to rank
    hidden: bool = False  # 1–4 ratings: no figure is shown
    short: bool = False  # fewer ratings than its dossiers' sample needs ("mẫu chưa đủ"): unranked

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


def _short(group: Group, dossiers: dict[str, int]) -> bool:
    """Whether the group's ratings fall short of the sample its dossiers need."""
    return group.figures.responses < planning.sample_needed(dossiers.get(group.key, 0))


def rank(
    groups: list[Group], before: list[Group], dossiers: dict[str, int] | None = None
) -> list[Ranked]:
    """Groups best first with their rank, then those with too few answers or, with `dossiers`
    (handled per group code), too small a sample for them (unranked)."""
    earlier = {g.key: g.figures.overall for g in before}
    empty = sipas.Proportion(None, 0, None)
    listed = [
        (g, g.figures.overall, earlier.get(g.key, empty), _short(g, dossiers or {}))
        for g in groups
        if not g.figures.empty
    ]
    ranked = sorted(
        (item for item in listed if not item[1].small and not item[3]),
        key=lambda item: -item[1].index,
    )
    unranked = sorted(
        (item for item in listed if item[1].small or item[3]), key=lambda item: item[0].label
    )
    return [
        Ranked(g.key, g.label, now, old, position, g.hidden, short)
        for position, (g, now, old, short) in enumerate(ranked, start=1)
    ] + [Ranked(g.key, g.label, now, old, None, g.hidden, short) for g, now, old, short in unranked]


def rankings(
    filters: Filters,
    *,
    locale: str,
    kinds: tuple[str, ...] = KINDS,
    rows: dict[str, list[rollup_query.Row]] | None = None,
    dossiers: dict[str, dict[str, int]] | None = None,
) -> dict[str, list[Ranked]]:
    """The ranking of each kind of group within `filters`; `rows` are rollup rows per kind
    that were already read for the period and the year before (the dashboard's procedures).

    `dossiers`: the dossiers handled per kind and group code (planning.dossier_totals); None
    reads them for `filters`, {} ranks without them. A group with dossiers whose ratings fall
    short of planning.sample_needed is unranked with `short` True ("mẫu chưa đủ")."""
    if dossiers is None:
        dossiers = planning.dossier_totals(filters)
    before_filters = year_before(filters)
    ranges = [(filters.since, filters.until), (before_filters.since, before_filters.until)]
    result = {}
    for kind in kinds:
        found = (rows or {}).get(kind)
        if found is None:
            found = rollup_query.fetch(filters, ranges, kind)
        now = build_summary(filters, group_by=kind, locale=locale, rows=found)
        before = build_summary(before_filters, group_by=kind, locale=locale, rows=found)
        result[kind] = rank(now.groups, before.groups, dossiers.get(kind))
    return result


def compare(ranked: list[Ranked]) -> Comparison:
    """The year-over-year table: comparable groups only, sorted by change (largest fall
    first), and how many groups with answers were left out."""
    rows = sorted((r for r in ranked if r.comparable), key=lambda r: r.change)
    return Comparison(rows, len(ranked) - len(rows))
