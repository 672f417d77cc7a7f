"""Follow-up cases: a rating whose citizen left a number with consent, or a comment a manager
chose, followed through mới → đang xử lý → đã liên hệ → đã đóng by a deadline in working days.

Saturdays, Sundays and the public holidays of the `holiday` table are not working days; the
deadline is SURVEY_CASE_DEADLINE_DAYS working days (default 15) after the day the case opens,
in the centre's time zone. Time is passed in (`now=`); nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from survey import audit
from survey.extensions import db
from survey.followup_models import CLOSED, NEW, STATES, CaseNote, FollowupCase, Holiday
from survey.models import Response, User
from survey.webhook_events import enqueue_event

# The states a case may move to from each state (a closed case stays closed).
MOVES = {NEW: STATES[1:], STATES[1]: STATES[2:], STATES[2]: (CLOSED,), CLOSED: ()}


def add_working_days(start: date, n: int, holidays: Iterable[date]) -> date:
    """The day `n` working days after `start` (Monday to Friday, not a holiday)."""
    off, day = set(holidays), start
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            n -= 1
    return day


def local_day(moment: datetime) -> date:
    """The centre's calendar day of `moment`."""
    return moment.astimezone(ZoneInfo(current_app.config["SURVEY_TIMEZONE"])).date()


def holidays() -> list[date]:
    """The public holidays the admins listed."""
    return list(db.session.scalars(select(Holiday.day)))


def open_case(response_id: int, *, now: datetime, opened_by: str | None = None) -> FollowupCase:
    """The case of a response, opened now if it has none (in the session's transaction: the
    caller commits). `opened_by` is the staff member's e-mail, None when the citizen asked."""
    case = db.session.scalar(select(FollowupCase).filter_by(response_id=response_id))
    if case is not None:
        return case
    unit_id, service_id, public_id = db.session.execute(
        select(Response.unit_id, Response.service_id, Response.public_id).where(
            Response.id == response_id
        )
    ).one()
    days = current_app.config["SURVEY_CASE_DEADLINE_DAYS"]
    case = FollowupCase(
        response_id=response_id,
        unit_id=unit_id,
        service_id=service_id,
        state=NEW,
        opened_at=now,
        opened_by=opened_by,
        due_on=add_working_days(local_day(now), days, holidays()),
    )
    db.session.add(case)
    db.session.flush()
    _tell("case.opened", case, public_id, now)
    return case


def _tell(event: str, case: FollowupCase, public_id: str, now: datetime) -> None:
    """Queue a case event for the webhooks subscribed to it: the case's number, its rating's
    public id, state and dates; never the number, notes or outcome."""
    payload = {
        "case": f"C-{case.id}",
        "rating": public_id,
        "state": case.state,
        "opened_at": case.opened_at.isoformat(),
        "due_on": case.due_on.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }
    enqueue_event(event, payload, now=now, key=str(case.id))


def open_from_comment(response_id: int, *, user: User, now: datetime) -> FollowupCase:
    """A manager opens a case from a comment; audited."""
    case = open_case(response_id, now=now, opened_by=user.email)
    audit.record("case.open", actor=user.email, target=str(case.id), commit=False)
    db.session.commit()
    return case


def is_overdue(case: FollowupCase, today: date) -> bool:
    """Whether the case is open past its deadline."""
    return case.state != CLOSED and case.due_on < today


def move(
    case: FollowupCase, state: str, *, user: User, now: datetime, outcome: str | None = None
) -> None:
    """Move the case to `state` (closing needs the outcome); ValueError for a move not allowed."""
    if state not in MOVES[case.state] or (state == CLOSED and not (outcome or "").strip()):
        raise ValueError(state)
    case.state = state
    if state == CLOSED:
        case.closed_at, case.outcome = now, outcome.strip()
        rating = db.session.scalar(select(Response.public_id).filter_by(id=case.response_id))
        _tell("case.closed", case, rating, now)
    audit.record("case.state", actor=user.email, target=str(case.id), detail={"state": state})


def assign(case: FollowupCase, assignee: User | None, *, user: User) -> None:
    """Give the case to `assignee` (None: nobody); audited."""
    case.assignee_id = assignee.id if assignee is not None else None
    detail = {"assignee": assignee.email if assignee is not None else None}
    audit.record("case.assign", actor=user.email, target=str(case.id), detail=detail)


def add_note(case: FollowupCase, text: str, *, user: User, now: datetime) -> None:
    """Add a staff note to the case."""
    case.notes.append(CaseNote(author=user.email, written_at=now, text=text.strip()))
    db.session.commit()


def due_soon(*, now: datetime, days: int = 2) -> list[FollowupCase]:
    """Open cases whose deadline falls within `days` working days of `now` (not yet passed)."""
    today = local_day(now)
    last = add_working_days(today, days, holidays())
    query = select(FollowupCase).where(
        FollowupCase.state != CLOSED, FollowupCase.due_on >= today, FollowupCase.due_on <= last
    )
    return list(db.session.scalars(query.order_by(FollowupCase.due_on, FollowupCase.id)))


@dataclass(frozen=True)
class CaseCounts:
    """Cases opened in a period, those of them closed on time, and those overdue."""

    opened: int
    closed_on_time: int
    overdue: int


def counts(
    *, since: date, until: date, unit_ids: Iterable[int] | None, today: date | None = None
) -> CaseCounts:
    """The cases opened from `since` to `until` (local days, inclusive) in `unit_ids` (None:
    every unit): how many, how many closed by their deadline, how many late (closed after it,
    or still open after it as of `until`, or of `today` when that comes first)."""
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    start = datetime.combine(since, time(), zone)
    end = datetime.combine(until + timedelta(days=1), time(), zone)
    query = select(FollowupCase.due_on, FollowupCase.closed_at).where(
        FollowupCase.opened_at >= start, FollowupCase.opened_at < end
    )
    if unit_ids is not None:
        query = query.where(FollowupCase.unit_id.in_(list(unit_ids)))
    rows = db.session.execute(query).all()
    closed_days = [(due, local_day(at) if at else None) for due, at in rows]
    on_time = sum(1 for due, day in closed_days if day is not None and day <= due)
    as_of = min(until, today) if today is not None else until
    late = sum(1 for due, day in closed_days if (day or as_of) > due)
    return CaseCounts(opened=len(rows), closed_on_time=on_time, overdue=late)


def open_overdue(unit_ids: Iterable[int] | None, today: date) -> int:
    """How many cases of `unit_ids` (None: every unit) are still open past their deadline."""
    query = select(func.count()).where(FollowupCase.state != CLOSED, FollowupCase.due_on < today)
    if unit_ids is not None:
        query = query.where(FollowupCase.unit_id.in_(list(unit_ids)))
    return db.session.scalar(query.select_from(FollowupCase)) or 0
