"""JSON API v1 and the health check (DESIGN.md §4)."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from sqlalchemy import text

from survey import accounts, i18n, periods, questionnaire, scope, sipas, summary
from survey.extensions import csrf, db
from survey.periods import PeriodError

bp = Blueprint("api", __name__)
csrf.exempt(bp)


@bp.get("/healthz")
def healthz():
    """Report whether the app and its database answer."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not ready"
        db.session.rollback()
        return {"status": "error", "database": "unavailable"}, 503
    return {"status": "ok", "database": "ok"}


@bp.get("/api/v1/questionnaire")
def get_questionnaire():
    """The active questionnaire with its labels in the requested language."""
    q = questionnaire.active()
    if q is None:
        return {"errors": [{"field": None, "message": "no active questionnaire"}]}, 503
    return questionnaire.localized(q, i18n.current())


@bp.get("/api/v1/services")
def services():
    """The active services."""
    return summary.list_services(i18n.current())


@bp.get("/api/v1/units")
def units():
    """Centres and service points with their counters."""
    return summary.list_units(i18n.current())


def _error(status: int, field: str | None, message) -> tuple[dict, int]:
    return {"errors": [{"field": field, "message": str(message)}]}, status


def _bearer_user():
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return accounts.user_for_api_token(header[len("Bearer ") :].strip())


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _proportion(p: sipas.Proportion, *, interval: bool = False) -> dict:
    data = {"index": _num(p.index), "n": p.n}
    if interval:
        data["ci95"] = [_num(v) for v in p.ci95] if p.ci95 else None
    return data


def summary_json(result: summary.Summary) -> dict:
    """The summary API's document (DESIGN.md §4)."""
    fig = result.figures

    def block(f: summary.Figures, hidden: bool = False) -> dict:
        if hidden:  # a counter with too few answers: no figure that could point at a person
            return {"overall": None, "elements": None, "hidden": True}
        return {
            "overall": _proportion(f.overall, interval=True),
            "elements": {k: _proportion(v) for k, v in f.elements.items()},
        }

    return {
        "from": result.filters.since.isoformat(),
        "to": result.filters.until.isoformat(),
        "questionnaire": result.questionnaire.code,
        "responses": fig.responses,
        **block(fig),
        "overall_question": _proportion(fig.overall_question),
        "criteria": {
            code: {
                "index": _num(c.index),
                "mean": _num(c.mean),
                "n": c.n,
                "distribution": {str(k): _num(v) for k, v in c.distribution.items()},
            }
            for code, c in fig.criteria.items()
        },
        "groups": [
            {
                "key": g.key,
                "label": g.label,
                "responses": g.figures.responses,
                **block(g.figures, g.hidden),
            }
            for g in result.groups
        ],
    }


@bp.get("/api/v1/summary")
def get_summary():
    """SIPAS figures for a period, within the unit scope of the token's user."""
    user = _bearer_user()
    if user is None:
        return _error(401, None, _("A valid API token is required (Authorization: Bearer …)."))
    group_by = request.args.get("group_by") or None
    if group_by and group_by not in summary.GROUPS:
        return _error(
            400,
            "group_by",
            _("group_by must be one of: %(names)s.", names=", ".join(summary.GROUPS)),
        )
    try:
        _period, filters = summary.filters_from_args(
            request.args,
            today=periods.local_today(current_app.config["SURVEY_TIMEZONE"]),
            require_dates=True,
        )
        result = summary.build_summary(
            filters, visible=scope.visible_unit_ids(user), group_by=group_by, locale=i18n.current()
        )
    except PeriodError as exc:
        return _error(400, exc.field, exc.message)
    except summary.FilterError as exc:
        return _error(403 if exc.forbidden else 400, exc.field, exc.message)
    document = summary_json(result)
    if not result.figures.responses:
        document["message"] = _("No data for this period.")
    return document
