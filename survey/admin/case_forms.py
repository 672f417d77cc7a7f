"""Forms of the case pages (survey/admin/cases.py)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from survey.filters import PageField
from survey.followup_models import CLOSED, CONTACTED, IN_PROGRESS, NEW, STATES
from survey.forms import QueryForm, choices
from survey.i18n import lazy_text as _l

STATE_LABELS = {
    NEW: _l("New"),
    IN_PROGRESS: _l("In progress"),
    CONTACTED: _l("Contacted"),
    CLOSED: _l("Closed"),
}


class CaseFilterForm(QueryForm):
    """The case list's filters (a GET)."""

    state = SelectField(_l("State"), validate_choice=False, id="f-state")
    overdue = BooleanField(_l("Overdue only"), id="f-overdue")
    service = SelectField(_l("Procedure"), validate_choice=False, id="f-service")
    assignee = SelectField(_l("Assignee"), validate_choice=False, id="f-assignee")
    page = PageField()

    def offer(self, services: list[tuple[int, str]], users: list[tuple[int, str]]) -> None:
        """The choices of the selects."""
        self.state.choices = choices([("", _l("Any state")), *STATE_LABELS.items()])
        self.service.choices = choices([("", _l("Any procedure")), *services])
        people = [("", _l("Anyone")), ("0", _l("Nobody yet")), *users]
        self.assignee.choices = choices(people)

    def number(self, field) -> int | None:
        """A select's number, or None when blank or not a number."""
        return int(field.data) if (field.data or "").isdigit() else None


class MoveForm(FlaskForm):
    state = SelectField(_l("New state"), validators=[AnyOf(STATES)], id="m-state")
    outcome = TextAreaField(_l("Outcome (needed to close the case)"), validators=[Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state.choices = choices(STATE_LABELS.items())


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assignee"), coerce=int, id="a-assignee")


class NoteForm(FlaskForm):
    text = TextAreaField(
        _l("Note"), validators=[DataRequired(_l("Write the note.")), Length(max=2000)]
    )


class ConfirmForm(FlaskForm):
    """A button that only needs its CSRF token: open a case, reveal a number, remove a day."""


class LookupForm(FlaskForm):
    phone = StringField(
        _l("Phone or Zalo number"),
        validators=[DataRequired(_l("Enter the number the citizen gives.")), Length(max=30)],
    )


class WithdrawForm(FlaskForm):
    code = StringField(
        _l("Withdrawal code"),
        validators=[DataRequired(_l("Enter the withdrawal code the citizen reads out.")),
                    Length(max=20)],
    )  # fmt: skip


class HolidayForm(FlaskForm):
    day = DateField(_l("Day"), validators=[DataRequired(_l("Enter the day of the holiday."))])
    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter the name of the holiday.")), Length(max=120)],
    )
