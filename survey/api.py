"""JSON API v1 and the health check (DESIGN.md §4)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, make_response, request
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError

from survey import (
    abuse,
    autocommit,
    catalogue,
    credentials,
    exports,
    i18n,
    kiosks,
    openapi,
    profiles,
    questionnaire,
    responses,
    scope,
    submission_write,
    submissions,
    summary,
    visits,
)
from survey.extensions import csrf, db
from survey.filters import FilterError, Filters, SummaryFilterForm
from survey.jsonio import error as _error
from survey.jsonio import json_body as _json_body
from survey.summary_json import summary_json

bp = Blueprint("api", __name__)
csrf.exempt(bp)
RETRY_AFTER = 10  # seconds a device waits before sending again when the database is away


@bp.before_request
def refuse_unstorable_query():
    """Refuse NUL or lone surrogates in the query string: no database stores them."""
    if responses.has_unstorable_text(request.args.to_dict(flat=False)):
        return _error(400, None, responses.UNSTORABLE_MESSAGE)
    return None


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
def database_unavailable(_error_):
    """The database is away: 503 with Retry-After, so that devices keep and resend."""
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone too; the next request gets a new one
        pass
    current_app.logger.warning("database unavailable on %s %s", request.method, request.path)
    body, status = _error(503, None, _("The database is unavailable. Send again later."))
    return body, status, {"Retry-After": str(RETRY_AFTER)}


@bp.get("/api/v1/openapi.json")
def openapi_json():
    """The OpenAPI description of this API (the province's other systems build on it)."""
    return openapi.document()


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
        return _error(503, None, _("No questionnaire is active yet."))
    return questionnaire.localized(q, i18n.current())


@bp.get("/api/v1/services")
def services():
    """The active services."""
    return catalogue.list_services(i18n.current())


@bp.get("/api/v1/units")
def units():
    """Centres and service points with their counters."""
    return catalogue.list_units(i18n.current())


@bp.get("/api/v1/summary")
def get_summary():
    """SIPAS figures for a period, within the unit scope of the token's user."""
    form = SummaryFilterForm.from_query(api=True)
    filters = _token_filters(form)
    result = summary.build_summary(filters, group_by=form.group_by.data, locale=i18n.current())
    return summary_json(result)


def _token_filters(form: SummaryFilterForm) -> Filters:
    """The form's filters within the scope of the API token's user; the error reply (401,
    400 or 403) raised otherwise."""
    user = credentials.api_user()
    if user is None:
        abort(
            make_response(
                *_error(401, None, _("A valid API token is required (Authorization: Bearer …)."))
            )
        )
    try:
        return form.resolve(visible=scope.visible_unit_ids(user))
    except FilterError as exc:
        abort(make_response(*_error(403 if exc.forbidden else 400, exc.field, exc.message)))


@bp.get("/api/v1/export/<what>.<fmt>")
def get_export(what: str, fmt: str):
    """An export (survey.exports) for a period, within the token user's scope and role."""
    user = credentials.api_user()
    if user is None:
        return _error(401, None, _("A valid API token is required (Authorization: Bearer …)."))
    if what not in exports.WHATS or fmt not in exports.FORMATS:
        return _error(404, None, _("There is no such export."))
    try:
        job = exports.prepare(what, fmt, user=user, api=True, lang=None)
    except exports.ExportRefused:
        return _error(403, None, _("Your role may not read comments."))
    except FilterError as exc:
        return _error(403 if exc.forbidden else 400, exc.field, exc.message)
    return exports.streamed(exports.Export(job, actor=user.email, via="api"), job)


@bp.get("/api/v1/profile")
def get_profile():
    """The index per respondent profile option ("who is satisfied"), with the filters and
    scope of /api/v1/summary; groups with fewer than 5 ratings are hidden."""
    filters = _token_filters(SummaryFilterForm.from_query(api=True))
    return profiles.breakdown_json(filters, profiles.breakdown(filters, i18n.current()))


# --- Writes from kiosks and other devices --------------------------------------------------

BATCH_MAX = submissions.BATCH_MAX


def _refuse_device():
    abort(
        make_response(*_error(401, None, _("This device is not registered or has been revoked.")))
    )


def _device_or_401():
    device = abuse.current_kiosk()
    if device is None:
        _refuse_device()
    return device


def _peek() -> dict:
    """The body's JSON object, or {}: read before the device is known, without answering an
    error, so that a device that is not registered hears 401 before any 400 about its body."""
    try:
        data = json.loads(request.get_data(cache=True)) if request.is_json else None
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _storable_text(value: Any) -> str | None:
    return value if isinstance(value, str) and not responses.has_unstorable_text(value) else None


def _device_and_known(first: dict):
    """The device (else 401), the active questionnaire, and the service and stored response
    `first` names as the submissions' Known: one statement."""
    submission_write.statement_per_transaction()
    service_code, public_id = _storable_text(first.get("service")), _item_id(first)
    try:
        public_id = responses.parse_public_id(public_id) if public_id else None
    except responses.Invalid:
        public_id = None
    captured_at = submissions.capture_time(first.get("captured_at"))
    device, service, existing, q = abuse.kiosk_for_write(service_code, public_id, captured_at)
    if device is None:
        _refuse_device()
    return (
        device,
        q,
        submissions.Known(
            {service_code: service} if service_code is not None else {},
            {public_id: existing} if public_id else {},
        ),
    )


def _errors_json(errors: list[responses.FieldError]) -> dict:
    return {"errors": [{"field": e.field, "message": str(e.message)} for e in errors]}


def _item_id(data: Any) -> str | None:
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and not responses.has_unstorable_text(value) else None


def _record_one(q, device, data, known) -> tuple[dict, int]:
    if isinstance(data, dict) and not data.get("counter") and device.counter is not None:
        data = {**data, "counter": device.counter.code}  # the kiosk's own counter
    try:
        submission = submissions.check_submission(
            q, data, unit=device.unit, channel="kiosk", own_counter=device.counter, known=known
        )
        known.responses.pop(submission.public_id, None)  # stored now: looked up if sent again
        status = submission_write.record_submission(
            q, submission, unit=device.unit, channel="kiosk", kiosk=device
        )
    except responses.Invalid as exc:
        return {"id": _item_id(data), "status": "invalid", **_errors_json(exc.errors)}, 422
    return {"id": submission.public_id, "status": status}, 201 if status == "created" else 200


@bp.post("/api/v1/responses")
@abuse.kiosk_requests_limited
def post_response():
    """Record one response from a kiosk (idempotent on its id)."""
    device, q, known = _device_and_known(_peek())
    body, status = _record_one(q, device, _json_body(), known)
    return body, status


@bp.post("/api/v1/responses/batch")
@abuse.kiosk_requests_limited
def post_batch():
    """Record queued responses; answer a definite status per item (the offline queue syncs here).

    Each item is its own transaction. If the database goes away, the whole batch answers 503
    with Retry-After: items stored before it come back as "duplicate" when sent again.
    """
    items = _peek().get("responses")
    first = items[0] if isinstance(items, list) and items else None
    device, q, known = _device_and_known(
        {k: first.get(k) for k in ("service", "captured_at")} if isinstance(first, dict) else {}
    )
    body = _json_body()
    items = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 0 < len(items) <= BATCH_MAX:
        return _error(422, "responses", _("Send between 1 and %(n)d responses.", n=BATCH_MAX))
    autocommit.session_reads()
    known.responses.update(responses.find_responses([_item_id(item) for item in items]))
    return {"results": [_record_isolated(q, device, item, known) for item in items]}


def _record_isolated(q, device, item, known) -> dict:
    """One batch item: stored, or refused for good ("invalid", "rejected"), never "try again"."""
    try:
        return _record_one(q, device, item, known)[0]
    except (OperationalError, InterfaceError):
        raise  # the database is away: the whole batch answers 503
    except Exception:  # a rating we cannot store would otherwise be resent forever
        db.session.rollback()
        current_app.logger.exception("batch item rejected: it could not be stored")
        message = _("The server could not store this rating. The kiosk keeps it for staff.")
        return {"id": _item_id(item), "status": "rejected", **_error(422, None, message)[0]}


@bp.post("/api/v1/kiosk/heartbeat")
def kiosk_heartbeat():
    """A kiosk says it is alive, with its version and how many ratings it holds."""
    device = _device_or_401()
    data = _json_body() if request.data else {}
    counts = [
        data.get(k, 0) if isinstance(data, dict) else None for k in ("queued", "dead_letters")
    ]
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 10**6 for n in counts):
        return _error(422, "queued", _("Give the queue sizes as whole numbers."))
    version = data.get("app_version")
    if version is not None and not isinstance(version, str):
        return _error(422, "app_version", _("This field must be text."))
    if responses.has_unstorable_text(version):
        return _error(422, "app_version", responses.UNSTORABLE_MESSAGE)
    kiosks.heartbeat(
        device,
        app_version=str(data.get("app_version") or ""),
        queued=counts[0],
        dead_letters=counts[1],
    )
    return {
        "status": "ok",
        "unit": device.unit.code,
        "counter": device.counter.code if device.counter else None,
    }


@bp.post("/api/v1/visit-codes")
def post_visit_codes():
    """For the one-stop software: new single-use codes (with their addresses) for a service."""
    user = credentials.api_user()
    if user is None or user.role == "viewer":
        return _error(401, None, _("A valid API token is required (Authorization: Bearer …)."))
    try:
        order = visits.check_order(_json_body(), user=user)
    except visits.VisitError as exc:
        return _error(exc.status, exc.field, exc.message)
    codes = visits.mint(order.service, order.count, counter=order.counter, actor=user.email)
    return {"codes": [{"code": c, "url": visits.url(c)} for c in codes]}, 201
