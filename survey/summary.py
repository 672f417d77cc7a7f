"""SIPAS figures read from the rollups, and their CSV rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from flask import g
from flask_babel import format_date
from sqlalchemy import select

from survey import questionnaire, rollup_query, rollups, sipas
from survey.extensions import db
from survey.filters import Filters
from survey.models import ROLLUP_LEVELS, Agency, Field, Service, Unit
from survey.models import Counter as Counter_
from survey.questionnaire import Questionnaire


class Figures:
    """The SIPAS figures of one set of answer counts, each computed when first read (a
    dashboard shows only the overall index of most of its groups)."""

    FIELDS = ("responses", "overall", "overall_question", "elements", "criteria", "expectations")

    def __init__(
        self, q: Questionnaire, items: dict[str, Counter] | None, counts: list[int] | None = None
    ) -> None:
        self._q, self._counts = q, counts
        if items is not None or counts is None:
            self._items = items or {}
        else:  # read now: a figure may be read after the app's context has ended
            self._layout = rollups.layout_of(q.id)

    @cached_property
    def _items(self) -> dict[str, dict[int, int]]:
        return rollup_query.items(self._q.id, self._counts, self._layout)

    @property
    def responses(self) -> int:
        if self._counts is not None:
            return self._counts[0]
        return self._items.get(rollups.RESPONSES, Counter()).get(0, 0)

    @property
    def empty(self) -> bool:
        return self.responses == 0

    @cached_property
    def criteria(self) -> dict[str, sipas.Criterion]:
        return {code: sipas.criterion(self._items.get(code, {})) for code in self._q.criteria}

    def _shares(self) -> dict[str, sipas.Proportion]:
        """P_c of every criterion; from a rollup's count list, read off its columns (the
        satisfied are its 4th and 5th level) without building the answers per item."""
        if "_items" in self.__dict__:
            return {c: sipas.criterion_share(self._items.get(c, {})) for c in self._q.criteria}
        layout, counts = self._layout, self._counts
        shares = {}
        for code in self._q.criteria:
            first = 2 + layout[code]  # after the responses and comments
            levels = counts[first : first + ROLLUP_LEVELS]
            shares[code] = sipas.satisfied_share(levels[3] + levels[4], sum(levels))
        return shares

    @cached_property
    def elements(self) -> dict[str, sipas.Proportion]:
        shares = self.__dict__.get("criteria") or self._shares()
        return {
            e["code"]: sipas.element([shares[c["code"]] for c in e["criteria"]])
            for e in self._q.elements
        }

    @cached_property
    def overall(self) -> sipas.Proportion:
        return sipas.overall(list(self.elements.values()))

    @cached_property
    def overall_question(self) -> sipas.Proportion:
        return sipas.overall_question(self._items.get(self._q.overall_code, {}))

    @cached_property
    def expectations(self) -> dict[str, sipas.Proportion]:
        codes = self._q.expectation_codes
        return {code: sipas.expectation_share(self._items.get(code, {})) for code in codes}

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Figures) and self._values() == other._values()

    __hash__ = None  # mutable caches: not a dict key

    def __repr__(self) -> str:
        return f"Figures(responses={self.responses}, overall={self.overall})"


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    figures: Figures
    hidden: bool = False  # a counter with too few answers to be shown on its own


@dataclass(frozen=True)
class Summary:
    filters: Filters
    questionnaire: Questionnaire
    figures: Figures
    groups: list[Group]
    hidden: bool = False  # one counter with too few ratings: nothing that could point at a person
    comments: int = 0  # counted responses with a comment


def figures_from(q: Questionnaire, items: dict[str, Counter]) -> Figures:
    """Every SIPAS figure of answer counts per item (sipas.py does the arithmetic)."""
    return Figures(q, items)


def figures_of(q: Questionnaire, counts: list[int] | None) -> Figures:
    """Every SIPAS figure of a rollup's summed counts (rollup_query.Row.counts)."""
    return Figures(q, None, counts) if counts else Figures(q, {})


def _group_key(group_by: str | None):
    """The group of a rollup row: its group column, or its month or quarter."""
    if group_by == "month":
        return lambda row: (row.first.year, row.first.month)
    if group_by == "quarter":
        return lambda row: (row.first.year, (row.first.month - 1) // 3 + 1)
    return lambda row: row.key


def count_items(
    filters: Filters, rows: list[rollup_query.Row], group_by: str | None = None
) -> dict[tuple, list[int]]:
    """The summed counts of `rows` inside the period of `filters`, per group."""
    return rollup_query.tally(rows, filters.since, filters.until, _group_key(group_by))


def _labels(group_by: str, keys: list[tuple], locale: str) -> dict[tuple, tuple[str, str]]:
    """(code, label) of each group key."""
    if group_by == "month":
        return {
            k: (f"{k[0]:04d}-{k[1]:02d}", format_date(date(k[0], k[1], 1), "MM/yyyy")) for k in keys
        }
    if group_by == "quarter":
        return {k: (f"{k[0]:04d}-Q{k[1]}", f"Q{k[1]}/{k[0]}") for k in keys}
    model = {
        "service": Service,
        "field": Field,
        "agency": Agency,
        "unit": Unit,
        "counter": Counter_,
    }[group_by]
    names = _names(model, [k[0] for k in keys], locale)
    return {(key,): names[key] for key in names}


def _names(model, ids: list[int], locale: str) -> dict[int, tuple[str, str]]:
    """(code, name) of catalogue rows by id, each read once per request or command (a
    dashboard names the same groups for the period, the year before and the rankings)."""
    known = g.setdefault("survey_names", {}).setdefault((model.__tablename__, locale), {})
    missing = [i for i in ids if i not in known]
    if missing:
        name = getattr(model, f"name_{locale}", model.name_vi)
        query = select(model.id, model.code, name, model.name_vi).where(model.id.in_(missing))
        for row_id, code, local, vietnamese in db.session.execute(query):
            known[row_id] = (code, local or vietnamese)
    return {i: known[i] for i in ids if i in known}


def build_summary(
    filters: Filters,
    *,
    group_by: str | None = None,
    locale: str = "vi",
    rows: list[rollup_query.Row] | None = None,
) -> Summary:
    """Every figure of `filters`, optionally grouped; from `rows` when they were read already."""
    q = questionnaire.by_id(filters.questionnaire_id)
    if rows is None:
        rows = rollup_query.fetch(filters, [(filters.since, filters.until)], group_by or None)
    groups = []
    # Every rollup row falls in exactly one group: the total is the sum of the groups,
    # so a grouped summary reads the rollups once.
    grouped = count_items(filters, rows, group_by or None)
    total = rollup_query.add_up(grouped.values())
    if group_by:
        labels = _labels(group_by, list(grouped), locale)
        for key, counts in sorted(grouped.items()):
            figures = figures_of(q, counts)
            hidden = _too_few(figures)
            code, label = labels.get(key, (str(key[0]), str(key[0])))
            groups.append(Group(code, label, figures_from(q, {}) if hidden else figures, hidden))
    figures = figures_of(q, total)
    if _too_few(figures):
        return Summary(filters, q, figures_from(q, {}), [], hidden=True)
    return Summary(filters, q, figures, groups, comments=total[1] if total else 0)


def _too_few(figures: Figures) -> bool:
    """1 to 4 ratings: whatever the filter or grouping, a figure that could point at a person.

    A unit with a single counter, or a procedure rated once at a commune, shows a counter's
    figure as surely as a counter filter does; so the rule is on the number, not the filter,
    and a hidden group carries no count either.
    """
    return 0 < figures.responses < sipas.COUNTER_MIN_N


def export_rows(result: Summary) -> list[list]:
    """The rows of the CSV export: one per procedure, then the total."""
    q = result.questionnaire
    elements = [e["code"] for e in q.elements]
    header = [
        "code",
        "procedure",
        "responses",
        "index",
        "ci95_low",
        "ci95_high",
        "n",
        "overall_question",
        *elements,
    ]

    def row(code: str, label: str, f: Figures) -> list:
        ci = f.overall.ci95 or (None, None)
        return [
            spreadsheet_text(code),
            spreadsheet_text(label),
            f.responses,
            _round(f.overall.index),
            _round(ci[0]),
            _round(ci[1]),
            f.overall.n,
            _round(f.overall_question.index),
            *(_round(f.elements[e].index) for e in elements),
        ]

    rows = [header] + [row(g.key, g.label, g.figures) for g in result.groups]
    return rows + [row("*", "", result.figures)]


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ or control character would make a
    cell a formula (CSV injection), so such text gets a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else text


def _round(value: float | None) -> float | str:
    return "" if value is None else round(value, 2)
