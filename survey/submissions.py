"""Whole responses from the JSON API: kiosks, their offline queue and other systems.

The payload is checked with the rules of the pages (survey/responses.py) and stored in one
transaction: the response, its answers, its rollup counts and any abuse flag commit together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from survey import cases, contacts, flags, rollup_write, rollups
from survey.catalogue import find_counter, find_service
from survey.config import LOCALES
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.kiosks import Place, WriteKiosk
from survey.models import Answer, Counter, Response, Service, Unit, utcnow
from survey.questionnaire import Questionnaire
from survey.responses import (
    UNSTORABLE_MESSAGE,
    FieldError,
    Invalid,
    clean_answers,
    clean_comment,
    commit_as_written,
    find_response,
    has_unstorable_text,
    mark_complete,
    parse_public_id,
    put_answers,
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
    if known is None:
        return find_service(code)
    if code not in known.services:
        known.services[code] = find_service(code)
    return known.services[code]


def _existing(public_id: str, known: Known | None) -> Response | None:
    if known is not None and public_id in known.responses:
        return known.responses[public_id]
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
    if existing is not None and not _owns(existing, unit=unit, channel=channel):
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
    return own if own is not None and code == own.code else find_counter(code)


def _owns(response: Response, *, unit: Unit | Place, channel: str) -> bool:
    return response.unit_id == unit.id and response.channel == channel


def record_submission(
    q: Questionnaire,
    sub: Submission,
    *,
    unit: Unit | Place,
    channel: str,
    kiosk: WriteKiosk | None = None,
) -> str:
    """Store a checked submission in one transaction (answers, rollups, flag and all).

    Returns "created", "updated" (a partial one completed) or "duplicate" (already there:
    nothing changes). Of two requests with the same id at once, the unique id lets one insert;
    the other rolls back and, on its second try, finds that response.
    """
    for attempt in range(2):
        try:
            # The check found the stored response, if any; a second try looks again.
            existing = find_response(sub.public_id) if attempt else sub.existing
            moved = None
            if existing is None:
                if sub.phone:  # the response, its contact and its case commit together
                    _in_one_transaction()
                moved = insert_new(q, sub, unit=unit, channel=channel, kiosk=kiosk)
                _keep_contact(sub, None)
                status = "created"
            else:
                _in_one_transaction()
                status = _complete(sub, existing, unit=unit, channel=channel)
            commit_as_written()
            if moved is not None:  # the next rating of the request starts from it
                kiosk.last_rating_at = moved
            return status
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise
        except Invalid:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def statement_per_transaction() -> None:
    """On PostgreSQL, let each statement of this request commit itself (autocommit), until
    its next commit or rollback: a new rating is stored by one statement (`insert_new`),
    which is a transaction in itself, and the reads before it need none; so neither BEGIN
    nor COMMIT costs a round trip. Called before the request's first statement;
    `record_submission` opens a transaction for the ORM's writes of several statements."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _in_one_transaction() -> None:
    """End statement_per_transaction's autocommit, if on: what follows commits as a whole."""
    options = db.session.connection().get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        db.session.rollback()  # only reads to end: the next statement begins a transaction


_INSERT_RESPONSE = insert(Response.__table__).returning(Response.__table__.c.id)
_INSERT_ANSWER = insert(Answer.__table__)


def insert_new(
    q: Questionnaire, sub: Submission, *, unit: Unit | Place, channel: str, kiosk: WriteKiosk | None
) -> datetime | None:
    """Add a new response in the session's transaction (no commit), without the ORM; return
    the kiosk's last rating time once it is committed (None without a kiosk).

    One INSERT … RETURNING for the response, one executemany for its answers, one upsert for
    its rollup counts (the ORM's listener does not see these rows, so they are counted here),
    and the kiosk's last rating time when it moves; on PostgreSQL all of it is one statement.
    Nothing is read back.
    """
    reason, moved = None, None
    if kiosk is not None:
        recent = kiosk.take_recent(sub.captured_at)
        reason, moved = flags.judge(kiosk, sub.captured_at, sub.answers, recent)
    values = _columns(q, sub, unit=unit, channel=channel, kiosk=kiosk, reason=reason)
    pairs = list(sub.answers.items())
    kiosk_at = moved if kiosk is not None and moved != kiosk.last_rating_at else None
    if db.session.get_bind().dialect.name == "postgresql":
        rollup_write.insert_counted(db.session, values, pairs, kiosk_at=kiosk_at)
        return moved
    if kiosk_at is not None:
        db.session.execute(flags.MOVE_ON, {"kiosk": kiosk.id, "at": kiosk_at})
    rid = db.session.execute(_INSERT_RESPONSE, values).scalar_one()
    if pairs:
        db.session.execute(
            _INSERT_ANSWER,
            [{"response_id": rid, "item": item, "value": value} for item, value in pairs],
        )
    rollups.count_new(db.session, values, pairs)
    return moved


def _columns(
    q: Questionnaire,
    sub: Submission,
    *,
    unit: Unit | Place,
    channel: str,
    kiosk: WriteKiosk | None,
    reason: str | None,
) -> dict:
    """The new response's columns, `reason` its flag."""
    now = utcnow()
    values = {
        "public_id": sub.public_id,
        "questionnaire_id": q.id,
        "service_id": sub.service.id,
        "unit_id": unit.id,
        "counter_id": sub.counter.id if sub.counter is not None else None,
        "channel": channel,
        "locale": sub.locale,
        "captured_at": sub.captured_at,
        "received_at": now,
        "updated_at": now,
        "status": "complete" if sub.complete else "partial",
        "flag_reason": reason,
        "comment": sub.comment if sub.complete else None,
        "kiosk_id": kiosk.id if kiosk is not None else None,
    }
    if sub.profile:  # left out otherwise: the JSON column would store a JSON null, not NULL
        values["profile"] = sub.profile
    return values


def _complete(sub: Submission, response: Response, *, unit, channel) -> str:
    """Complete a stored partial response of this device (ORM: the listener keeps the
    rollups); "duplicate" when there is nothing to change."""
    if not _owns(response, unit=unit, channel=channel):
        raise Invalid([FieldError("id", _l("This response id belongs to another rating."))])
    if response.service_id != sub.service.id:
        return "duplicate"
    if response.status != "partial":
        return _add_profile(sub, response)
    new = {k: v for k, v in sub.answers.items() if k not in {a.item for a in response.answers}}
    if not new and not sub.complete:
        return "duplicate"
    put_answers(response, new)
    if sub.profile:
        response.profile = sub.profile
    _keep_contact(sub, response)
    if sub.complete:
        mark_complete(response, sub.comment)
    return "updated"


def _keep_contact(sub: Submission, response: Response | None) -> None:
    """A consented number: keep it encrypted and open its case, in this transaction. Nothing
    is read or written for a rating without a number."""
    if not sub.phone:
        return
    rid = response.id if response is not None else find_response(sub.public_id).id
    if response is not None and contacts.has_contact(rid):
        return
    now = utcnow()
    contacts.store(rid, sub.phone, now=now)
    cases.open_case(rid, now=now)


def _add_profile(sub: Submission, response: Response) -> str:
    """A sent response whose profile page was answered while the kiosk was offline: the queued
    profile is stored if the response has none yet ("updated"); anything else changes nothing."""
    if not sub.profile or response.profile:
        return "duplicate"
    response.profile = dict(sub.profile)  # the listener counts it in rollup_profile
    return "updated"
