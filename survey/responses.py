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
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey import abuse
from survey.extensions import db
from survey.models import Answer, Counter, Response, Service, Unit, utcnow
from survey.questionnaire import Questionnaire

CHANNELS = ("kiosk", "qr", "web", "paper")
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
        if isinstance(value, bool) or str(value) not in {str(n) for n in range(1, top + 1)}:
            errors.append(FieldError(code, _l("Choose one of the answers shown.")))
            continue
        cleaned[code] = int(value)
    if errors:
        raise Invalid(errors)
    return cleaned


def clean_comment(text: str | None) -> str | None:
    """Return the comment normalised to NFC, or raise Invalid when it is too long."""
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


def find_service(code: str) -> Service | None:
    """Return the active service with `code`, or None."""
    return db.session.scalar(select(Service).filter_by(code=code, active=True))


def find_counter(code: str | None) -> Counter | None:
    """Return the counter with `code`, or None."""
    return code and db.session.scalar(select(Counter).filter_by(code=code)) or None


def find_response(public_id: str) -> Response | None:
    """Return the response with `public_id`, or None (also for a malformed id)."""
    try:
        public_id = parse_public_id(public_id)
    except Invalid:
        return None
    return db.session.scalar(select(Response).filter_by(public_id=public_id))


@dataclass(frozen=True)
class Started:
    response: Response
    created: bool


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
    flags: str | None = None,
) -> Started:
    """Store a new partial response with its first answers, or find the one with that id.

    The unique public id decides, not a check-then-insert: of two identical requests at
    once, one inserts and the other finds its row. `flags` holds the phone path's verdict;
    a kiosk's is worked out here.
    """
    existing = find_response(public_id)
    if existing is not None:
        return Started(existing, False)
    response = Response(
        public_id=public_id,
        questionnaire_id=questionnaire.id,
        service=service,
        unit=unit,
        counter=counter,
        channel=channel,
        locale=locale,
        captured_at=captured_at or utcnow(),
        status="partial",
        kiosk_id=kiosk.id if kiosk else None,
        flags=abuse.suspicion(kiosk, captured_at or utcnow(), answers) if kiosk else flags,
        answers=[Answer(item=code, value=value) for code, value in answers.items()],
    )
    db.session.add(response)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return Started(db.session.scalar(select(Response).filter_by(public_id=public_id)), False)
    return Started(response, True)


def save_answers(response: Response, answers: Mapping[str, int | None]) -> None:
    """Set the answers of a partial response, replacing earlier answers to the same items."""
    if response.status != "partial" or not answers:
        return
    for attempt in range(2):
        current = {a.item: a for a in response.answers}
        for code, value in answers.items():
            if code in current:
                current[code].value = value
            else:
                response.answers.append(Answer(item=code, value=value))
        response.updated_at = utcnow()
        try:
            db.session.commit()
            return
        except IntegrityError:
            # The same page arrived twice at once and the other request inserted first.
            db.session.rollback()
            db.session.refresh(response)
            if attempt:
                raise


def finish_response(response: Response, *, comment: str | None = None) -> bool:
    """Mark a response complete with its comment; False when it already was."""
    comment = clean_comment(comment)
    if response.status != "partial":
        return False
    response.comment = comment
    response.status = "complete"
    response.updated_at = utcnow()
    db.session.commit()
    return True


def set_flag(response: Response, flag: str | None) -> None:
    """Flag a response as suspect (kept, left out of the index), or clear its flag."""
    response.flags = flag
    db.session.commit()


# --- Whole responses from the JSON API (kiosks, the offline queue, other systems) ----------

MAX_AHEAD = timedelta(minutes=5)
MAX_AGE = timedelta(days=30)
PHONE_RE = re.compile(r"^\+?[0-9]{9,12}$")


@dataclass(frozen=True)
class Submission:
    """A checked API payload, ready to be recorded."""

    public_id: str
    service: Service
    counter: Counter | None
    captured_at: datetime
    locale: str
    answers: dict[str, int | None]
    comment: str | None
    profile: dict[str, str] | None
    phone: str | None
    complete: bool


def _captured_at(value: Any, errors: list[FieldError]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        errors.append(
            FieldError("captured_at", _l("Give the capture time in ISO 8601 with a time zone."))
        )
        return None
    if moment.tzinfo is None:
        errors.append(FieldError("captured_at", _l("The capture time needs a time zone.")))
        return None
    now = utcnow()
    if moment > now + MAX_AHEAD:
        errors.append(
            FieldError(
                "captured_at", _l("The capture time is in the future: check the device clock.")
            )
        )
    elif moment < now - MAX_AGE:
        errors.append(
            FieldError(
                "captured_at", _l("The rating is older than 30 days and can no longer be accepted.")
            )
        )
    return moment.astimezone(UTC)


def _profile(q: Questionnaire, value: Any, errors: list[FieldError]) -> dict[str, str] | None:
    if not value:
        return None
    fields = {f["code"]: {o["code"] for o in f.get("options") or []} for f in q.data["profile"]}
    if not isinstance(value, dict) or any(
        fields.get(k) is None or not isinstance(v, str) or v not in fields[k]
        for k, v in value.items()
    ):
        errors.append(FieldError("profile", _l("The profile holds an unknown field or option.")))
        return None
    return dict(value)


def _phone(value: Any, errors: list[FieldError]) -> str | None:
    if not value or not isinstance(value, dict) or not value.get("phone"):
        return None
    phone = re.sub(r"[ .-]", "", str(value["phone"]))
    if value.get("consent") is not True:
        errors.append(FieldError("contact", _l("A phone number is kept only with consent.")))
    elif not PHONE_RE.match(phone):
        errors.append(FieldError("contact", _l("The phone number is not valid.")))
    return phone


def _answers_of(q: Questionnaire, data: dict, errors: list[FieldError]) -> dict[str, int | None]:
    answers, expectations = data.get("answers") or {}, data.get("expectations") or {}
    if not isinstance(answers, dict) or not isinstance(expectations, dict):
        errors.append(FieldError("answers", _l("Answers must be given as an object of codes.")))
        return {}
    raw = {str(code): value for code, value in answers.items()}
    for number, value in expectations.items():
        raw[f"EX{number}"] = value
    try:
        answers = clean_answers(q, raw, items=[q.overall_code, *q.criteria, *q.expectation_codes])
    except Invalid as exc:
        errors.extend(FieldError(f"answers.{e.field}", e.message) for e in exc.errors)
        return {}
    return {code: value for code, value in answers.items() if code in raw}


def check_submission(q: Questionnaire, data: Any, *, unit: Unit) -> Submission:
    """Check one API payload with the same rules as the pages; raise Invalid with all errors."""
    if not isinstance(data, dict):
        raise Invalid([FieldError(None, _l("Each response must be a JSON object."))])
    errors: list[FieldError] = []
    try:
        public_id = parse_public_id(data.get("id"))
    except Invalid as exc:
        errors.extend(exc.errors)
        public_id = ""
    for name in ("service", "counter", "comment", "locale", "captured_at"):
        if data.get(name) is not None and not isinstance(data[name], str):
            errors.append(FieldError(name, _l("This field must be text.")))
    if errors:
        raise Invalid(errors)
    service = find_service(str(data.get("service") or ""))
    if service is None:
        errors.append(FieldError("service", _l("Unknown or inactive procedure.")))
    counter = find_counter(data.get("counter"))
    if data.get("counter") and (counter is None or counter.unit_id != unit.id):
        errors.append(FieldError("counter", _l("Unknown counter for this unit.")))
    locale = data.get("locale") or "vi"
    if locale not in ("vi", "en", "km"):
        errors.append(FieldError("locale", _l("Unknown language.")))
    captured_at = _captured_at(data.get("captured_at"), errors)
    answers = _answers_of(q, data, errors)
    if (
        public_id
        and not any(v is not None for v in answers.values())
        and (find_response(public_id) is None)
    ):
        # A new response needs an answer; a known one may be completed with a comment only.
        errors.append(FieldError("answers", _l("The response has no answer.")))
    try:
        comment = clean_comment(data.get("comment"))
    except Invalid as exc:
        errors.extend(exc.errors)
        comment = None
    profile, phone = _profile(q, data.get("profile"), errors), _phone(data.get("contact"), errors)
    if errors:
        raise Invalid(errors)
    return Submission(
        public_id,
        service,
        counter,
        captured_at,
        locale,
        answers,
        comment,
        profile,
        phone,
        data.get("status", "complete") != "partial",
    )


def record_submission(
    q: Questionnaire, sub: Submission, *, unit: Unit, channel: str, kiosk=None
) -> str:
    """Store a checked submission; "created", "updated" (a partial one completed) or
    "duplicate" (already there: nothing changes)."""
    started = start_response(
        public_id=sub.public_id,
        questionnaire=q,
        service=sub.service,
        unit=unit,
        counter=sub.counter,
        channel=channel,
        locale=sub.locale,
        captured_at=sub.captured_at,
        answers=sub.answers,
        kiosk=kiosk,
    )
    response = started.response
    if not started.created:
        if response.status != "partial" or response.service_id != sub.service.id:
            return "duplicate"
        new = {k: v for k, v in sub.answers.items() if k not in {a.item for a in response.answers}}
        if not new and not sub.complete:
            return "duplicate"
        save_answers(response, new)
    if sub.profile:
        response.profile = sub.profile
    if sub.phone:
        response.contact_phone, response.contact_consent = sub.phone, True
    if sub.complete:
        finish_response(response, comment=sub.comment)
    else:
        db.session.commit()
    return "created" if started.created else "updated"
