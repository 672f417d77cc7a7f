"""Forms of the manager pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Regexp, ValidationError

from survey.accounts import ROLES
from survey.filters import PageField
from survey.flags import PAGE_SIZE
from survey.forms import QueryForm, choices
from survey.i18n import lazy_text as _l


def no_control_characters(form, field) -> None:
    """Refuse control characters (a newline would forge log lines and audit records)."""
    if field.data and not field.data.isprintable():
        raise ValidationError(_l("Enter an e-mail address like name@angiang.gov.vn."))


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Length(max=254),
            no_control_characters,
        ],
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)]
    )


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password."))]
    )
    new = PasswordField(
        _l("New password"), validators=[DataRequired(_l("Enter a new password.")), Length(max=200)]
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new", _l("The two new passwords are not the same."))],
    )


def role_choices():
    labels = {"admin": _l("Administrator"), "manager": _l("Manager"), "viewer": _l("Viewer")}
    return choices((role, labels[role]) for role in ROLES)


class UserForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            no_control_characters,
            Regexp(
                r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z",
                message=_l("Enter an e-mail address like name@angiang.gov.vn."),
            ),
            Length(max=254),
        ],
    )
    role = SelectField(_l("Role"), choices=role_choices)
    units = SelectMultipleField(_l("Units this account may see"), choices=[])
    active = BooleanField(_l("The account may sign in"), default=True)


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from the app, or a recovery code"),
        validators=[DataRequired(_l("Enter the 6-digit code from the app.")), Length(max=64)],
    )


class EnrolForm(FlaskForm):
    code = StringField(
        _l("6-digit code from the app"),
        validators=[DataRequired(_l("Enter the 6-digit code from the app.")), Length(max=20)],
    )


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Your password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)]
    )


class ButtonForm(FlaskForm):
    """Only the CSRF token: a one-button action (sign out, reset two-step sign-in, a token)."""


class ResetPasswordForm(FlaskForm):
    """The "give a new one-time password" button, posted to the account's own page."""

    action = HiddenField()

    def wants_reset(self) -> bool:
        """True when this POST is the reset button, not the account form beside it."""
        return self.validate_on_submit() and self.action.data == "reset"


class NextForm(QueryForm):
    """Where to go after signing in or switching language (checked by the view)."""

    next = StringField()


class PageForm(QueryForm):
    """The page of a long list; anything else than a number is the first page."""

    page = PageField()


class PosterForm(QueryForm):
    """The size and counter of a QR poster."""

    size = StringField(default="a4")
    counter = StringField()


def one_page_of_ratings(form, field) -> None:
    """At least one rating, and no more than one page of the list offers."""
    if not field.data:
        raise ValidationError(_l("Choose at least one rating."))
    if len(field.data) > PAGE_SIZE:
        raise ValidationError(_l("Choose at most the ratings of one page."))


class FlagReviewForm(FlaskForm):
    """A manager's decision on the checked suspect ratings (`id`, one value per rating):
    exclude them from the index for good, or keep them and count them again."""

    id = SelectMultipleField(choices=[], validate_choice=False, validators=[one_page_of_ratings])
    decision = SelectField(
        choices=[
            SelectChoice("confirm", _l("Exclude from the index")),
            SelectChoice("clear", _l("Keep it and count it in the index")),
        ],
        validate_choice=True,
    )


class FlagFilterForm(QueryForm):
    """The filters and page of the suspect ratings; an unknown value reads as "all"."""

    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("All")),
            SelectChoice("pending", _l("Awaiting review")),
            SelectChoice("confirmed", _l("Excluded from the index")),
        ],
        validate_choice=False,
        id="f-status",
    )
    reason = SelectField(_l("Reason"), choices=[], validate_choice=False, id="f-reason")
    page = PageField()

    def kept(self) -> dict[str, str]:
        """The filters a page link or a redirect carries on (those set)."""
        return {k: v for k, v in (("status", self.status.data), ("reason", self.reason.data)) if v}


class KioskForm(FlaskForm):
    """A kiosk's settings. The unit and counter are checked against the places one may see by
    the view, and every code by kiosks (a counter of another unit is refused there); a
    language left out keeps the kiosk's."""

    name = StringField(
        _l("Name"), validators=[Length(max=100, message=_l("Use at most 100 characters."))]
    )
    unit = StringField(_l("Unit"))
    counter = StringField(_l("Counter"))
    language = StringField(_l("Default language"))
    service = StringField(_l("Procedure"))


class NewKioskForm(KioskForm):
    """Register a kiosk: its name is needed."""

    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Enter a name for the kiosk.")),
            Length(max=100, message=_l("Use at most 100 characters.")),
        ],
    )


class RevokeKioskForm(FlaskForm):
    """Revoke a kiosk: the page's second form, told apart by its `action`."""

    action = HiddenField(validators=[AnyOf(["revoke"])])


def _at_most(n: int) -> Length:
    return Length(max=n, message=_l("Use at most %(n)s characters.", n=n))


class CatalogueForm(FlaskForm):
    """One catalogue entry, as a row of the CSV import: survey/catalogue_rules.py checks it
    (the form only bounds the lengths). Which fields a kind uses is the template's."""

    code = StringField(_l("Code"), validators=[_at_most(40)])
    parent = StringField(_l("Unit"))
    name_vi = StringField(_l("Name in Vietnamese"), validators=[_at_most(300)])
    name_en = StringField(_l("Name in English (optional)"), validators=[_at_most(300)])
    name_km = StringField(_l("Name in Khmer (optional)"), validators=[_at_most(300)])
    national_code = StringField(_l("National procedure code (optional)"))
    field = StringField(_l("Field (lĩnh vực)"))
    agency = StringField(_l("Agency"))
    active = BooleanField(_l("Citizens may choose and rate this procedure"), default=True)

    def row(self) -> dict[str, str]:
        """The entry as a row of the import."""
        names = ("code", "parent", "name_vi", "name_en", "name_km", "national_code", "field")
        row = {name: self[name].data or "" for name in (*names, "agency")}
        return {**row, "active": "1" if self.active.data else "0"}
