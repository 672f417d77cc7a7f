"""The hotline's pages: find a number's cases (by keyed hash), withdraw consent by code, and
the public holidays that case deadlines skip (admins)."""

from __future__ import annotations

from flask import current_app, redirect, render_template, url_for
from flask_login import current_user

from survey import case_pages, contacts, i18n, periods
from survey.admin import bp, role_required
from survey.admin.case_forms import STATE_LABELS, ConfirmForm, HolidayForm, LookupForm, WithdrawForm
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.models import utcnow


@bp.route("/cases/hotline", methods=["GET", "POST"])
@role_required("admin", "manager")
def hotline():
    """Find the cases of a number a citizen gives on the phone (within the account's units)."""
    form, rows, withdrawn = LookupForm(), None, None
    if form.validate_on_submit():
        today = periods.local_today(current_app.config["SURVEY_TIMEZONE"])
        rows = case_pages.lookup(current_user, form.phone.data, today=today, locale=i18n.current())
    return render_template(
        "admin/hotline.html", form=form, rows=rows, states=STATE_LABELS,
        withdraw=WithdrawForm(formdata=None), withdrawn=withdrawn, withdraw_error=None,
    ), 400 if form.errors else 200  # fmt: skip


@bp.post("/cases/withdraw")
@role_required("admin", "manager")
def withdraw():
    """Withdraw a citizen's consent by the code they read out: the number is deleted."""
    form = WithdrawForm()
    found = contacts.withdraw(form.code.data, now=utcnow()) if form.validate_on_submit() else None
    message = _l("Consent withdrawn: the number has been deleted.") if found else None
    error = None if found else _l("No number has this withdrawal code.")
    return render_template(
        "admin/hotline.html", form=LookupForm(formdata=None), rows=None, states=STATE_LABELS,
        withdraw=form, withdrawn=message, withdraw_error=error,
    ), 200 if found else 400  # fmt: skip


@bp.route("/holidays", methods=["GET", "POST"])
@role_required("admin")
def holidays():
    """The public holidays that case deadlines do not count."""
    form = HolidayForm()
    if form.validate_on_submit():
        case_pages.add_holiday(form.day.data, form.name.data, user=current_user)
        db.session.commit()
        return redirect(url_for("admin.holidays"), 303)
    return render_template(
        "admin/holidays.html", form=form, days=case_pages.holiday_list(), confirm=ConfirmForm()
    ), 400 if form.errors else 200


@bp.post("/holidays/<int:holiday_id>/delete")
@role_required("admin")
def holiday_remove(holiday_id: int):
    """Take a day off the holiday list."""
    if ConfirmForm().validate_on_submit():
        case_pages.remove_holiday(holiday_id, user=current_user)
        db.session.commit()
    return redirect(url_for("admin.holidays"), 303)
