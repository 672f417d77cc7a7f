"""The tables of the exports: the raw responses and the comments (the summary tables are in
survey/export_summary.py).

Every table is read through the dashboard's resolved Filters, and every text is in the current
locale (the caller sets it with force_locale). Rows are read from the database in batches
(`yield_per`: a server-side cursor on PostgreSQL) and handed on one at a time, so an export of
any size holds one batch in memory. No table ever reads a response's profile answers or its
contact: they are not in any SELECT below.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import aliased

from survey import flags, questionnaire
from survey.export_files import Column, Table
from survey.extensions import db
from survey.filters import Filters, comment_conditions, context_conditions, utc_bounds
from survey.i18n import LANGUAGE_NAMES
from survey.models import Answer, Counter, Response, Service, Unit
from survey.period_labels import CHANNEL_LABELS
from survey.questionnaire import Questionnaire
from survey.summary import build_summary

BATCH = 1000  # rows fetched from the database at a time


def _stream(query: Select) -> Iterator:
    """The rows of `query`, fetched BATCH at a time."""
    result = db.session.execute(query.execution_options(yield_per=BATCH))
    for batch in result.partitions():
        yield from batch


def _local(moment: datetime | None) -> datetime | None:
    """A UTC instant as the survey's local wall-clock time to the second (naive, for
    spreadsheets)."""
    if moment is None:
        return None
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _names(model, lang: str) -> dict[int, tuple[str, str]]:
    """id -> (code, name in `lang`, else Vietnamese) of a catalogue table."""
    query = select(model.id, model.code, model.name_vi, getattr(model, f"name_{lang}"))
    return {row[0]: (row[1], row[3] or row[2]) for row in db.session.execute(query)}


def hidden(filters: Filters) -> bool:
    """Whether the dashboard hides the figures of `filters` (1 to 4 counted ratings): then no
    response and no comment of them is exported either."""
    return build_summary(filters).hidden


# --- Raw responses --------------------------------------------------------------------------


def _item_codes(q: Questionnaire) -> list[str]:
    """The overall question, the criteria and the expectations, in questionnaire order."""
    return [q.overall_code, *q.criteria, *q.expectation_codes]


def _responses_query(filters: Filters, codes: list[str]) -> Select:
    """One row per response of `filters` with one column per item: the answers are pivoted in
    the database (one statement, no query per response)."""
    start, end = utc_bounds(filters)
    kept = (
        Response.id,
        Response.captured_at,
        Response.received_at,
        Response.channel,
        Response.unit_id,
        Response.counter_id,
        Response.service_id,
        Response.status,
        Response.locale,
        Response.flag_reason,
        Response.flag_review,
    )
    answers = [func.max(case((Answer.item == code, Answer.value))) for code in codes]
    return (
        select(*kept, *answers)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(
            Response.captured_at >= start,
            Response.captured_at < end,
            Response.questionnaire_id == filters.questionnaire_id,
            *context_conditions(filters, Response),
        )
        .group_by(*kept)
        .order_by(Response.captured_at, Response.id)
    )


def response_columns(codes: list[str]) -> list[Column]:
    """The fixed columns of a response, then one per item code."""
    return [
        Column(_("Response"), "int"),
        Column(_("Answered at"), "datetime"),
        Column(_("Received at"), "datetime"),
        Column(_("Channel")),
        Column(_("Unit code")),
        Column(_("Unit")),
        Column(_("Counter code")),
        Column(_("Counter")),
        Column(_("Procedure code")),
        Column(_("Procedure")),
        Column(_("Status")),
        Column(_("Language")),
        Column(_("Flag")),
        Column(_("Flag review")),
        *(Column(code, "int") for code in codes),
    ]


def response_tables(filters: Filters, lang: str, *, legend: bool) -> list[Table]:
    """The responses (one row each), and with `legend` a table naming each item code."""
    q = questionnaire.by_id(filters.questionnaire_id)
    codes = _item_codes(q)
    tables = [
        Table(_("Survey responses"), response_columns(codes), _response_rows(filters, codes, lang))
    ]
    if legend:
        tables.append(_legend_table(q, lang))
    return tables


def _labels() -> dict[str, dict]:
    """The texts of the coded values of a response, in the current locale."""
    return {
        "channel": {code: str(text) for code, text in CHANNEL_LABELS.items()},
        "status": {"complete": _("Complete"), "partial": _("Partial")},
        "flag": {code: str(text) for code, text in flags.REASONS.items()},
        "review": {"confirmed": _("Confirmed")},
    }


def _response_rows(filters: Filters, codes: list[str], lang: str) -> Iterator[list]:
    if hidden(filters):
        return
    units, counters, services = (_names(m, lang) for m in (Unit, Counter, Service))
    labels, none = _labels(), (None, None)
    for row in _stream(_responses_query(filters, codes)):
        (rid, captured, received, channel, unit, counter, service, status, locale) = row[:9]
        reason, review = row[9], row[10]
        yield [
            rid,
            _local(captured),
            _local(received),
            labels["channel"].get(channel, channel),
            *units.get(unit, none),
            *counters.get(counter, none),
            *services.get(service, none),
            labels["status"].get(status, status),
            LANGUAGE_NAMES.get(locale, locale),
            labels["flag"].get(reason, reason),
            labels["review"].get(review, review),
            *row[11:],
        ]


def _legend_table(q: Questionnaire, lang: str) -> Table:
    """What each item code of the responses asks, and its scale."""
    columns = [Column(_("Code")), Column(_("Element")), Column(_("Question")), Column(_("Scale"))]
    five, four = _("1 (worst) to 5 (best)"), _("1 to 4")
    rows = [[q.overall_code, "", questionnaire.label(q.data["overall"], lang), five]]
    for element in q.elements:
        name = questionnaire.label(element, lang)
        rows += [[c["code"], name, questionnaire.label(c, lang), five] for c in element["criteria"]]
    expected = questionnaire.label(q.data["expectations_question"], lang)
    for entry in q.data["expectations"]:
        rows.append([entry["code"], expected, questionnaire.label(entry, lang), four])
    return Table(_("Item codes"), columns, rows, counted=False)


# --- Comments -------------------------------------------------------------------------------


def comment_table(filters: Filters, lang: str, *, low_only: bool) -> Table:
    """The comments the dashboard lists for `filters`, newest first."""
    columns = [
        Column(_("Answered at"), "datetime"),
        Column(_("Unit")),
        Column(_("Procedure")),
        Column(_("Overall rating (1–5)"), "int"),
        Column(_("Comment")),
    ]
    return Table(_("Comments"), columns, _comment_rows(filters, lang, low_only))


def _comment_rows(filters: Filters, lang: str, low_only: bool) -> Iterator[list]:
    if hidden(filters):
        return
    q = questionnaire.by_id(filters.questionnaire_id)
    units, services = _names(Unit, lang), _names(Service, lang)
    overall = aliased(Answer)
    query = (
        select(Response.captured_at, Response.unit_id, Response.service_id, overall.value)
        .add_columns(Response.comment)
        .outerjoin(overall, (overall.response_id == Response.id) & (overall.item == q.overall_code))
        .where(*comment_conditions(filters))
        .order_by(Response.captured_at.desc(), Response.id.desc())
    )
    if low_only:
        query = query.where(overall.value.in_((1, 2)))
    for captured, unit, service, value, text in _stream(query):
        unit_name = units.get(unit, ("", ""))[1]
        yield [_local(captured), unit_name, services.get(service, ("", ""))[1], value, text]
