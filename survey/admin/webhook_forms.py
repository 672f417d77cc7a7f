"""The form of the webhooks page (survey/admin/webhooks.py)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from survey.admin.forms import no_control_characters
from survey.i18n import lazy_text as _l
from survey.webhook_models import CASE_CLOSED, CASE_OPENED, DAILY_SUMMARY, RATING_RECORDED
from survey.webhook_net import MAX_URL, AddressRefused

EVENT_LABELS = {
    RATING_RECORDED: _l("A rating is recorded (the anonymous answers, without the comment)"),
    CASE_OPENED: _l("A follow-up case is opened"),
    CASE_CLOSED: _l("A follow-up case is closed"),
    DAILY_SUMMARY: _l("The daily summary (counts and index per unit)"),
}


class WebhookForm(FlaskForm):
    """Register an endpoint: its HTTPS address and the events it receives."""

    url = StringField(
        _l("Address (https://…)"),
        validators=[
            DataRequired(_l("Enter the address that receives the events.")),
            Length(max=MAX_URL),
            no_control_characters,
        ],
        id="webhook-url",
    )
    events = SelectMultipleField(
        _l("Events to send"),
        choices=[SelectChoice(value, label) for value, label in EVENT_LABELS.items()],
        validators=[DataRequired(_l("Choose at least one event."))],
    )


def refusal_message(exc: AddressRefused) -> str:
    """Why an address was refused, in the page's language."""
    if exc.reason == "private" and exc.address != exc.detail:
        return _(
            "%(host)s resolves to %(address)s, a private, loopback or link-local address: "
            "webhooks only go to public addresses.",
            host=exc.detail,
            address=exc.address,
        )
    if exc.reason == "private":
        return _(
            "%(detail)s is a private, loopback or link-local address: webhooks only go to "
            "public addresses.",
            detail=exc.detail,
        )
    if exc.reason == "unresolvable":
        return _("The host name %(host)s cannot be found.", host=exc.detail)
    if exc.reason == "credentials":
        return _("Do not put a user name or password in the address.")
    return _("Enter an address that starts with https://.")
