"""Forms of the alert choices and of comment redaction (issue 13)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from survey.alert_rules import KINDS
from survey.alerts import KIND_LABELS
from survey.config import LOCALES
from survey.forms import choices
from survey.i18n import LANGUAGE_NAMES
from survey.i18n import lazy_text as _l


class AlertPreferenceForm(FlaskForm):
    kinds = SelectMultipleField(
        _l("Alerts to receive by e-mail"),
        choices=choices((kind, KIND_LABELS[kind]) for kind in KINDS),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
    digest = BooleanField(_l("A daily summary (counts and links only)"))
    locale = SelectField(
        _l("Language of the e-mails"), choices=choices((c, LANGUAGE_NAMES[c]) for c in LOCALES)
    )


class RedactForm(FlaskForm):
    text = TextAreaField(
        _l("The comment, without personal details"),
        validators=[Length(max=1200, message=_l("Write at most %(max)d characters."))],
    )
    save = SubmitField(_l("Save the redacted comment"))
    remove = SubmitField(_l("Remove the whole comment"))
