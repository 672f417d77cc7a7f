"""Whole responses from the JSON API: kiosks, their offline queue and other systems.

The payload is checked here with the rules of the pages (survey/responses.py), then stored by
survey/submission_write.py in one transaction: the response, its answers, its rollup counts
and any abuse flag commit together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from survey import autocommit, flags
from survey.catalogue import find_counter, find_service
from survey.config import LOCALES
from survey.i18n import lazy_text as _l
from survey.kiosks import Place
from survey.models import Counter, Response, Service, Unit, utcnow
from survey.questionnaire import Questionnaire
from survey.responses import (
    UNSTORABLE_MESSAGE,
    FieldError,
    Invalid,
    clean_answers,
    clean_comment,
    find_response,
    has_unstorable_text,
    parse_public_id,
)

BATCH_MAX = 50  # responses in one batch call
MAX_AHEAD = flags.MAX_AHEAD
MAX_AGE = timedelta(days=30)
PHONE_RE = re.compile(r"^\+?[0-9]{9,12}$")


@dataclass(frozen=True)
class Submission:
    """A checked API payload, ready to be recorded."""

    public_id: str
    service: Service | Place
    counter: Counter | Place | None
    captured_at: datetime
    locale: str
    answers: dict[str, int | None]
    comment: str | None
    profile: dict[str, str] | None
    phone: str | None
    complete: bool
    existing: Response | None = None  # the stored response with this id, as found by the check


@dataclass(frozen=True)
class Known:
    """What the caller has already read for its payloads: active services by code and stored
    responses by id (None: no such service, no such response). A code or id not in it is
    looked up; the services read are kept for the next payloads of the same request."""

    services: dict[str, Service | Place | None]
    responses: dict[str, Response | None]


def _service(code: str, known: Known | None) -> Service | Place | None:
    if known is not None and code in known.services:
        return known.services[code]
    autocommit.session_reads()  # a read the caller has not made: it needs no transaction
    found = find_service(code)
    if known is not None:
        known.services[code] = found
    return found


def _existing(public_id: str, known: Known | None) -> Response | None:
    if known is not None and public_id in known.responses:
        return known.responses[public_id]
    autocommit.session_reads()
    return find_response(public_id)


def capture_time(value: Any) -> datetime | None:
    """The capture time `value` names in UTC, if the checks below will take it (else None): to
    read ahead what a rating captured then needs."""
    errors: list[FieldError] = []
    return _captured_at(value, errors) if value is not None else None


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
    # Compared before any conversion: years 1 and 9999 must be refused, not overflow.
    if moment > now + MAX_AHEAD:
        errors.append(
            FieldError(
                "captured_at", _l("The capture time is in the future: check the device clock.")
            )
        )
        return None
    if moment < now - MAX_AGE:
        errors.append(
            FieldError(
                "captured_at", _l("The rating is older than 30 days and can no longer be accepted.")
            )
        )
        return None
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
    phone = re.sub(r"[ .-]", "", value["phone"]) if isinstance(value["phone"], str) else ""
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


def _unstorable_fields(data: dict) -> list[FieldError]:
    if not has_unstorable_text(data):  # the rule: one pass over the payload
        return []
    return [
        FieldError(key if not has_unstorable_text(key) else None, UNSTORABLE_MESSAGE)
        for key, value in data.items()
        if has_unstorable_text(key) or has_unstorable_text(value)
    ]


def check_submission(
    q: Questionnaire,
    data: Any,
    *,
    unit: Unit | Place,
    channel: str = "kiosk",
    own_counter: Counter | Place | None = None,
    known: Known | None = None,
) -> Submission:
    """Check one API payload with the same rules as the pages; raise Invalid with all errors.

    An id that is already stored must belong to `unit` and `channel`: a device completes only
    its own ratings, never a phone rating of another unit. `own_counter`, the device's counter
    (already loaded), is used as it is when the payload names it; `known`, what the caller
    has read already (the service, the stored response), is not read again.
    """
    public_id = _checked_shape(data)
    existing = _existing(public_id, known) if public_id else None
    if existing is not None and not owns(existing, unit=unit, channel=channel):
        raise Invalid([FieldError("id", _l("This response id belongs to another rating."))])
    errors: list[FieldError] = []
    service, counter, locale = _place(data, unit, own_counter, known, errors)
    if data.get("status", "complete") not in ("partial", "complete"):
        errors.append(FieldError("status", _l("The status must be partial or complete.")))
    captured_at = _captured_at(data.get("captured_at"), errors)
    answers = _answers_of(q, data, errors)
    if public_id and not any(v is not None for v in answers.values()) and existing is None:
        # A new response needs an answer; a known one may be completed with a comment only.
        errors.append(FieldError("answers", _l("The response has no answer.")))
    comment = _comment(data.get("comment"), errors)
    profile, phone = _profile(q, data.get("profile"), errors), _phone(data.get("contact"), errors)
    if errors:
        raise Invalid(errors)
    complete = data.get("status", "complete") != "partial"
    fields = (service, counter, captured_at, locale, answers, comment, profile, phone, complete)
    return Submission(public_id, *fields, existing)


def _checked_shape(data: Any) -> str:
    """The payload's response id, once the payload is an object of storable text fields."""
    if not isinstance(data, dict):
        raise Invalid([FieldError(None, _l("Each response must be a JSON object."))])
    errors: list[FieldError] = _unstorable_fields(data)
    if errors:
        raise Invalid(errors)
    try:
        public_id = parse_public_id(data.get("id"))
    except Invalid as exc:
        errors.extend(exc.errors)
        public_id = ""
    for name in ("service", "counter", "comment", "locale", "captured_at", "status"):
        if data.get(name) is not None and not isinstance(data[name], str):
            errors.append(FieldError(name, _l("This field must be text.")))
    if errors:
        raise Invalid(errors)
    return public_id


def _place(
    data: dict,
    unit: Unit | Place,
    own_counter: Counter | Place | None,
    known: Known | None,
    errors: list[FieldError],
):
    """The payload's service, counter (of `unit`) and language, each checked."""
    service = _service(str(data.get("service") or ""), known)
    if service is None:
        errors.append(FieldError("service", _l("Unknown or inactive procedure.")))
    counter = _counter(data.get("counter"), own_counter)
    if data.get("counter") and (counter is None or counter.unit_id != unit.id):
        errors.append(FieldError("counter", _l("Unknown counter for this unit.")))
    locale = data.get("locale") or "vi"
    if locale not in LOCALES:
        errors.append(FieldError("locale", _l("Unknown language.")))
    return service, counter, locale


def _comment(text: Any, errors: list[FieldError]) -> str | None:
    try:
        return clean_comment(text)
    except Invalid as exc:
        errors.extend(exc.errors)
        return None


def _counter(code: Any, own: Counter | Place | None) -> Counter | Place | None:
    """The counter named `code`: the device's own, already loaded, or looked up."""
    if own is not None and code == own.code:
        return own
    if code:
        autocommit.session_reads()
    return find_counter(code)


def owns(response: Response, *, unit: Unit | Place, channel: str) -> bool:
    return response.unit_id == unit.id and response.channel == channel
