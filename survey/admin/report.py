"""The printed report page (/admin/report), its PDF, and the form that keeps its draft.

Scope: an administrator's report covers every unit unless a unit is chosen; a manager's or a
viewer's covers one of their units, by default the first of them by code (a manager of several
units chooses the others in the list; a report never mixes units that have no common parent
within the scope). A unit outside the scope is refused (403), for the page, the PDF and the
draft alike. Viewers read the report without the comments and cannot change the draft.
"""

from __future__ import annotations

from dataclasses import replace

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length

from survey import audit, catalogue, i18n, scope, topics
from survey import report as reports
from survey.admin import bp, role_required
from survey.filters import FilterError, Filters, SummaryFilterForm, centre_today
from survey.i18n import lazy_text as _l
from survey.models import utcnow


class DraftForm(FlaskForm):
    """The manager's additions to the report: number, picked comments, recommendations."""

    number = StringField(
        _l("Number and symbol (số/ký hiệu), e.g. 15/BC-TTPVHCC"),
        validators=[Length(max=60)],
        id="d-number",
    )
    comments = SelectMultipleField(
        _l("Comments to quote in the report"),
        coerce=int,
        choices=[],
        validate_choice=False,  # checked against the period and scope when saved
        id="d-comments",
    )
    recommendations = TextAreaField(
        _l("Recommendations (kiến nghị)"), validators=[Length(max=5000)], id="d-recommendations"
    )


def may_read_comments() -> bool:
    """Whether the signed-in role may read citizens' comments and so edit the draft that
    quotes them (viewers never do)."""
    return current_user.role != "viewer"


def _filter_form() -> SummaryFilterForm:
    """The period and unit of the URL; by default last quarter and the account's first unit."""
    form = SummaryFilterForm.from_query()
    if not request.args.get("period"):
        form.period.data = "last-quarter"
    if not form.unit.data and current_user.role != "admin":
        codes = sorted(unit.code for unit in current_user.units)
        form.unit.data = codes[0] if codes else None
    return form


def _resolve(form: SummaryFilterForm) -> Filters:
    """Only the period and the unit count (403 for a unit outside the scope)."""
    try:
        filters = form.resolve(visible=scope.visible_unit_ids(current_user))
    except FilterError as exc:
        if exc.forbidden:
            abort(403)
        raise
    return replace(filters, service=None, agency=None, field=None, counter=None, channel=None)


def _link_args(form: SummaryFilterForm) -> dict[str, str]:
    """The query of this report (period, custom dates and unit)."""
    args = {"period": form.period.data, "unit": form.unit.data or ""}
    if form.custom:
        args.update({"from": form.since.data, "to": form.until.data})
    return {k: v for k, v in args.items() if v}


def _build(filters: Filters, form: SummaryFilterForm) -> reports.Report:
    return reports.build_report(
        filters,
        scope=form.unit.data or "",
        locale=i18n.current(),
        with_comments=may_read_comments(),
        today=centre_today(),
        now=topics.tag_on_view(utcnow()),
    )


def _draft_form(report: reports.Report, filters: Filters) -> DraftForm:
    """The draft form, filled from the saved draft, with the comments offered to pick."""
    draft = reports.draft_for(filters, report.scope)
    picked = (draft.comment_ids or []) if draft else []
    form = DraftForm(number=report.number, recommendations=report.recommendations, comments=picked)
    form.offered = reports.pickable_comments(filters, picked, i18n.current())
    form.comments.choices = [(rid, rid) for rid, _ in form.offered]
    return form


@bp.get("/report")
def report():
    """The report of a period and unit as an A4 print page, with its draft form."""
    form = _filter_form()
    form.offer(
        catalogue.filter_choices(
            visible=scope.visible_unit_ids(current_user), locale=i18n.current()
        )
    )
    if current_user.role != "admin":
        form.unit.choices = form.unit.choices[1:]  # no "all units" outside the scope
    try:
        filters = _resolve(form)
    except FilterError as exc:
        return render_template("admin/report.html", form=form, error=exc, report=None), 400
    built = _build(filters, form)
    return render_template(
        "admin/report.html",
        form=form,
        error=None,
        report=built,
        draft=_draft_form(built, filters) if may_read_comments() else None,
        keep=_link_args(form),
    )


@bp.post("/report")
@role_required("admin", "manager")
def report_save():
    """Save the number, the picked comments and the recommendations of this report."""
    form = _filter_form()
    try:
        filters = _resolve(form)
    except FilterError:
        abort(400)
    draft_form = DraftForm()
    if not draft_form.validate():
        abort(400)
    draft_scope = form.unit.data or ""
    reports.save_draft(
        filters,
        draft_scope,
        number=(draft_form.number.data or "").strip(),
        recommendations=(draft_form.recommendations.data or "").strip(),
        comment_ids=draft_form.comments.data or [],
        actor=current_user.email,
    )
    flash(_("The report draft was saved."))
    return redirect(url_for("admin.report", **_link_args(form)), code=303)


@bp.get("/report.pdf")
def report_pdf():
    """The same report as an A4 PDF rendered on the server."""
    form = _filter_form()
    try:
        filters = _resolve(form)
    except FilterError:
        abort(400)
    pdf = reports.render_pdf(_build(filters, form))
    audit.record("report_pdf", actor=current_user.email, detail={"args": _link_args(form)})
    name = f"bao-cao-sipas-{filters.period.replace('..', '_')}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
