"""The alert rules (issue 13): each returns the conditions that hold at `now`.

Figures come from the rollups (survey/rollup_query.py), never from raw answers; the kiosk
rule reads the kiosks' heartbeats, the flag rule counts suspect ratings of the last hour.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from survey import questionnaire, rollup_query, rollups, sipas
from survey.extensions import db
from survey.filters import Filters
from survey.models import KioskDevice, Response, Unit
from survey.summary import Figures, build_summary

WEEK_DAYS, BASE_DAYS = 7, 90
KINDS = ("index", "kiosk", "flags", "cases", "webhooks")


@dataclass(frozen=True)
class Condition:
    """An alert condition that holds now: its key, kind, unit and figures (never free text)."""

    key: str
    kind: str
    unit_id: int | None
    detail: dict[str, Any] = field(default_factory=dict)


def _fell(week: Figures, base: Figures) -> dict[str, Any] | None:
    """The measure whose last-7-day figure lies below its 90-day figure beyond both intervals:
    the SIPAS index, else the overall question (kiosk ratings often answer only that)."""
    for measure in ("overall", "overall_question"):
        now, before = getattr(week, measure), getattr(base, measure)
        if now.index is not None and before.index is not None and now.index < before.index:
            if sipas.differs(now, before):
                return {"measure": measure, "week": round(now.index, 2), "week_n": now.n,
                        "week_ci": [round(v, 2) for v in now.ci95],
                        "base": round(before.index, 2), "base_n": before.n,
                        "base_ci": [round(v, 2) for v in before.ci95]}  # fmt: skip
    return None


def _compared(filters: Filters, group_by: str, *, today) -> list[tuple[str, dict[str, Any]]]:
    """(group code, figures) of every group of `filters` whose week fell below its 90 days."""
    week = (today - timedelta(days=WEEK_DAYS - 1), today)
    base = (week[0] - timedelta(days=BASE_DAYS), week[0] - timedelta(days=1))
    rows = rollup_query.fetch(filters, [base, week], group_by)
    summaries = [
        build_summary(replace(filters, since=s, until=u), group_by=group_by, rows=rows)
        for s, u in (week, base)
    ]
    before = {g.key: g for g in summaries[1].groups if not g.hidden}
    fallen = []
    for group in summaries[0].groups:
        if group.hidden or group.key not in before:
            continue
        detail = _fell(group.figures, before[group.key].figures)
        if detail is not None:
            fallen.append((group.key, detail))
    return fallen


def index_conditions(*, now: datetime) -> list[Condition]:
    """Units, and procedures within each unit, whose last 7 days fell below their last 90."""
    today, active = rollups.local_day(now), questionnaire.active()
    if active is None:
        return []  # a database not set up yet (survey serve loads the questionnaire)
    everything = Filters(since=today, until=today, questionnaire_id=active.id)
    units = dict(db.session.execute(select(Unit.code, Unit.id)).all())
    found = []
    for code, detail in _compared(everything, "unit", today=today):
        found.append(Condition(f"index:{code}", "index", units.get(code), detail))
    for code, unit_id in sorted(units.items()):
        within = replace(everything, units=frozenset({unit_id}))
        for service, detail in _compared(within, "service", today=today):
            detail = {**detail, "service": service}
            found.append(Condition(f"index:{code}:{service}", "index", unit_id, detail))
    return found


def opening_start(now: datetime) -> datetime | None:
    """When today's opening hours began (UTC), or None outside them (SURVEY_OPENING_HOURS,
    Monday to Saturday, local time; the kiosk list uses the same hours)."""
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    local = now.astimezone(zone)
    start, end = (
        time.fromisoformat(p) for p in current_app.config["SURVEY_OPENING_HOURS"].split("-")
    )
    if local.weekday() == 6 or not start <= local.time() <= end:
        return None
    return datetime.combine(local.date(), start, tzinfo=zone)


def kiosk_conditions(*, now: datetime) -> list[Condition]:
    """Paired kiosks without a heartbeat for SURVEY_ALERT_KIOSK_SILENT_MINUTES of today's
    opening hours (a kiosk silent since the evening counts from the opening)."""
    opened = opening_start(now)
    if opened is None:
        return []
    silent = timedelta(minutes=current_app.config["SURVEY_ALERT_KIOSK_SILENT_MINUTES"])
    kiosks = db.session.scalars(
        select(KioskDevice).where(
            KioskDevice.revoked_at.is_(None), KioskDevice.token_hash.is_not(None)
        )
    )
    found = []
    for kiosk in kiosks:
        last = kiosk.last_heartbeat or kiosk.paired_at or kiosk.created_at
        if now - max(last, opened) >= silent:
            detail = {
                "kiosk": kiosk.name,
                "minutes": int(silent.total_seconds() // 60),
            }
            found.append(Condition(f"kiosk:{kiosk.id}", "kiosk", kiosk.unit_id, detail))
    return found


def flag_conditions(*, now: datetime) -> list[Condition]:
    """Units with SURVEY_ALERT_FLAGGED_PER_HOUR or more suspect ratings in the last hour."""
    least = current_app.config["SURVEY_ALERT_FLAGGED_PER_HOUR"]
    rows = db.session.execute(
        select(Response.unit_id, func.count(Response.id))
        .where(Response.captured_at >= now - timedelta(hours=1), Response.captured_at <= now)
        .where(Response.flag_reason.is_not(None))
        .group_by(Response.unit_id)
    )
    return [
        Condition(f"flags:{unit_id}", "flags", unit_id, {"count": count})
        for unit_id, count in rows
        if count >= least
    ]


def case_conditions(due: Iterable[Any]) -> list[Condition]:
    """Units with cases about to pass their deadline, from a due-soon list (each item has a
    `unit_id`), e.g. `cases.due_soon(now=now, days=2)`."""
    per_unit = Tally(item.unit_id for item in due)
    return [
        Condition(f"cases:{unit_id}", "cases", unit_id, {"count": count})
        for unit_id, count in sorted(per_unit.items())
    ]


def webhook_conditions(paused: Iterable[Any]) -> list[Condition]:
    """Webhook endpoints paused after a day of failures (webhooks.paused_since): for the
    administrators, so of no unit."""
    return [Condition(f"webhooks:{e.id}", "webhooks", None, {"url": e.url}) for e in paused]
