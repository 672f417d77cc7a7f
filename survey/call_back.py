"""The call-back offer on the citizen pages (phone and kiosk): after a rating of 1 or 2 on the
overall question, or a comment, the citizen may leave a phone or Zalo number to be called back.

The number is kept only with the consent box ticked (survey/contacts.py encrypts it) and opens
a follow-up case in the same transaction (survey/cases.py). The withdrawal code is shown once,
on the thank-you page that follows. The views are added to the citizen blueprint (and so to
the kiosk's copy of it) by `add_routes`, which public.py calls.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, session, url_for
from wtforms import BooleanField, StringField

from survey import cases, citizen, contacts
from survey.extensions import db
from survey.forms import CarriedForm
from survey.i18n import lazy_text as _l
from survey.models import Response, utcnow
from survey.responses import FieldError

ASKED_KEY, CODE_KEY = "call_back_asked", "withdrawal_code"


class CallBackForm(CarriedForm):
    """The number and the consent box of the call-back offer."""

    phone = StringField()
    consent = BooleanField()


def offer_pending(response: Response) -> bool:
    """Whether the thank-you page should first offer the call-back (once per rating)."""
    return response.public_id not in session.get(ASKED_KEY, []) and contacts.offer_due(response)


def _asked(response: Response) -> None:
    session[ASKED_KEY] = [response.public_id, *session.get(ASKED_KEY, [])][:20]


def shown_code(response: Response) -> str | None:
    """The withdrawal code to show once on the thank-you page of `response`, if any."""
    kept = session.get(CODE_KEY)
    if not kept or kept[0] != response.public_id:
        return None
    session.pop(CODE_KEY)
    return kept[1]


def keep_number(response: Response, *, phone: str, consent: bool) -> list[FieldError]:
    """Keep the number with its consent and open the case; the errors when it cannot be."""
    errors = []
    number = contacts.valid_phone(phone)
    if number is None:
        text = _l("Enter a phone number of 10 or 11 digits, such as 0912 345 678.")
        errors.append(FieldError("phone", text))
    if not consent:
        text = _l("Tick the box to agree that the centre keeps your number, or leave without it.")
        errors.append(FieldError("consent", text))
    if errors or contacts.has_contact(response.id):
        return errors
    now = utcnow()
    code = contacts.store(response.id, number, now=now)
    cases.open_case(response.id, now=now)
    db.session.commit()
    session[CODE_KEY] = [response.public_id, code]
    return []


def call_back(rid: str):
    """The call-back offer: a phone or Zalo number and an unticked consent box."""
    response = citizen.owned_response(rid) or abort(404)
    if not contacts.offer_due(response):
        return redirect(url_for(".thank_you", rid=rid), 303)
    _asked(response)
    form, errors = CallBackForm(), []
    if form.is_submitted():
        errors = keep_number(response, phone=form.phone.data or "", consent=form.consent.data)
        if not errors:
            return redirect(url_for(".thank_you", rid=rid), 303)
    page = render_template(
        "public/call_back.html", response=response, errors=errors, phone=form.phone.data or ""
    )
    return page, 400 if errors else 200


def add_routes(bp: Blueprint) -> None:
    """Add the call-back page to the citizen blueprint."""
    bp.add_url_rule("/<lang:lang>/r/<rid>/call-back", view_func=call_back, methods=["GET", "POST"])
