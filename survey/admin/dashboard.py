"""The dashboard: SIPAS figures by period and filters, and its exports."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import current_user

from survey import alerts, cases, charts, exports, i18n, periods, profiles, scope, topics
from survey import dashboard as boards
from survey.admin import bp
from survey.admin.topic_forms import CommentTopicsForm, DashboardFilterForm
from survey.catalogue import filter_choices
from survey.filters import FilterError, Filters, SummaryFilterForm
from survey.models import utcnow
from survey.period_labels import period_label
from survey.topics import LABELS as TOPIC_LABELS


def _resolve(form: SummaryFilterForm) -> Filters:
    """The form's filters within the account's scope: 403 for a unit outside it, FilterError
    for anything else that is wrong."""
    try:
        return form.resolve(visible=scope.visible_unit_ids(current_user))
    except FilterError as exc:
        if exc.forbidden:
            abort(403)
        raise


@bp.route("/")
def summary():
    """The dashboard for the period and filters in the URL."""
    form = DashboardFilterForm.from_query()
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
        ranked_by=form.by.data,
        topic=form.chosen_topic,
        now=topics.tag_on_view(utcnow()),
    )
    return _board_page(form, filters, board)


def _board_page(form: SummaryFilterForm, filters: Filters, board: boards.Dashboard) -> str:
    """The dashboard page of `board`: its charts, the period's name and who is satisfied."""
    target = current_app.config.get("SURVEY_TARGET")
    return render_template(
        "admin/summary.html",
        form=form,
        error=None,
        board=board,
        charts=charts.dashboard(board, boards.national_reference(), target),
        period_name=period_label(filters.period),
        named=".." not in filters.period,
        kinds=boards.KIND_TITLES.items(),
        ranked_by=form.by.data,
        who=profiles.breakdown(filters, i18n.current()),
        alerts_open=alerts.shown(scope.visible_unit_ids(current_user)),
        topic_form=CommentTopicsForm(),
        topic_labels=TOPIC_LABELS,
        case_counts=cases.counts(
            since=filters.since, until=filters.until, unit_ids=filters.units, today=_today()
        ),
    )


def _today():
    return periods.local_today(current_app.config["SURVEY_TIMEZONE"])


@bp.route("/export/<what>.<fmt>")
def export(what: str, fmt: str):
    """An export of the page's data with its filters (survey.exports), streamed."""
    if what not in exports.WHATS or fmt not in exports.FORMATS:
        abort(404)
    try:
        job = exports.prepare(what, fmt, user=current_user, api=False, lang=i18n.current())
    except exports.ExportRefused:
        abort(403)
    except FilterError as exc:
        abort(403 if exc.forbidden else 400)
    return exports.streamed(exports.Export(job, actor=current_user.email, via="page"), job)
