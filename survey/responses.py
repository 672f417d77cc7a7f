"""The write path: validate and record a response.

The HTML pages, the JSON API and the CSV import all go through these functions, so a rule
lives in one place. Every write is idempotent on the response's public id: a retry, a double
tap or the back button never makes a second response or a second set of answers.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey import flags
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.models import Answer, Counter, Response, Service, Unit, utcnow
from survey.questionnaire import Questionnaire

NOT_APPLICABLE = "na"


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str


class Invalid(ValueError):
    """Input refused; `errors` says which field and why, in the visitor's language."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def parse_public_id(value: Any) -> str:
    """Return the canonical form of a response id, or raise Invalid."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise Invalid([FieldError("id", _l("The response id is not valid."))]) from exc


def scale_size(questionnaire: Questionnaire, item: str) -> int:
    """Return how many levels the scale of `item` has."""
    return 4 if item in questionnaire.expectation_codes else 5


def clean_answers(
    questionnaire: Questionnaire,
    raw: Mapping[str, Any],
    *,
    items: Iterable[str],
    required: Iterable[str] = (),
) -> dict[str, int | None]:
    """Check answers to `items` and return them as codes (None = not applicable).

    Values may be integers (JSON) or strings (HTML form); an empty value or "na" means
    skipped or not applicable. Unknown item codes are refused, never ignored.
    """
    items, errors, cleaned = list(items), [], {}
    for code in raw:
        if code not in items:
            errors.append(FieldError(code, _l("This question is not part of the survey.")))
    for code in items:
        value = raw.get(code)
        if value in (None, "", NOT_APPLICABLE):
            if code in required:
                errors.append(FieldError(code, _l("Choose how satisfied you are.")))
            cleaned[code] = None
            continue
        top = scale_size(questionnaire, code)
        if not _on_scale(value, top):
            errors.append(FieldError(code, _l("Choose one of the answers shown.")))
            continue
        cleaned[code] = int(value)
    if errors:
        raise Invalid(errors)
    return cleaned


def _on_scale(value: Any, top: int) -> bool:
    """True for a level 1..top given as a JSON integer or as the form's text."""
    if type(value) is int:
        return 1 <= value <= top
    return isinstance(value, str) and value in {str(n) for n in range(1, top + 1)}


# NUL and lone surrogates: no database stores them (PostgreSQL refuses NUL, UTF-8 has no
# surrogates), so they are refused here, whatever the edge of the app already checked.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = _l(
    "The text holds a character that cannot be stored (NUL or a lone surrogate)."
)


def has_unstorable_text(value: Any) -> bool:
    """True when a string anywhere in `value` (keys included) holds NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def clean_comment(text: str | None) -> str | None:
    """Return the comment normalised to NFC, or raise Invalid when it is too long."""
    if text and UNSTORABLE.search(text):
        raise Invalid([FieldError("comment", UNSTORABLE_MESSAGE)])
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n")).strip()
    limit = current_app.config["MAX_COMMENT_LENGTH"]
    if len(text) > limit:
        raise Invalid(
            [
                FieldError(
                    "comment",
                    _l(
                        "The comment is too long: write at most %(limit)d characters "
                        "(it has %(n)d).",
                        limit=limit,
                        n=len(text),
                    ),
                )
            ]
        )
    return text or None


def find_response(public_id: str) -> Response | None:
    """Return the response with `public_id`, or None (also for a malformed id)."""
    try:
        public_id = parse_public_id(public_id)
    except Invalid:
        return None
    return db.session.scalar(select(Response).filter_by(public_id=public_id))


def find_responses(public_ids: Iterable[str | None]) -> dict[str, Response | None]:
    """The responses with these ids, in one statement: every canonical id is a key, None when
    it is not stored (malformed ids are left out)."""
    found: dict[str, Response | None] = {}
    for value in public_ids:
        try:
            found[parse_public_id(value)] = None
        except Invalid:
            continue
    if found:
        rows = db.session.scalars(select(Response).where(Response.public_id.in_(list(found))))
        found.update({r.public_id: r for r in rows})
    return found


@dataclass(frozen=True)
class Started:
    response: Response
    created: bool


def add_response(
    *,
    public_id: str,
    questionnaire: Questionnaire,
    service: Service,
    unit: Unit,
    counter: Counter | None,
    channel: str,
    locale: str,
    captured_at: datetime | None,
    answers: Mapping[str, int | None],
    kiosk=None,
    flag_reason: str | None = None,
) -> Response:
    """Add a new partial response with its first answers to the session (no commit).

    `flag_reason` holds the phone path's verdict; a kiosk's is worked out here."""
    captured_at = captured_at or utcnow()
    response = Response(
        public_id=public_id,
        questionnaire_id=questionnaire.id,
        service=service,
        unit=unit,
        counter=counter,
        channel=channel,
        locale=locale,
        captured_at=captured_at,
        status="partial",
        kiosk_id=kiosk.id if kiosk else None,
        flag_reason=flags.suspicion(kiosk, captured_at, answers) if kiosk else flag_reason,
        answers=[Answer(item=code, value=value) for code, value in answers.items()],
    )
    db.session.add(response)
    return response


def start_response(
    *,
    public_id: str,
    questionnaire: Questionnaire,
    service: Service,
    unit: Unit,
    counter: Counter | None,
    channel: str,
    locale: str,
    captured_at: datetime | None = None,
    answers: Mapping[str, int | None],
    kiosk=None,
    flag_reason: str | None = None,
    looked_up: bool = False,
) -> Started:
    """Store a new partial response with its first answers, or find the one with that id.

    The unique public id decides, not a check-then-insert: of two identical requests at
    once, one inserts and the other finds its row. `flag_reason` holds the phone path's
    verdict; a kiosk's is worked out here. `looked_up`: the caller has just found no such id.
    """
    existing = None if looked_up else find_response(public_id)
    if existing is not None:
        return Started(existing, False)
    response = add_response(
        public_id=public_id,
        questionnaire=questionnaire,
        service=service,
        unit=unit,
        counter=counter,
        channel=channel,
        locale=locale,
        captured_at=captured_at,
        answers=answers,
        kiosk=kiosk,
        flag_reason=flag_reason,
    )
    try:
        commit_as_written()
    except IntegrityError:
        db.session.rollback()
        return Started(db.session.scalar(select(Response).filter_by(public_id=public_id)), False)
    return Started(response, True)


def commit_as_written() -> None:
    """Commit, keeping the objects of the session as written: nothing the request has just
    stored (the response, its answers, the kiosk) is read back from the database after."""
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def put_answers(response: Response, answers: Mapping[str, int | None]) -> None:
    """Set answers of a response in the session (no commit)."""
    current = {a.item: a for a in response.answers}
    for code, value in answers.items():
        if code in current:
            current[code].value = value
        else:
            response.answers.append(Answer(item=code, value=value))
    response.updated_at = utcnow()


def save_answers(response: Response, answers: Mapping[str, int | None]) -> None:
    """Set the answers of a partial response, replacing earlier answers to the same items."""
    if response.status != "partial" or not answers:
        return
    for attempt in range(2):
        put_answers(response, answers)
        try:
            db.session.commit()
            return
        except IntegrityError:
            # The same page arrived twice at once and the other request inserted first.
            db.session.rollback()
            db.session.refresh(response)
            if attempt:
                raise


def mark_complete(response: Response, comment: str | None) -> bool:
    """Mark a partial response complete in the session (no commit); False when it was not."""
    if response.status != "partial":
        return False
    response.comment = comment
    response.status = "complete"
    response.updated_at = utcnow()
    return True


def finish_response(response: Response, *, comment: str | None = None) -> bool:
    """Mark a response complete with its comment; False when it already was."""
    comment = clean_comment(comment)
    if not mark_complete(response, comment):
        return False
    db.session.commit()
    return True
