"""Call-back numbers given with consent: stored encrypted, found by keyed hash, withdrawn, purged.

A number is kept only with the citizen's ticked consent, encrypted with SURVEY_DATA_KEY
(survey/datakey.py) in the `contact` table, never in plain in the database or the logs. Staff
see it masked; the case's assignee may reveal it, and every reveal is audited. The citizen gets
a short withdrawal code (shown once on the thank-you page, stored as a keyed hash); withdrawing
empties the number at once, and `purge_contacts` deletes the row (the rating stays).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select

from survey import audit, datakey, questionnaire
from survey.extensions import db
from survey.followup_models import CLOSED, Contact, FollowupCase
from survey.models import Answer, Response, User

RETENTION = timedelta(days=90)  # after the case closes
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone
PHONE_RE = re.compile(r"^0[0-9]{8,10}$")


def _setting() -> str:
    return current_app.config["SURVEY_DATA_KEY"]


def valid_phone(text: str) -> str | None:
    """The normalised number of `text` (0 and 9 to 11 digits), or None when it is not one."""
    phone = datakey.normalise_phone(text or "")
    return phone if PHONE_RE.match(phone) else None


def new_code() -> str:
    """A withdrawal code: 8 characters in two groups, e.g. K7MP-4QXD (40 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _plain_code(code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", (code or "").upper())


def store(response_id: int, phone: str, *, now: datetime) -> str:
    """Keep the consented number `phone` of a response, encrypted (in the session's transaction,
    no commit); return the withdrawal code, which is not stored in plain anywhere."""
    phone, code = datakey.normalise_phone(phone), new_code()
    setting = _setting()
    hash_key = datakey.key_list(setting)[0]
    db.session.add(
        Contact(
            response_id=response_id,
            phone_token=datakey.encrypt(setting, f"{phone}\n{_plain_code(code)}"),
            phone_hash=datakey.keyed_hash(hash_key, phone),
            withdrawal_hash=datakey.keyed_hash(hash_key, _plain_code(code)),
            consented_at=now,
        )
    )
    return code


def _contact(response_id: int) -> Contact | None:
    return db.session.scalar(select(Contact).filter_by(response_id=response_id))


def _phone_of(contact: Contact | None) -> str | None:
    if contact is None or contact.phone_token is None:
        return None
    return datakey.decrypt(_setting(), contact.phone_token).split("\n")[0]


def mask(phone: str) -> str:
    """`phone` with all but its first two and last three digits hidden: 09•• ••• 678."""
    middle = "•" * max(len(phone) - 5, 0)
    return f"{phone[:2]}{middle[:2]} {middle[2:]} {phone[-3:]}".replace("  ", " ")


def masked_phone(response_id: int) -> str | None:
    """The response's call-back number, masked; None when there is none (or it was withdrawn)."""
    phone = _phone_of(_contact(response_id))
    return mask(phone) if phone else None


def reveal_phone(response_id: int, *, user: User) -> str | None:
    """The response's call-back number in full, for `user`; every call is audited."""
    phone = _phone_of(_contact(response_id))
    if phone is not None:
        audit.record("contact.reveal", actor=user.email, target=str(response_id))
    return phone


def has_contact(response_id: int) -> bool:
    """Whether the response has a contact row (even withdrawn)."""
    return _contact(response_id) is not None


def responses_for_phone(phone: str) -> list[int]:
    """The ids of the responses whose call-back number is `phone` (by keyed hash)."""
    hashes = datakey.hashes(_setting(), datakey.normalise_phone(phone))
    query = select(Contact.response_id).where(Contact.phone_hash.in_(hashes))
    return list(db.session.scalars(query.order_by(Contact.response_id)))


def withdraw(code: str, *, now: datetime) -> int | None:
    """Withdraw consent by withdrawal code: the number is emptied at once; the response's id,
    or None for an unknown code."""
    hashes = datakey.hashes(_setting(), _plain_code(code))
    contact = db.session.scalar(select(Contact).where(Contact.withdrawal_hash.in_(hashes)))
    if contact is None:
        return None
    contact.phone_token = contact.phone_hash = contact.withdrawal_hash = None
    contact.withdrawn_at = now
    db.session.commit()
    return contact.response_id


def purge_contacts(*, now: datetime) -> int:
    """Delete the contacts withdrawn, or whose case closed more than 90 days before `now`;
    the ratings stay. Returns the number of rows deleted."""
    closed_long_ago = select(FollowupCase.response_id).where(
        FollowupCase.state == CLOSED, FollowupCase.closed_at < now - RETENTION
    )
    result = db.session.execute(
        delete(Contact).where(
            or_(Contact.withdrawn_at.is_not(None), Contact.response_id.in_(closed_long_ago))
        )
    )
    db.session.commit()
    return result.rowcount


def rotate_key() -> int:
    """Re-encrypt and re-hash every stored number with the first key of SURVEY_DATA_KEY;
    returns the number of rows rewritten."""
    first, rows = datakey.key_list(_setting())[0], 0
    for contact in db.session.scalars(select(Contact).where(Contact.phone_token.is_not(None))):
        phone, code = datakey.decrypt(_setting(), contact.phone_token).split("\n")
        contact.phone_token = datakey.encrypt(_setting(), f"{phone}\n{code}")
        contact.phone_hash = datakey.keyed_hash(first, phone)
        contact.withdrawal_hash = datakey.keyed_hash(first, code) if code else None
        rows += 1
    db.session.commit()
    return rows


def offer_due(response: Response) -> bool:
    """Whether the citizen is offered a call-back: a sent rating of 1 or 2 on the overall
    question, or one with a comment, that has no number yet."""
    if response.status == "partial" or has_contact(response.id):
        return False
    if response.comment:
        return True
    item = questionnaire.by_id(response.questionnaire_id).overall_code
    q_overall = select(Answer.value).where(Answer.response_id == response.id, Answer.item == item)
    return db.session.scalar(q_overall) in (1, 2)
