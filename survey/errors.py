"""Error pages and JSON errors in the visitor's language, never a stack trace."""

from __future__ import annotations

from flask import Flask, current_app, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from survey import logs
from survey.extensions import db
from survey.i18n import lazy_text as _l

# The database cannot be reached, dropped the connection, or stayed locked past the busy
# timeout: the request may succeed later, so it is a 503 with Retry-After, not a 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
RETRY_AFTER_SECONDS = 5

MESSAGES = {
    400: (
        _l("The request could not be understood"),
        _l("Your answers have not been sent. Go back, check the page and try again."),
    ),
    404: (
        _l("Page not found"),
        _l(
            "The page or survey you asked for does not exist. Check the address, or start "
            "again from the list of procedures."
        ),
    ),
    405: (
        _l("This action is not allowed"),
        _l("Your answers have not been sent. Start again from the list of procedures."),
    ),
    413: (
        _l("Too much data was sent"),
        _l("Your answers have not been sent. Shorten your comment and try again."),
    ),
    429: (
        _l("Too many requests"),
        _l("Your answers have not been sent. Wait a minute and try again."),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("Your answers have not been sent. Please try again in a few minutes."),
    ),
    503: (
        _l("The service is temporarily unavailable"),
        _l("Your answers have not been sent. Please try again in a few minutes."),
    ),
}
UNSTORABLE_MESSAGE = (
    _l("The request could not be understood"),
    _l(
        "The request contains characters that cannot be stored, such as a NUL byte. "
        "Nothing has been saved. Check the text and try again."
    ),
)
CSRF_MESSAGE = (
    _l("This page has expired"),
    _l(
        "Your answers have not been sent. Reload the page, then choose your answers "
        "again and send them."
    ),
)


def wants_json() -> bool:
    """True for API requests, which get JSON errors."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def render_error(code: int, title, message):
    """Render the error page (or JSON error) with `code`; a 503 says when to try again."""
    if wants_json():
        response = make_response({"errors": [{"field": None, "message": str(message)}]}, code)
    else:
        page = render_template("errors/error.html", code=code, title=title, message=message)
        response = make_response(page, code)
    if code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _http_error(error: HTTPException):
    code = error.code or 500
    title, message = MESSAGES.get(code, MESSAGES[400 if code < 500 else 500])
    return render_error(code, title, message)


def _csrf_error(error: CSRFError):
    return render_error(400, *CSRF_MESSAGE)


def _database_unavailable(error: Exception):
    try:
        db.session.rollback()
    except DATABASE_UNAVAILABLE:
        pass  # the connection is gone; the session is dropped at the end of the request
    # The class only: the message may quote SQL parameters (a citizen's comment, a token).
    current_app.logger.warning(
        "database unavailable on %s %s: %s",
        request.method,
        logs.request_path(),
        type(getattr(error, "orig", None) or error).__name__,
    )
    return render_error(503, *MESSAGES[503])


def _unexpected(error: Exception):
    # The path is redacted: it may hold a response id or a visit code.
    current_app.logger.exception("unhandled error on %s %s", request.method, logs.request_path())
    return render_error(500, *MESSAGES[500])


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _http_error)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)
