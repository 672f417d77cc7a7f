"""The read path: every query that lists or aggregates, returning plain data."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_date
from sqlalchemy import extract, func, select
from sqlalchemy.orm import aliased, joinedload

from survey import questionnaire, rollups, scope, sipas
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.models import CHANNELS, Agency, Answer, DailyRollup, Field, Response, Service, Unit
from survey.models import Counter as Counter_
from survey.periods import Period, PeriodError, minus_year, parse_date, preset_period
from survey.questionnaire import Questionnaire


def fold(text: str) -> str:
    """Lower-case `text` without diacritics, so 'ket hon' finds 'Kết hôn'."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@dataclass(frozen=True)
class ServiceItem:
    code: str
    national_code: str | None
    name: str


@dataclass(frozen=True)
class FieldGroup:
    code: str
    name: str
    services: list[ServiceItem]


def active_services() -> list[Service]:
    """All active services with their field and agency, in code order."""
    query = (
        select(Service)
        .filter_by(active=True)
        .options(joinedload(Service.field), joinedload(Service.agency))
        .order_by(Service.code)
    )
    return list(db.session.scalars(query))


def services_by_field(*, query: str = "", locale: str) -> list[FieldGroup]:
    """Active services grouped by lĩnh vực, filtered by every word of `query`."""
    words = fold(query).split()
    groups: dict[str, tuple[str, list[ServiceItem]]] = {}
    for svc in active_services():
        haystack = fold(
            " ".join(
                [
                    svc.name_in(locale),
                    svc.name_vi,
                    svc.code,
                    svc.national_code or "",
                    svc.field.name_in(locale),
                ]
            )
        )
        if all(word in haystack for word in words):
            item = ServiceItem(svc.code, svc.national_code, svc.name_in(locale))
            groups.setdefault(svc.field.code, (svc.field.name_in(locale), []))[1].append(item)
    result = [
        FieldGroup(code, name, sorted(items, key=lambda s: fold(s.name)))
        for code, (name, items) in groups.items()
    ]
    return sorted(result, key=lambda group: fold(group.name))


def frequent_services(kiosk, *, locale: str, limit: int = 6) -> list[ServiceItem]:
    """The services rated most at this kiosk's counter (or unit) in the last 90 days."""
    since = datetime.now(UTC).date() - timedelta(days=90)
    where = [
        DailyRollup.item == rollups.RESPONSES,
        DailyRollup.day >= since,
        DailyRollup.unit_id == kiosk.unit_id,
    ]
    if kiosk.counter_id:
        where.append(DailyRollup.counter_id == kiosk.counter_id)
    query = (
        select(Service)
        .join(DailyRollup, DailyRollup.service_id == Service.id)
        .where(*where, Service.active.is_(True))
        .group_by(Service.id)
        .order_by(func.sum(DailyRollup.count).desc())
        .limit(limit)
    )
    return [
        ServiceItem(s.code, s.national_code, s.name_in(locale)) for s in db.session.scalars(query)
    ]


def list_services(locale: str) -> list[dict]:
    """The active services as the API shows them."""
    return [
        {
            "code": s.code,
            "national_code": s.national_code,
            "name": s.name_in(locale),
            "field": s.field.code,
            "field_name": s.field.name_in(locale),
            "agency": s.agency.code,
            "agency_name": s.agency.name_in(locale),
        }
        for s in active_services()
    ]


def list_units(locale: str) -> list[dict]:
    """Centres and service points with their counters, as the API shows them."""
    units = db.session.scalars(
        select(Unit).options(joinedload(Unit.parent), joinedload(Unit.counters)).order_by(Unit.code)
    ).unique()
    return [
        {
            "code": u.code,
            "name": u.name_in(locale),
            "parent": u.parent.code if u.parent else None,
            "counters": [{"code": c.code, "name": c.name_in(locale)} for c in u.counters],
        }
        for u in units
    ]


# --- SIPAS summaries, read from the daily rollups -------------------------------------------

GROUPS = ("service", "field", "agency", "unit", "counter", "month", "quarter")


@dataclass(frozen=True)
class Filters:
    """What a summary covers; codes as in the catalogue, None for "all"."""

    since: date
    until: date
    unit: str | None = None
    agency: str | None = None
    field: str | None = None
    service: str | None = None
    counter: str | None = None
    channel: str | None = None


class FilterError(ValueError):
    """A filter that names nothing known, or a unit outside the caller's scope."""

    def __init__(self, field: str, message, *, forbidden: bool = False):
        super().__init__(str(message))
        self.field, self.message, self.forbidden = field, message, forbidden


@dataclass(frozen=True)
class Figures:
    """The SIPAS figures of one set of answers."""

    responses: int
    overall: sipas.Proportion
    overall_question: sipas.Proportion
    elements: dict[str, sipas.Proportion]
    criteria: dict[str, sipas.Criterion]
    expectations: dict[str, sipas.Proportion]

    @property
    def empty(self) -> bool:
        return self.responses == 0


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


def figures_from(q: Questionnaire, items: dict[str, Counter]) -> Figures:
    """Compute every SIPAS figure from answer counts per item (sipas.py does the arithmetic)."""
    criteria = {code: sipas.criterion(items.get(code, {})) for code in q.criteria}
    elements = {
        e["code"]: sipas.element([criteria[c["code"]] for c in e["criteria"]]) for e in q.elements
    }
    return Figures(
        responses=items.get(rollups.RESPONSES, Counter()).get(0, 0),
        overall=sipas.overall(list(elements.values())),
        overall_question=sipas.overall_question(items.get(q.overall_code, {})),
        elements=elements,
        criteria=criteria,
        expectations={
            code: sipas.expectation_share(items.get(code, {})) for code in q.expectation_codes
        },
    )


def _unit_ids(filters: Filters, visible: set[int] | None) -> set[int] | None:
    """The units a summary covers: the chosen unit and those below it, within the scope."""
    if not filters.unit:
        return visible
    unit = db.session.scalar(select(Unit).filter_by(code=filters.unit))
    if unit is None:
        raise FilterError("unit", _l("There is no unit with the code %(code)s.", code=filters.unit))
    if visible is not None and unit.id not in visible:
        raise FilterError("unit", _l("You may not see the figures of this unit."), forbidden=True)
    chosen = scope.with_descendants([unit.id])
    return chosen if visible is None else chosen & visible


def _lookup(model, field: str, code: str | None, message):
    if not code:
        return None
    found = db.session.scalar(select(model).filter_by(code=code))
    if found is None:
        raise FilterError(field, message)
    return found


def _conditions(filters: Filters, visible: set[int] | None, q: Questionnaire) -> list:
    """The WHERE clauses on the rollups for `filters` within the caller's scope."""
    if filters.since > filters.until:
        raise FilterError("from", _l("The start date must not be after the end date."))
    if filters.channel and filters.channel not in CHANNELS:
        raise FilterError("channel", _l("Unknown channel %(code)s.", code=filters.channel))
    conditions = [
        DailyRollup.day >= filters.since,
        DailyRollup.day <= filters.until,
        DailyRollup.questionnaire_id == q.id,
        DailyRollup.count != 0,
    ]
    units = _unit_ids(filters, visible)
    if units is not None:
        conditions.append(DailyRollup.unit_id.in_(units or {-1}))
    service = _lookup(
        Service,
        "service",
        filters.service,
        _l("There is no procedure with the code %(code)s.", code=filters.service),
    )
    agency = _lookup(
        Agency,
        "agency",
        filters.agency,
        _l("There is no agency with the code %(code)s.", code=filters.agency),
    )
    field = _lookup(
        Field,
        "field",
        filters.field,
        _l("There is no field with the code %(code)s.", code=filters.field),
    )
    counter = _lookup(
        Counter_,
        "counter",
        filters.counter,
        _l("There is no counter with the code %(code)s.", code=filters.counter),
    )
    if counter is not None:
        if visible is not None and counter.unit_id not in visible:
            raise FilterError(
                "counter", _l("You may not see the figures of this unit."), forbidden=True
            )
        conditions.append(DailyRollup.counter_id == counter.id)
    if service is not None:
        conditions.append(DailyRollup.service_id == service.id)
    if agency is not None:
        conditions.append(
            DailyRollup.service_id.in_(select(Service.id).filter_by(agency_id=agency.id))
        )
    if field is not None:
        conditions.append(
            DailyRollup.service_id.in_(select(Service.id).filter_by(field_id=field.id))
        )
    if filters.channel:
        conditions.append(DailyRollup.channel == filters.channel)
    return conditions


def _group_columns(group_by: str | None) -> list:
    if group_by in (None, ""):
        return []
    if group_by in ("month", "quarter"):
        return [extract("year", DailyRollup.day), extract("month", DailyRollup.day)]
    if group_by in ("field", "agency"):
        return [getattr(Service, f"{group_by}_id")]
    return [getattr(DailyRollup, f"{group_by}_id")]


def count_items(conditions: list, group_by: str | None = None) -> dict[tuple, dict[str, Counter]]:
    """Summed rollup counts: {group key: {item: Counter(value -> count)}}."""
    columns = _group_columns(group_by)
    query = select(*columns, DailyRollup.item, DailyRollup.value, func.sum(DailyRollup.count))
    if group_by in ("field", "agency"):
        query = query.join(Service, Service.id == DailyRollup.service_id)
    query = query.where(*conditions).group_by(*columns, DailyRollup.item, DailyRollup.value)
    result: dict[tuple, dict[str, Counter]] = {}
    for row in db.session.execute(query):
        key = tuple(int(v) for v in row[: len(columns)])
        if group_by == "quarter":
            key = (key[0], (key[1] - 1) // 3 + 1)
        item, value, total = row[len(columns) :]
        result.setdefault(key, {}).setdefault(item, Counter())[value] += int(total)
    return result


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
    ids = [k[0] for k in keys]
    rows = db.session.scalars(select(model).where(model.id.in_(ids))) if ids else []
    return {(row.id,): (row.code, row.name_in(locale)) for row in rows}


def _merge(parts) -> dict[str, Counter]:
    total: dict[str, Counter] = {}
    for items in parts:
        for item, counts in items.items():
            total.setdefault(item, Counter()).update(counts)
    return total


def build_summary(
    filters: Filters, *, visible: set[int] | None, group_by: str | None = None, locale: str = "vi"
) -> Summary:
    """Every figure of `filters` within the scope `visible`, optionally grouped."""
    q = questionnaire.active()
    conditions = _conditions(filters, visible, q)
    groups = []
    # Every rollup row falls in exactly one group: the total is the sum of the groups,
    # so a grouped summary reads the rollups once.
    grouped = count_items(conditions, group_by or None)
    total = _merge(grouped.values()) if group_by else grouped.get((), {})
    if group_by:
        labels = _labels(group_by, list(grouped), locale)
        for key, items in sorted(grouped.items()):
            figures = figures_from(q, items)
            hidden = _too_few(figures)
            code, label = labels.get(key, (str(key[0]), str(key[0])))
            groups.append(Group(code, label, figures_from(q, {}) if hidden else figures, hidden))
    figures = figures_from(q, total)
    if _too_few(figures):
        return Summary(filters, q, figures_from(q, {}), [], hidden=True)
    return Summary(filters, q, figures, groups)


def _too_few(figures: Figures) -> bool:
    """1 to 4 ratings: whatever the filter or grouping, a figure that could point at a person.

    A unit with a single counter, or a procedure rated once at a commune, shows a counter's
    figure as surely as a counter filter does; so the rule is on the number, not the filter,
    and a hidden group carries no count either.
    """
    return 0 < figures.responses < sipas.COUNTER_MIN_N


# --- The dashboard ------------------------------------------------------------------------

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


def _every_month(filters: Filters, visible, locale: str) -> list[Group]:
    """One group per month of `filters`, months without answers included (as gaps)."""
    q = questionnaire.active()
    found = {
        g.key: g
        for g in build_summary(filters, visible=visible, group_by="month", locale=locale).groups
    }
    period = Period(filters.since, filters.until, "custom")
    empty = figures_from(q, {})
    return [
        found.get(f"{y:04d}-{m:02d}")
        or Group(f"{y:04d}-{m:02d}", format_date(date(y, m, 1), "MM/yyyy"), empty)
        for y, m in period.months()
    ]


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


def build_dashboard(
    filters: Filters,
    *,
    visible: set[int] | None,
    locale: str,
    comments_page: int = 1,
    low_only: bool = False,
    with_comments: bool = True,
) -> Dashboard:
    """Everything the dashboard shows for `filters`, within the scope `visible`."""
    summary = build_summary(filters, visible=visible, group_by="service", locale=locale)
    rankable = [g for g in summary.groups if not g.figures.overall.small]
    trend = build_summary(
        _trend_filters(filters), visible=visible, group_by="month", locale=locale
    ).groups
    expectations = summary.questionnaire.data["expectations"]
    priorities = sorted(
        (
            (questionnaire.label(e, locale), summary.figures.expectations[e["code"]])
            for e in expectations
        ),
        key=lambda pair: (pair[1].small, -(pair[1].index or 0)),
    )
    comments, total = (
        latest_comments(
            filters, visible=visible, page=comments_page, low_only=low_only, locale=locale
        )
        if with_comments and not summary.hidden
        else ([], 0)
    )
    # One read of the year before serves both the total and the per-procedure comparison.
    year_before = build_summary(
        _year_before(filters), visible=visible, group_by="service", locale=locale
    )
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
        priorities=priorities,
        comments=comments,
        comments_total=total,
    )


def _utc_bounds(filters: Filters) -> tuple[datetime, datetime]:
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    start = datetime.combine(filters.since, time.min, zone)
    end = datetime.combine(filters.until + timedelta(days=1), time.min, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def latest_comments(
    filters: Filters, *, visible: set[int] | None, page: int, low_only: bool, locale: str
) -> tuple[list[Comment], int]:
    """One page of comments, newest first, with the same filters as the figures."""
    q = questionnaire.active()
    start, end = _utc_bounds(filters)
    overall = aliased(Answer)
    query = (
        select(Response, overall.value)
        .outerjoin(overall, (overall.response_id == Response.id) & (overall.item == q.overall_code))
        .where(
            Response.comment.is_not(None),
            Response.flag_reason.is_(None),
            Response.captured_at >= start,
            Response.captured_at < end,
        )
    )
    units = _unit_ids(filters, visible)
    if units is not None:
        query = query.where(Response.unit_id.in_(units or {-1}))
    for name, column in (("service", Service.code), ("agency", Agency.code), ("field", Field.code)):
        code = getattr(filters, name)
        if code:
            query = query.where(
                Response.service.has(
                    column == code if name == "service" else getattr(Service, name).has(code=code)
                )
            )
    if filters.counter:
        query = query.where(Response.counter.has(code=filters.counter))
    if filters.channel:
        query = query.where(Response.channel == filters.channel)
    if low_only:
        query = query.where(overall.value.in_((1, 2)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(
        query.order_by(Response.captured_at.desc(), Response.id.desc())
        .offset((page - 1) * COMMENTS_PER_PAGE)
        .limit(COMMENTS_PER_PAGE)
    )
    return [
        Comment(r.captured_at, r.service.name_in(locale), value, r.comment) for r, value in rows
    ], total


FILTER_NAMES = ("unit", "agency", "field", "service", "counter", "channel")
LINK_NAMES = ("period", "from", "to", *FILTER_NAMES, "low")
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def link_args(args) -> dict[str, str]:
    """The query parameters a dashboard link keeps (never url_for's own `_external`…)."""
    return {name: args[name] for name in LINK_NAMES if args.get(name)}


def filters_from_args(args, *, today: date, require_dates: bool = False) -> tuple[Period, Filters]:
    """Read the period and the filters from query parameters (the page's URL or the API's)."""
    bad_date = _l("Enter the date as YYYY-MM-DD, for example 2025-06-30.")
    preset = args.get("period") or ("custom" if args.get("from") or require_dates else "this-month")
    if preset == "custom":
        if require_dates and not (args.get("from") and args.get("to")):
            raise PeriodError("from", _l("Give both dates: from and to."))
        period = Period(
            parse_date(args.get("from", ""), "from", bad_date),
            parse_date(args.get("to", ""), "to", bad_date),
            "custom",
        )
    else:
        period = preset_period(preset, today)
    for field, day in (("from", period.since), ("to", period.until)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise PeriodError(field, _l("Enter a date between 2000-01-01 and 2099-12-31."))
    codes = {name: (args.get(name) or "").strip() or None for name in FILTER_NAMES}
    return period, Filters(since=period.since, until=period.until, **codes)


def check_filters(filters: Filters, *, visible: set[int] | None) -> None:
    """Raise FilterError when a filter names nothing known or lies outside the scope."""
    q = questionnaire.active()
    _conditions(filters, visible, q)


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
