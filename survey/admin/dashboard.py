"""The dashboard: SIPAS figures by period and filters, and its CSV export."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user

from survey import audit, charts, i18n, periods, scope
from survey import summary as queries
from survey.admin import bp, page_number
from survey.catalogue import filter_choices


def _filters():
    """The period and filters of the page's URL; 400 or 403 when they are wrong."""
    today = periods.local_today(current_app.config["SURVEY_TIMEZONE"])
    try:
        period, filters = queries.filters_from_args(request.args, today=today)
        visible = scope.visible_unit_ids(current_user)
        queries.check_filters(filters, visible=visible)
    except periods.PeriodError as exc:
        return None, None, None, (exc.field, exc.message)
    except queries.FilterError as exc:
        if exc.forbidden:
            abort(403)
        return None, None, None, (exc.field, exc.message)
    return period, filters, visible, None


@bp.route("/")
def summary():
    """The dashboard for the period and filters in the URL."""
    period, filters, visible, error = _filters()
    choices = filter_choices(visible=scope.visible_unit_ids(current_user), locale=i18n.current())
    if error:
        return render_template(
            "admin/summary.html",
            error=error,
            board=None,
            choices=choices,
            args=request.args,
            keep=queries.link_args(request.args),
        ), 400
    board = queries.build_dashboard(
        filters,
        visible=visible,
        locale=i18n.current(),
        comments_page=page_number(),
        low_only=request.args.get("low") == "1",
        with_comments=current_user.role != "viewer",
    )
    return render_template(
        "admin/summary.html",
        error=None,
        board=board,
        period=period,
        choices=choices,
        args=request.args,
        keep=queries.link_args(request.args),
        page=page_number(),
        chart=charts.trend(board.trend, queries.national_reference()),
    )


@bp.route("/export.csv")
def export():
    """The figures of the page, per procedure, as CSV (UTF-8 with BOM for spreadsheets)."""
    period, filters, visible, error = _filters()
    if error:
        abort(400)
    result = queries.build_summary(
        filters, visible=visible, group_by="service", locale=i18n.current()
    )
    audit.record("export", actor=current_user.email, detail={"args": request.args.to_dict()})
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out).writerows(queries.export_rows(result))
    name = f"sipas-{filters.since.isoformat()}-{filters.until.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
