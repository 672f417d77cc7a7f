"""The forms of the paper pages (survey/admin/paper.py): a typed form, an upload, a print run."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, ValidationError

from survey import paper
from survey.config import LOCALES
from survey.forms import QueryForm, choices
from survey.i18n import lazy_text as _l
from survey.questionnaire import Questionnaire

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English", "km": "ខ្មែរ"}
MAX_PRINTED = 500  # forms in one print run
DIGIT = {
    "maxlength": 1,
    "size": 1,
    "inputmode": "numeric",
    "autocomplete": "off",
    "class": "digit",
}


class EntryForm(FlaskForm):
    """The header of a paper form; `entry_form` adds a field per scored item."""

    serial = StringField(
        _l("Serial number"), id="pf-serial", render_kw={"autocomplete": "off", "autofocus": True}
    )
    unit = SelectField(_l("Unit"), validate_choice=False, id="pf-unit")
    service = StringField(
        _l("Procedure (its code)"), id="pf-service", render_kw={"list": "pf-services"}
    )
    written_on = StringField(
        _l("Date written on the form (dd/mm/yyyy)"),
        id="pf-date",
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )
    locale = SelectField(
        _l("Language of the form"),
        choices=choices((code, LANGUAGE_NAMES[code]) for code in LOCALES),
        default="vi",
        id="pf-locale",
    )
    comment = TextAreaField(_l("Comment written on the form (optional)"), id="pf-comment")
    double = BooleanField(
        _l("A second person types this form again to check it (double entry)"), id="pf-double"
    )


def entry_form(q: Questionnaire, **kwargs) -> EntryForm:
    """The entry form of questionnaire `q`: the header and one digit per scored item."""
    fields = {code: StringField(code, id=f"pf-{code}", render_kw=DIGIT) for code in paper.items(q)}
    return type("PaperEntryForm", (EntryForm,), fields)(**kwargs)


class KeptForm(QueryForm):
    """What the next form of a batch most likely shares with the last one: the unit, the date
    written on it and its language (carried in the link after a save)."""

    unit = StringField()
    written_on = StringField()
    locale = StringField()

    def kept(self) -> dict[str, str]:
        """The carried values, to prefill the next form."""
        return {name: field.data for name, field in self._fields.items() if field.data}


class UploadForm(FlaskForm):
    file = FileField(
        _l("CSV file of typed forms"),
        validators=[FileRequired(_l("Choose a CSV file."))],
        id="pi-file",
    )


class PrintForm(QueryForm):
    """A print run of blank forms: the language and the serial numbers."""

    lang = SelectField(
        _l("Language of the form"),
        choices=choices((code, LANGUAGE_NAMES[code]) for code in LOCALES),
        default="vi",
        id="pp-lang",
    )
    prefix = StringField(_l("Serial number prefix"), default="P", id="pp-prefix")
    first = IntegerField(
        _l("First number"),
        default=1,
        validators=[
            InputRequired(_l("Type the first number, for example 1.")),
            NumberRange(1, 999_999, _l("Type a number from 1 to 999999.")),
        ],
        id="pp-first",
        render_kw={"inputmode": "numeric"},
    )
    count = IntegerField(
        _l("Number of forms"),
        default=20,
        validators=[
            InputRequired(_l("Type how many forms to print, for example 20.")),
            NumberRange(1, MAX_PRINTED, _l("Print from 1 to 500 forms at a time.")),
        ],
        id="pp-count",
        render_kw={"inputmode": "numeric"},
    )

    def validate_prefix(self, field) -> None:
        prefix = (field.data or "").strip().upper()
        if len(prefix) > 32 or not paper.SERIAL.match(f"{prefix}-1"):
            raise ValidationError(_l("Use letters, digits and dashes, for example TTHCC."))

    def serials(self) -> list[str]:
        """The serial numbers of the run: PREFIX-000001 and on."""
        prefix = self.prefix.data.strip().upper()
        first = self.first.data
        return [f"{prefix}-{n:06d}" for n in range(first, first + self.count.data)]
