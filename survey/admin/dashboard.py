"""The dashboard: SIPAS figures by period and filters, and its CSV export."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, current_app, render_template
from flask_login import current_user

from survey import audit, charts, i18n, periods, profiles, scope
from survey import dashboard as boards
from survey import summary as queries
from survey.admin import bp
from survey.catalogue import filter_choices
from survey.filters import FilterError, Filters, SummaryFilterForm


def _resolve(form: SummaryFilterForm) -> Filters:
    """The form's filters within the account's scope: 403 for a unit outside it, FilterError
    for anything else that is wrong."""
    try:
        return form.resolve(
            visible=scope.visible_unit_ids(current_user),
            today=periods.local_today(current_app.config["SURVEY_TIMEZONE"]),
        )
    except FilterError as exc:
        if exc.forbidden:
            abort(403)
        raise


@bp.route("/")
def summary():
    """The dashboard for the period and filters in the URL."""
    form = SummaryFilterForm.from_query()
    form.offer(filter_choices(visible=scope.visible_unit_ids(current_user), locale=i18n.current()))
    try:
        filters = _resolve(form)
    except FilterError as exc:
        return render_template("admin/summary.html", form=form, error=exc, board=None), 400
    board = boards.build_dashboard(
        filters,
        locale=i18n.current(),
        comments_page=form.page.data,
        low_only=form.low_only,
        with_comments=current_user.role != "viewer",
    )
    shown = charts.dashboard(board, boards.national_reference())
    who = profiles.breakdown(filters, i18n.current())
    return render_template(
        "admin/summary.html", form=form, error=None, board=board, charts=shown, who=who
    )


@bp.route("/export.csv")
def export():
    """The figures of the page, per procedure, as CSV (UTF-8 with BOM for spreadsheets)."""
    form = SummaryFilterForm.from_query()
    try:
        filters = _resolve(form)
    except FilterError:
        abort(400)
    result = queries.build_summary(filters, group_by="service", locale=i18n.current())
    audit.record("export", actor=current_user.email, detail={"args": form.link_args()})
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out).writerows(queries.export_rows(result))
    name = f"sipas-{filters.since.isoformat()}-{filters.until.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
