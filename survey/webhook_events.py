"""What the webhooks send, and queueing it (the outbox), away from the write path.

A kiosk rating adds no statement for webhooks: a job (`enqueue_new`) reads the responses
received since each endpoint's cursor and queues a delivery per endpoint. A rating is queued
once, when complete or, if the citizen stops at the overall question, `SETTLE` after it was
received; answers given later are not sent again. The payload is the anonymous rating: never
contact data, never the comment's text (only whether there is one), never the respondent
profile. Cases (another module) queue their events through `enqueue_event`.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from survey import questionnaire, summary
from survey.extensions import db
from survey.filters import everything
from survey.models import Response
from survey.webhook_models import (
    DAILY_SUMMARY,
    EVENTS,
    PENDING,
    RATING_RECORDED,
    WebhookDelivery,
    WebhookEndpoint,
)

SETTLE = timedelta(minutes=10)
BATCH = 500  # responses read per run; a backlog (an import) is queued over several runs
# Keys and values that would be contact data: refused in any payload.
CONTACT_KEYS = ("phone", "contact", "zalo", "email", "e-mail")
PHONE_LIKE = re.compile(r"^(\+?84|0)\d{8,10}$")


class ContactDataRefused(ValueError):
    """A payload that carries (or looks like it carries) contact data: never sent."""


def refuse_contact_data(value: Any, where: str = "payload") -> None:
    """Raise ContactDataRefused if `value` holds a contact key or a phone-like string."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if any(word in str(key).lower() for word in CONTACT_KEYS):
                raise ContactDataRefused(f"{where}.{key}: contact data is never sent")
            refuse_contact_data(inner, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for n, inner in enumerate(value):
            refuse_contact_data(inner, f"{where}[{n}]")
    elif isinstance(value, str) and PHONE_LIKE.match(re.sub(r"[\s.()-]", "", value)):
        raise ContactDataRefused(f"{where}: a phone number is never sent")


def _subscribed(event: str, *, lock: bool = False) -> list[WebhookEndpoint]:
    """Endpoints subscribed to `event` (paused ones too: they get it once resumed)."""
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if lock:  # one job run at a time moves the cursors (PostgreSQL; SQLite has one writer)
        query = query.with_for_update()
    return [e for e in db.session.scalars(query) if event in e.events]


def _delivery(endpoint: WebhookEndpoint, event: str, key: str, payload: dict, now: datetime):
    """A new delivery of `payload`, due at once."""
    return WebhookDelivery(
        public_id=str(uuid.uuid4()),
        endpoint=endpoint,
        event=event,
        event_key=key,
        payload=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def enqueue_event(
    event: str, payload: dict[str, Any], *, now: datetime, key: str | None = None
) -> int:
    """Queue `payload` as `event` for every endpoint subscribed to it; how many were queued.

    Added to the session, not committed: the caller's commit stores the event together with
    what caused it (a case opened). `key` (e.g. "case.opened:<case id>") queues an event once.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    refuse_contact_data(payload)
    endpoints = _subscribed(event)
    for endpoint in endpoints:
        event_key = f"{event}:{key}" if key else f"{event}:{uuid.uuid4()}"
        db.session.add(_delivery(endpoint, event, event_key, payload, now))
    return len(endpoints)


def rating_payload(response: Response) -> dict[str, Any]:
    """The anonymous rating as sent: no contact data, no comment text, no profile."""
    return {
        "id": response.public_id,
        "questionnaire": response.questionnaire.code,
        "service": response.service.code,
        "unit": response.unit.code,
        "counter": response.counter.code if response.counter else None,
        "channel": response.channel,
        "captured_at": response.captured_at.isoformat(),
        "status": response.status,
        "answers": {a.item: a.value for a in sorted(response.answers, key=lambda a: a.item)},
        "flag": response.flag_reason,
        "flag_review": response.flag_review,
        "has_comment": response.comment is not None,
    }


def _settled(rows: list[Response], now: datetime) -> list[Response]:
    """The leading responses that will not change any more (complete, or left long enough)."""
    done = []
    for response in rows:
        if response.status != "complete" and response.received_at > now - SETTLE:
            break
        done.append(response)
    return done


def _enqueue_ratings(*, now: datetime) -> int:
    """Queue the settled ratings after each endpoint's cursor, and move the cursors."""
    endpoints = _subscribed(RATING_RECORDED, lock=True)
    if not endpoints:
        return 0
    start = min(e.rating_cursor for e in endpoints)
    rows = db.session.scalars(
        select(Response)
        .where(Response.id > start)
        .options(
            selectinload(Response.answers),
            joinedload(Response.service),
            joinedload(Response.unit),
            joinedload(Response.counter),
            joinedload(Response.questionnaire),
        )
        .order_by(Response.id)
        .limit(BATCH)
    ).all()
    settled, queued = _settled(list(rows), now), 0
    for endpoint in endpoints:
        for response in settled:
            if response.id > endpoint.rating_cursor:
                key = f"{RATING_RECORDED}:{response.public_id}"
                db.session.add(
                    _delivery(endpoint, RATING_RECORDED, key, rating_payload(response), now)
                )
                queued += 1
        if settled:
            endpoint.rating_cursor = max(endpoint.rating_cursor, settled[-1].id)
    return queued


def summary_day(now: datetime) -> date:
    """The day a daily summary made at `now` covers: yesterday in the centre's time zone."""
    return now.astimezone(ZoneInfo(current_app.config["SURVEY_TIMEZONE"])).date() - timedelta(1)


def _index(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def daily_summary(day: date) -> dict[str, Any]:
    """A day's counts and index per unit (units with 1 to 4 ratings hidden, as on the
    dashboard: their figures could point at a person)."""
    active = questionnaire.active()
    if active is None:
        return {"date": day.isoformat(), "questionnaire": None, "units": []}
    result = summary.build_summary(everything(day, day), group_by="unit", locale="vi")
    units = [
        {
            "unit": g.key,
            "hidden": g.hidden,
            "responses": None if g.hidden else g.figures.responses,
            "index": _index(g.figures.overall.index),
            "overall_question": _index(g.figures.overall_question.index),
        }
        for g in result.groups
    ]
    return {
        "date": day.isoformat(),
        "questionnaire": active.code,
        "hidden": result.hidden,
        "responses": None if result.hidden else result.figures.responses,
        "index": _index(result.figures.overall.index),
        "units": units,
    }


def enqueue_daily_summary(*, now: datetime) -> int:
    """Queue yesterday's summary for each endpoint subscribed that has not had it yet."""
    endpoints = _subscribed(DAILY_SUMMARY, lock=True)
    day = summary_day(now)
    key = f"{DAILY_SUMMARY}:{day.isoformat()}"
    done = set(
        db.session.scalars(
            select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_key == key)
        )
    )
    todo = [e for e in endpoints if e.id not in done]
    if todo:
        payload = daily_summary(day)
        for endpoint in todo:
            db.session.add(_delivery(endpoint, DAILY_SUMMARY, key, payload, now))
    return len(todo)


def enqueue_new(*, now: datetime) -> int:
    """The outbox job: queue settled ratings and yesterday's summary; how many deliveries.

    Two runs at once (two servers) cannot queue an event twice: a delivery is unique per
    endpoint and event, and the later run's commit fails and queues nothing."""
    try:
        queued = _enqueue_ratings(now=now) + enqueue_daily_summary(now=now)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return 0
    return queued


def newest_response_id() -> int:
    """The id of the newest response (a new endpoint's cursor starts there)."""
    return db.session.scalar(select(func.max(Response.id))) or 0
