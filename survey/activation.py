"""Kiosk activation: a confirmation page first, and never on a browser signed in as staff.

An activation link opened by mistake (or sent on purpose) on a manager's browser would make
that browser a kiosk: it would lose the manager pages and rate as a device. So the link only
shows what it would do; a POST with the form's CSRF token does it, and a signed-in browser is
refused.
"""

from __future__ import annotations

from flask import request
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from survey import abuse
from survey.forms import CarriedForm

COOKIE_AGE = 10 * 365 * 24 * 3600


class ActivateForm(CarriedForm):
    """The token comes in the link's query string (GET) and back in the confirmation's body."""

    class Meta:
        # The confirmation is a staff member's POST: it checks its token as any Flask-WTF form
        # does (the app's WTF_CSRF_ENABLED), unlike the citizen pages' forms.
        csrf = FlaskForm.Meta.csrf

    token = HiddenField(validators=[DataRequired(), Length(max=100)])


def staff_browser() -> bool:
    """True when this browser is signed in to the manager pages."""
    return bool(current_user.is_authenticated)


def remember_device(response: Response, token: str) -> Response:
    """Keep the kiosk's credential in a long-lived HttpOnly cookie."""
    response.set_cookie(
        abuse.KIOSK_COOKIE,
        token,
        max_age=COOKIE_AGE,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )
    return response
