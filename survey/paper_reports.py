"""Which printed reports a late paper form changes: the warning of the paper pages.

A report counts as produced for a period and scope when either

- a `ReportDraft` is saved for it (its number, comments or recommendations: a report being
  written), or
- its PDF was downloaded (the audit event "report_pdf", whose link names the period: a relative
  one such as "last-month" is read as of the day of the download).

A report covers a form when its period holds the date written on the form and its scope is every
unit or the form's unit. Reports of a unit's parent are not followed: scopes are one unit's code.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from survey import periods
from survey.extensions import db
from survey.models import AuditEvent, ReportDraft, Unit
from survey.period_labels import period_label


def _period(key: str, today: date) -> periods.Period | None:
    """The period a stored key or link names ("2026-Q3", "last-month", "from..to")."""
    if ".." in key:
        since, until = (periods.parse_local_date(part) for part in key.split("..", 1))
        return periods.custom_period(since, until) if since and until else None
    return periods.named_period(key, today, current_app.config.get("SURVEY_REPORT_CUTOFF"))


def _from_link(args: dict, today: date) -> periods.Period | None:
    """The period of a downloaded report's link (its filter arguments)."""
    key = str(args.get("period") or "")
    if key == "custom":
        key = f"{args.get('from', '')}..{args.get('to', '')}"
    return _period(key or "this-month", today)


def produced_periods(unit: Unit, since: date) -> list[periods.Period]:
    """The periods whose report was produced for every unit or for `unit` (reports downloaded
    before `since`'s year are not read)."""
    scopes, found = ("", unit.code), []
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    drafts = db.session.scalars(select(ReportDraft).where(ReportDraft.scope.in_(scopes)))
    for draft in drafts:
        found.append(_period(draft.period, since))
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "report_pdf", AuditEvent.at >= _floor(since, zone)
        )
    )
    for event in events:
        args = (event.detail or {}).get("args") or {}
        if isinstance(args, dict) and (args.get("unit") or "") in scopes:
            found.append(_from_link(args, event.at.astimezone(zone).date()))
    return [p for p in found if p is not None]


def produced_reports(day: date, unit: Unit) -> list[str]:
    """The names of the periods whose report was produced and covers a form of `unit` dated
    `day` ("Quý III/2026"), each once."""
    covering = [p for p in produced_periods(unit, day) if p.since <= day <= p.until]
    return list(dict.fromkeys(_name(p) for p in covering))


def changed_reports(forms: list) -> list[str]:
    """The produced reports that forms (each with a `unit` and a `written_on` date) change:
    the reports are read once per unit."""
    names: list[str] = []
    for unit in {f.unit.id: f.unit for f in forms}.values():
        days = [f.written_on for f in forms if f.unit.id == unit.id]
        for period in produced_periods(unit, min(days)):
            if any(period.since <= day <= period.until for day in days):
                names.append(_name(period))
    return list(dict.fromkeys(names))


def _floor(day: date, zone: ZoneInfo):
    """No report covering `day` was downloaded before its year began: older events are skipped."""
    return datetime.combine(day.replace(month=1, day=1) - timedelta(days=31), time(), zone)


def _name(period: periods.Period) -> str:
    return period_label(period.key)  # a named key, or "from..to" for custom dates
