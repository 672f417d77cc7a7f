"""JSON API v1 and the health check (DESIGN.md §4)."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from survey import i18n, questionnaire, summary
from survey.extensions import csrf, db

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
