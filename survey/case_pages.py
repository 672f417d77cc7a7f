"""What the case pages show (survey/admin/cases.py): the list with its filters, one case, the
hotline's lookup by number, the holiday list. Plain dataclasses for the templates; the scope
(units a user may see) is applied here, on every query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from survey import audit, cases, contacts, questionnaire, scope
from survey.extensions import db
from survey.followup_models import CLOSED, FollowupCase, Holiday
from survey.models import Answer, Response, Service, User

PAGE_SIZE = 50


@dataclass(frozen=True)
class CaseRow:
    """One case in the list."""

    id: int
    opened_at: datetime
    due_on: date
    state: str
    service: str
    unit: str
    assignee: str | None
    overdue: bool


@dataclass(frozen=True)
class CaseFilter:
    """The list's filters: state, overdue only, procedure id, assignee id (0: nobody)."""

    state: str | None = None
    overdue: bool = False
    service_id: int | None = None
    assignee_id: int | None = None


def _scoped(query, user: User):
    visible = scope.visible_unit_ids(user)
    return query if visible is None else query.where(FollowupCase.unit_id.in_(visible))


def list_cases(
    user: User, chosen: CaseFilter, *, today: date, locale: str, page: int = 1
) -> tuple[list[CaseRow], int]:
    """One page of the cases `user` may see, overdue ones first, then by deadline; and the
    number of cases that match."""
    query = _scoped(select(FollowupCase), user)
    if chosen.state:
        query = query.where(FollowupCase.state == chosen.state)
    if chosen.overdue:
        query = query.where(FollowupCase.state != CLOSED, FollowupCase.due_on < today)
    if chosen.service_id:
        query = query.where(FollowupCase.service_id == chosen.service_id)
    if chosen.assignee_id is not None:
        query = query.where(FollowupCase.assignee_id == (chosen.assignee_id or None))
    found = list(db.session.scalars(query))
    found.sort(key=lambda c: (c.state == CLOSED, not cases.is_overdue(c, today), c.due_on, c.id))
    rows = [_row(c, today, locale) for c in found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
    return rows, len(found)


def _row(case: FollowupCase, today: date, locale: str) -> CaseRow:
    return CaseRow(
        id=case.id,
        opened_at=case.opened_at,
        due_on=case.due_on,
        state=case.state,
        service=case.service.name_in(locale),
        unit=case.unit.name_in(locale),
        assignee=case.assignee.email if case.assignee else None,
        overdue=cases.is_overdue(case, today),
    )


def visible_case(user: User, case_id: int) -> FollowupCase | None:
    """The case `case_id` if `user` may see its unit."""
    case = db.session.get(FollowupCase, case_id)
    return case if case is not None and scope.can_see(user, case.unit_id) else None


@dataclass(frozen=True)
class CaseView:
    """One case as its page shows it."""

    case: FollowupCase
    row: CaseRow
    overall: int | None
    comment: str | None
    masked: str | None
    withdrawn: bool
    may_reveal: bool


def case_view(case: FollowupCase, user: User, *, today: date, locale: str) -> CaseView:
    """The case page's content for `user` (the comment only for admins and managers)."""
    response = db.session.get(Response, case.response_id)
    item = questionnaire.by_id(response.questionnaire_id).overall_code
    overall = db.session.scalar(
        select(Answer.value).where(Answer.response_id == case.response_id, Answer.item == item)
    )
    masked = contacts.masked_phone(case.response_id)
    return CaseView(
        case=case,
        row=_row(case, today, locale),
        overall=overall,
        comment=response.comment if user.role != "viewer" else None,
        masked=masked,
        withdrawn=masked is None and contacts.has_contact(case.response_id),
        may_reveal=masked is not None and case.assignee_id == user.id,
    )


def assignable(case: FollowupCase) -> list[User]:
    """The active admins and managers who may see the case's unit."""
    users = db.session.scalars(
        select(User).where(User.active, User.role.in_(("admin", "manager"))).order_by(User.email)
    )
    return [u for u in users if scope.can_see(u, case.unit_id)]


def assignable_anywhere(user: User) -> list[User]:
    """The admins and managers who share a unit with `user` (the list's assignee filter)."""
    users = db.session.scalars(
        select(User).where(User.active, User.role.in_(("admin", "manager"))).order_by(User.email)
    )
    mine = scope.visible_unit_ids(user)
    return [
        u for u in users if mine is None or u.role == "admin" or scope.visible_unit_ids(u) & mine
    ]


def may_open(user: User, response_id: int) -> bool:
    """Whether `user` may open a case on the response: a comment of a unit they see."""
    response = db.session.get(Response, response_id)
    return response is not None and bool(response.comment) and scope.can_see(user, response.unit_id)


def lookup(user: User, phone: str, *, today: date, locale: str) -> list[CaseRow]:
    """The cases of the ratings whose call-back number is `phone`, within `user`'s units."""
    ids = contacts.responses_for_phone(phone)
    if not ids:
        return []
    query = _scoped(select(FollowupCase).where(FollowupCase.response_id.in_(ids)), user)
    return [_row(c, today, locale) for c in db.session.scalars(query.order_by(FollowupCase.id))]


def services_in_cases(user: User, locale: str) -> list[tuple[int, str]]:
    """The procedures of the cases `user` may see, for the list's filter."""
    query = _scoped(select(Service).join(FollowupCase).distinct(), user)
    return sorted(
        ((s.id, s.name_in(locale)) for s in db.session.scalars(query)), key=lambda p: p[1]
    )


def holiday_list() -> list[Holiday]:
    """Every listed holiday, by day."""
    return list(db.session.scalars(select(Holiday).order_by(Holiday.day)))


def add_holiday(day: date, name: str, *, user: User) -> None:
    """List a public holiday (a day listed already is renamed); audited."""
    holiday = db.session.scalar(select(Holiday).filter_by(day=day)) or Holiday(day=day)
    holiday.name = name.strip()
    db.session.add(holiday)
    audit.record("holiday.add", actor=user.email, target=day.isoformat())


def remove_holiday(holiday_id: int, *, user: User) -> None:
    """Take a holiday off the list; audited."""
    holiday = db.session.get(Holiday, holiday_id)
    if holiday is not None:
        db.session.delete(holiday)
        audit.record("holiday.remove", actor=user.email, target=holiday.day.isoformat())
