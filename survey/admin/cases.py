"""The follow-up case pages: the list per unit, one case, the hotline's lookup, the holidays.

Scope as for comments: admins every unit, managers and viewers their own; viewers read only.
The full number is shown only to the case's assignee, after a click, and each time is audited.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, url_for
from flask_login import current_user

from survey import case_pages, cases, contacts, i18n, periods
from survey.admin import bp, role_required
from survey.admin.case_forms import (
    STATE_LABELS,
    AssignForm,
    CaseFilterForm,
    ConfirmForm,
    MoveForm,
    NoteForm,
)
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.models import utcnow

STATE_ERROR = _l("Choose the next state; to close the case, write its outcome.")


def _today():
    return periods.local_today(current_app.config["SURVEY_TIMEZONE"])


def _case_or_404(case_id: int):
    return case_pages.visible_case(current_user, case_id) or abort(404)


@bp.get("/cases")
def cases_list():
    """The cases of the account's units, with filters; overdue ones first."""
    form, locale = CaseFilterForm(), i18n.current()
    people = [(u.id, u.email) for u in case_pages.assignable_anywhere(current_user)]
    form.offer(case_pages.services_in_cases(current_user, locale), people)
    chosen = case_pages.CaseFilter(
        state=form.state.data if form.state.data in STATE_LABELS else None,
        overdue=bool(form.overdue.data),
        service_id=form.number(form.service),
        assignee_id=form.number(form.assignee),
    )
    rows, total = case_pages.list_cases(
        current_user, chosen, today=_today(), locale=locale, page=form.page.data or 1
    )
    return render_template(
        "admin/cases.html", form=form, rows=rows, total=total, states=STATE_LABELS,
        page=form.page.data or 1, pages=max(1, -(-total // case_pages.PAGE_SIZE)),
    )  # fmt: skip


def _case_page(case, *, phone=None, error=None, status=200):
    """The case page, with the full number when just revealed."""
    view = case_pages.case_view(case, current_user, today=_today(), locale=i18n.current())
    assign = AssignForm(assignee=case.assignee_id or 0)
    assign.assignee.choices = [(0, "—")] + [(u.id, u.email) for u in case_pages.assignable(case)]
    move = MoveForm(state=(cases.MOVES[case.state] or (case.state,))[0])
    move.state.choices = [(s, STATE_LABELS[s]) for s in cases.MOVES[case.state]]
    return render_template(
        "admin/case.html", view=view, phone=phone, error=error, states=STATE_LABELS,
        assign=assign, move=move, note=NoteForm(), confirm=ConfirmForm(),
    ), status  # fmt: skip


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    """One case: the rating, the masked number, the state, notes and actions."""
    return _case_page(_case_or_404(case_id))


@bp.post("/cases/<int:case_id>/state")
@role_required("admin", "manager")
def case_move(case_id: int):
    """Move the case to its next state (closing needs the outcome)."""
    found, form = _case_or_404(case_id), MoveForm()
    form.state.choices = [(s, s) for s in cases.MOVES[found.state]]
    if not form.validate_on_submit():
        return _case_page(found, error=STATE_ERROR, status=400)
    try:
        cases.move(found, form.state.data, user=current_user, now=utcnow(),
                   outcome=form.outcome.data)  # fmt: skip
    except ValueError:
        db.session.rollback()
        return _case_page(found, error=STATE_ERROR, status=400)
    return redirect(url_for("admin.case", case_id=case_id), 303)


@bp.post("/cases/<int:case_id>/assign")
@role_required("admin", "manager")
def case_assign(case_id: int):
    """Give the case to a user who may see its unit."""
    found, form = _case_or_404(case_id), AssignForm()
    people = {u.id: u for u in case_pages.assignable(found)}
    form.assignee.choices = [(0, "—"), *((i, u.email) for i, u in people.items())]
    if not form.validate_on_submit():
        abort(400)
    cases.assign(found, people.get(form.assignee.data), user=current_user)
    return redirect(url_for("admin.case", case_id=case_id), 303)


@bp.post("/cases/<int:case_id>/note")
@role_required("admin", "manager")
def case_note(case_id: int):
    """Add a note to the case."""
    found, form = _case_or_404(case_id), NoteForm()
    if not form.validate_on_submit():
        return _case_page(found, error=form.text.errors[0], status=400)
    cases.add_note(found, form.text.data, user=current_user, now=utcnow())
    return redirect(url_for("admin.case", case_id=case_id), 303)


@bp.post("/cases/<int:case_id>/reveal")
@role_required("admin", "manager")
def case_reveal(case_id: int):
    """Show the full number to the case's assignee (audited); others get 403."""
    found = _case_or_404(case_id)
    if found.assignee_id != current_user.id or not ConfirmForm().validate_on_submit():
        abort(403)
    return _case_page(found, phone=contacts.reveal_phone(found.response_id, user=current_user))


@bp.post("/cases/open/<int:response_id>")
@role_required("admin", "manager")
def case_open(response_id: int):
    """Open a case from a comment on the dashboard."""
    if not ConfirmForm().validate_on_submit() or not case_pages.may_open(current_user, response_id):
        abort(404)
    opened = cases.open_from_comment(response_id, user=current_user, now=utcnow())
    return redirect(url_for("admin.case", case_id=opened.id), 303)
