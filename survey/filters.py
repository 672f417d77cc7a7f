"""The filters of the dashboard, its CSV export and the summary API: one form, one resolution.

The form reads the query string; `resolve` turns it, once, into a frozen `Filters` (catalogue
codes become ids, the period becomes dates, the caller's scope becomes a set of units). Both
the rollup conditions of the figures and the conditions of the comments are built from it, so
the comments always match the figures (questionnaire version included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import Field, SelectField, StringField
from wtforms.validators import ValidationError

from survey import catalogue, periods, questionnaire, scope
from survey.forms import QueryForm, choices
from survey.i18n import lazy_text as _l
from survey.models import CHANNELS, Response, Service
from survey.period_labels import CHANNEL_LABELS, period_choices

GROUPS = ("service", "field", "agency", "unit", "counter", "month", "quarter")
CODE_NAMES = ("unit", "agency", "field", "service", "counter")
LINK_NAMES = ("period", "from", "to", *CODE_NAMES, "channel", "low", "by")
RANKED_BY = ("unit", "agency", "field", "service")  # the kinds of rankings (rankings.KINDS)
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
MAX_PAGE = 100_000  # past any real list: a bigger `page=` would only overflow the OFFSET
# Looked up in this order (the first unknown code is the one reported), each with its message.
UNKNOWN_CODE = {
    "unit": lambda code: _l("There is no unit with the code %(code)s.", code=code),
    "service": lambda code: _l("There is no procedure with the code %(code)s.", code=code),
    "agency": lambda code: _l("There is no agency with the code %(code)s.", code=code),
    "field": lambda code: _l("There is no field with the code %(code)s.", code=code),
    "counter": lambda code: _l("There is no counter with the code %(code)s.", code=code),
}


@dataclass(frozen=True)
class Filters:
    """What a summary covers, resolved: ids from the catalogue, None for "all"."""

    since: date
    until: date
    questionnaire_id: int
    period: str = ""  # the named period ("2026-Q3"), or "from..to" for custom dates
    units: frozenset[int] | None = None  # the chosen unit and those below, within the scope
    service: int | None = None
    agency: int | None = None
    field: int | None = None
    counter: int | None = None
    channel: str | None = None


class FilterError(ValueError):
    """A filter that cannot be used; `forbidden` when it names a unit outside the scope."""

    def __init__(self, field: str, message, *, forbidden: bool = False):
        super().__init__(str(message))
        self.field, self.message, self.forbidden = field, message, forbidden


def everything(since: date, until: date) -> Filters:
    """Every answer to the active questionnaire between two days, in every unit."""
    return Filters(since=since, until=until, questionnaire_id=questionnaire.active().id)


def _blank_to_none(value: str | None) -> str | None:
    return (value or "").strip() or None


class PageField(Field):
    """A page number: anything else reads as page 1, and a huge one as MAX_PAGE."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            self.data = min(max(int(valuelist[0]), 1), MAX_PAGE)
        except (IndexError, ValueError):
            self.data = 1


def _code_field(label, name: str) -> SelectField:
    # Choices only draw the page's <select>; resolve() says what an unknown code is.
    return SelectField(label, validate_choice=False, filters=[_blank_to_none], id=f"f-{name}")


class SummaryFilterForm(QueryForm):
    """The period and filters of the dashboard, its export and the summary API (a GET form)."""

    api = False  # True for the summary API: dates required, group_by read

    group_by = SelectField(validate_choice=False, filters=[_blank_to_none])  # the API's only
    period = SelectField(_l("Period"), validate_choice=False, id="f-period")
    since = StringField(
        _l("From (custom dates, dd/mm/yyyy)"),
        name="from",
        id="f-from",
        render_kw={"placeholder": "dd/mm/yyyy", "inputmode": "numeric", "size": 10},
    )
    until = StringField(
        _l("To (custom dates, dd/mm/yyyy)"),
        name="to",
        id="f-to",
        render_kw={"placeholder": "dd/mm/yyyy", "inputmode": "numeric", "size": 10},
    )
    unit = _code_field(_l("Unit"), "unit")
    agency = _code_field(_l("Agency"), "agency")
    field = _code_field(_l("Field (lĩnh vực)"), "field")
    service = _code_field(_l("Procedure"), "service")
    counter = _code_field(_l("Counter"), "counter")
    channel = SelectField(
        _l("Channel"),
        choices=choices([("", _l("All")), *((code, CHANNEL_LABELS[code]) for code in CHANNELS)]),
        validate_choice=False,
        filters=[_blank_to_none],
        id="f-channel",
    )
    low = StringField()
    page = PageField()
    by = SelectField(validate_choice=False, filters=[lambda v: v if v in RANKED_BY else "unit"])

    @classmethod
    def from_query(cls, *, api: bool = False) -> SummaryFilterForm:
        """The form filled from this request's query string. Pages take dates as dd/mm/yyyy,
        the API as ISO dates; without a period the API requires both dates."""
        form = cls()
        form.api = api
        if not api:
            del form.group_by
        form.period.data = form.period.data or (
            "custom" if form.since.data or api else "this-month"
        )
        form.period.choices = period_choices(centre_today(), _cutoff())
        return form

    def day(self, field) -> date | None:
        """A date field's day: ISO in the API, dd/mm/yyyy on a page."""
        if self.api:
            try:
                return date.fromisoformat(field.data or "")
            except ValueError:
                return None
        return periods.parse_local_date(field.data)

    def offer(self, names: dict[str, list[tuple[str, str]]]) -> None:
        """Fill the <select>s of the catalogue codes (from catalogue.filter_choices)."""
        for name in CODE_NAMES:
            self[name].choices = choices([("", _("All")), *names[name]])

    @property
    def custom(self) -> bool:
        return self.period.data == "custom"

    @property
    def low_only(self) -> bool:
        return self.low.data == "1"

    def link_args(self) -> dict[str, str]:
        """The query parameters a dashboard link keeps (never url_for's own `_external`…)."""
        return {f.name: _raw(f) for f in self if f.name in LINK_NAMES and _raw(f)}

    def validate_group_by(self, field) -> None:
        if field.data and field.data not in GROUPS:
            names = ", ".join(GROUPS)
            raise ValidationError(_("group_by must be one of: %(names)s.", names=names))

    def validate_period(self, field) -> None:
        if self.custom:
            return
        period = periods.named_period(field.data, centre_today(), _cutoff())
        if period is not None and not (FIRST_DAY <= period.since and period.until <= LAST_DAY):
            raise ValidationError(_l("Enter a date between 01/01/2000 and 31/12/2099."))
        if period is None:
            raise ValidationError(
                _l(
                    "Unknown period %(period)s. Use for example 2026, 2026-H1, 2026-9M, "
                    "2026-Q3, 2026-M07, last-quarter, last-year, or custom dates.",
                    period=field.data,
                )
            )

    def validate_since(self, field) -> None:
        if not self.custom:
            return
        if self.api and not (self.since.data and self.until.data):
            raise ValidationError(_l("Give both dates: from and to."))
        since, until = self.day(field), self.day(self.until)
        self._check_day(since)
        if until is not None and since > until:
            raise ValidationError(_l("The start date must not be after the end date."))

    def validate_until(self, field) -> None:
        if self.custom:
            self._check_day(self.day(field))

    def _check_day(self, day: date | None) -> None:
        if day is None and self.api:
            raise ValidationError(_l("Enter the date as YYYY-MM-DD, for example 2025-06-30."))
        if day is None:
            raise ValidationError(_l("Enter the date as dd/mm/yyyy, for example 30/06/2025."))
        if not FIRST_DAY <= day <= LAST_DAY and self.api:
            raise ValidationError(_l("Enter a date between 2000-01-01 and 2099-12-31."))
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationError(_l("Enter a date between 01/01/2000 and 31/12/2099."))

    def chosen_period(self, today: date) -> periods.Period:
        """The period the valid form names."""
        if self.custom:
            return periods.custom_period(self.day(self.since), self.day(self.until))
        return periods.preset_period(self.period.data, today, _cutoff())

    def validate_channel(self, field) -> None:
        if field.data and field.data not in CHANNELS:
            raise ValidationError(_l("Unknown channel %(code)s.", code=field.data))

    def resolve(self, *, visible: set[int] | None, today: date | None = None) -> Filters:
        """The valid form as Filters within the scope `visible` (periods around `today`, the
        centre's today by default); FilterError otherwise."""
        if not self.validate():
            wrong = next(f for f in self if f.errors)
            raise FilterError(wrong.name, wrong.errors[0])
        period = self.chosen_period(today or centre_today())
        units = _units(_find("unit", self.unit.data), visible)
        found = {name: _find(name, self[name].data) for name in UNKNOWN_CODE if name != "unit"}
        counter = found["counter"]
        if counter is not None and visible is not None and counter.unit_id not in visible:
            raise FilterError(
                "counter", _l("You may not see the figures of this unit."), forbidden=True
            )
        return Filters(
            since=period.since,
            until=period.until,
            questionnaire_id=questionnaire.active().id,
            period=period.key,
            units=units,
            channel=self.channel.data,
            **{name: row.id if row else None for name, row in found.items()},
        )


def _raw(field) -> str:
    return field.raw_data[0] if field.raw_data else ""


def centre_today() -> date:
    """Today in the centre's time zone (SURVEY_TIMEZONE)."""
    return periods.local_today(current_app.config["SURVEY_TIMEZONE"])


def _cutoff() -> int | None:
    return current_app.config.get("SURVEY_REPORT_CUTOFF")


def _find(kind: str, code: str | None):
    if not code:
        return None
    row = catalogue.find_code(kind, code)
    if row is None:
        raise FilterError(kind, UNKNOWN_CODE[kind](code))
    return row


def _units(unit, visible: set[int] | None) -> frozenset[int] | None:
    """The units a summary covers: the chosen unit and those below it, within the scope."""
    if unit is None:
        return None if visible is None else frozenset(visible)
    if visible is not None and unit.id not in visible:
        raise FilterError("unit", _l("You may not see the figures of this unit."), forbidden=True)
    chosen = scope.with_descendants([unit.id])
    return frozenset(chosen if visible is None else chosen & visible)


def comment_conditions(filters: Filters) -> list:
    """The WHERE clauses on the responses whose comments go with the figures of `filters`."""
    start, end = utc_bounds(filters)
    conditions = [
        Response.comment.is_not(None),
        Response.flag_reason.is_(None),
        Response.captured_at >= start,
        Response.captured_at < end,
        Response.questionnaire_id == filters.questionnaire_id,
    ]
    return conditions + context_conditions(filters, Response)


def context_conditions(filters: Filters, table) -> list:
    """Unit, counter, procedure, agency, field and channel: on the responses or a rollup."""
    conditions = []
    if filters.units is not None:
        conditions.append(table.unit_id.in_(filters.units or {-1}))
    if filters.counter is not None:
        conditions.append(table.counter_id == filters.counter)
    if filters.service is not None:
        conditions.append(table.service_id == filters.service)
    if filters.agency is not None:
        agency = select(Service.id).filter_by(agency_id=filters.agency)
        conditions.append(table.service_id.in_(agency))
    if filters.field is not None:
        field = select(Service.id).filter_by(field_id=filters.field)
        conditions.append(table.service_id.in_(field))
    if filters.channel:
        conditions.append(table.channel == filters.channel)
    return conditions


def utc_bounds(filters: Filters) -> tuple[datetime, datetime]:
    """The period of `filters` as UTC instants: local midnight to the midnight after."""
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    start = datetime.combine(filters.since, time.min, zone)
    end = datetime.combine(filters.until + timedelta(days=1), time.min, zone)
    return start.astimezone(UTC), end.astimezone(UTC)
