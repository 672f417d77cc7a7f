"""The kiosk's pairing screen, /k/pair: staff type the code of the manager page on a keypad.

Kiosks have no keyboard and no camera, so the screen carries its own keypad. Each key is a
submit button: without script, a key posts the digits typed so far and the page comes back
with one more (nothing is stored); the small script types on the page itself. Only the
"Pair" button tries the code (survey/pairing.py counts and checks it), at most as often from
one address as a sign-in (SURVEY_SIGNIN_RATE_LIMIT, in the shared limits store). A browser
signed in to the manager pages is refused, as activation refuses it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import Regexp

from survey import activation, pairing, public
from survey.config import LOCALES
from survey.extensions import limiter
from survey.forms import QueryForm
from survey.i18n import lazy_text as _l
from survey.kiosk_mode import PREFIX

bp = Blueprint("kiosk_pairing", __name__, url_prefix=PREFIX)
bp.after_request(public.no_store)  # as every page under /k
KEYS = tuple("1234567890") + ("back", "clear", "pair")
# One message for a wrong, expired, used or worn-out code: the screen tells nobody which.
REFUSED = _l(
    "This code is not accepted: it may be mistyped, older than 10 minutes, used already or "
    "tried 5 times. Check it, or get a new code on the Kiosks page."
)


class LanguageForm(QueryForm):
    """The pairing screen's language (?lang=): a kiosk not yet paired has none of its own."""

    lang = StringField()


class PairForm(FlaskForm):
    """The digits typed so far and the key pressed."""

    code = HiddenField(validators=[Regexp(r"^[0-9]{0,8}$")])
    key = StringField(validators=[Regexp("^(" + "|".join(KEYS) + ")$")])

    def typed(self) -> str:
        """The digits after this key press (at most 8)."""
        code, key = self.code.data or "", self.key.data
        if key == "back":
            return code[:-1]
        if key == "clear":
            return ""
        return (code + key)[: pairing.CODE_DIGITS] if key.isdigit() else code


@bp.before_request
def _language():
    lang = LanguageForm().lang.data
    if lang in LOCALES:
        g.lang = lang  # read by the locale selector (survey/i18n.py) ...
        refresh()  # ... which the form has asked already (for its messages' language)


@bp.route("/pair", methods=["GET", "POST"])
@limiter.limit(  # tries of a code, as sign-ins: a key typing a digit is no try
    lambda: current_app.config["SURVEY_SIGNIN_RATE_LIMIT"],
    key_func=get_remote_address,
    methods=["POST"],
    exempt_when=lambda: request.form.get("key") != "pair",
    scope="kiosk-pair",
)
def pair():
    """The pairing screen: a keypad; the right code makes this browser that kiosk, once."""
    if activation.staff_browser():
        return render_template("public/pair.html", refused=True, code="", error=None), 403
    form = PairForm()
    if not form.validate_on_submit():
        return _screen("", None if not form.is_submitted() else _("Press a key of the keypad."))
    code = form.typed()
    if form.key.data != "pair":
        return _screen(code, None)
    if len(code) != pairing.CODE_DIGITS:
        return _screen(code, _("Type all 8 digits of the code."))
    paired = pairing.pair(code)
    if paired is None:
        return _screen("", str(REFUSED), 403)
    response = redirect(url_for("kiosk.root"), 303)
    return activation.remember_device(response, paired[1])


def _screen(code: str, error: str | None, status: int | None = None):
    """The keypad with the digits typed so far, and an error (400 unless told)."""
    page = render_template("public/pair.html", refused=False, code=code, error=error)
    return page, status or (400 if error else 200)
