"""Webhooks to the province's systems: register an endpoint, send what is due, signed.

Every delivery is a POST of JSON signed with HMAC-SHA256 over "<timestamp>.<body>" in the
header `X-Survey-Signature: t=<unix seconds>,v1=<hex>` (docs/WEBHOOKS.md shows a receiver's
check). A failed attempt is retried with exponential backoff; an endpoint whose deliveries have
failed for a day is paused, its waiting deliveries marked failed, and the pause is audited.
The administrator re-sends one by hand or resumes the endpoint. Jobs (`enqueue_new`,
`deliver_due`) take `now` and return how many things they did.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from survey import audit
from survey.extensions import db
from survey.webhook_events import (  # noqa: F401  (the interface other parts call)
    ContactDataRefused,
    enqueue_daily_summary,
    enqueue_event,
    enqueue_new,
    newest_response_id,
)
from survey.webhook_models import (
    EVENTS,
    FAILED,
    PENDING,
    SENT,
    WebhookDelivery,
    WebhookEndpoint,
)
from survey.webhook_net import AddressRefused, allow_list, check, post

BACKOFF_FIRST = timedelta(minutes=1)  # after the first failure; doubled after each next one
BACKOFF_MAX = timedelta(hours=1)
PAUSE_AFTER = timedelta(days=1)  # failing this long pauses the endpoint
LEASE = timedelta(minutes=5)  # a claimed delivery is not claimed again before this
BATCH = 200  # deliveries tried per run


@dataclass(frozen=True)
class EndpointRow:
    """An endpoint as the admin page lists it, with its deliveries counted per status."""

    endpoint: WebhookEndpoint
    counts: dict[str, int]


@dataclass(frozen=True)
class PausedEndpoint:
    """A paused endpoint, for the administrators' alert e-mail."""

    id: int
    url: str
    paused_at: datetime
    failing_since: datetime | None


def allowed() -> tuple[str, ...]:
    """The private hosts and addresses a webhook may reach (SURVEY_WEBHOOK_ALLOW_PRIVATE)."""
    return allow_list(current_app.config.get("SURVEY_WEBHOOK_ALLOW_PRIVATE"))


def register(
    url: str, events: list[str], *, actor: str, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """Store a new endpoint after checking its address; it and its secret (shown once)."""
    check(url, allowed=allowed())  # raises AddressRefused
    unknown = set(events) - set(EVENTS)
    if unknown or not events:
        raise ValueError(f"unknown or no events: {sorted(unknown)}")
    secret = secrets.token_hex(32)
    endpoint = WebhookEndpoint(
        url=url.strip(),
        secret=secret,
        events=[e for e in EVENTS if e in events],
        created_by=actor,
        created_at=now,
        rating_cursor=newest_response_id(),
    )
    db.session.add(endpoint)
    db.session.flush()
    detail = {"endpoint": endpoint.id, "events": ",".join(endpoint.events)}
    audit.record("webhook.registered", actor=actor, target=endpoint.url, detail=detail)
    return endpoint, secret


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: t=<timestamp>,v1=HMAC-SHA256(secret, "t.body")."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON body of a delivery (the same bytes on every attempt)."""
    envelope = {
        "id": delivery.public_id,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, ensure_ascii=False, sort_keys=True).encode()


def _send(delivery: WebhookDelivery, now: datetime) -> tuple[int | None, str | None]:
    """One attempt: the HTTP status, or None and what went wrong."""
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "survey-webhooks/1",
        "X-Survey-Event": delivery.event,
        "X-Survey-Delivery": delivery.public_id,
        "X-Survey-Signature": signature(delivery.endpoint.secret, int(now.timestamp()), body),
    }
    try:
        status = post(delivery.endpoint.url, body, headers, allowed=allowed())
    except AddressRefused as exc:
        return None, str(exc)[:300]
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4… minutes, at most an hour."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def _pause(endpoint: WebhookEndpoint, now: datetime, error: str | None) -> None:
    """Pause a failing endpoint: its waiting deliveries are given up, and it is audited."""
    endpoint.paused_at = now
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == PENDING)
        .values(status=FAILED)
    )
    detail = {"endpoint": endpoint.id, "failing_since": endpoint.failing_since.isoformat()}
    audit.record(
        "webhook.paused",
        actor=None,
        target=endpoint.url,
        detail={**detail, "error": error or ""},
        commit=False,
    )


def _attempt(delivery: WebhookDelivery, now: datetime) -> bool:
    """Send a claimed delivery and record how it went; whether it was received."""
    status, error = _send(delivery, now)
    endpoint = delivery.endpoint
    delivery.last_status_code, delivery.last_error = status, error
    if error is None:
        delivery.status, delivery.sent_at, endpoint.failing_since = SENT, now, None
    else:
        delivery.status = FAILED if endpoint.paused_at else PENDING
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        endpoint.failing_since = endpoint.failing_since or now
        if endpoint.paused_at is None and now - endpoint.failing_since >= PAUSE_AFTER:
            _pause(endpoint, now, error)
    db.session.commit()
    return error is None


def _claim(delivery_id: int, now: datetime) -> bool:
    """Take a due delivery for this run (another server's run then skips it)."""
    taken = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + LEASE, attempts=WebhookDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return taken.rowcount == 1


def deliver_due(*, now: datetime) -> int:
    """Send the waiting deliveries whose time has come (not of paused endpoints); how many
    were received. After a failure, the endpoint's other deliveries wait for the next run, so
    an endpoint that does not answer costs one timeout per run, not one per delivery."""
    due = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.paused_at.is_(None),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(BATCH)
    ).all()
    received, failing = 0, set()
    for delivery_id, endpoint_id in due:
        if endpoint_id in failing or not _claim(delivery_id, now):
            continue
        if _attempt(db.session.get(WebhookDelivery, delivery_id), now):
            received += 1
        else:
            failing.add(endpoint_id)
    return received


def resend(delivery: WebhookDelivery, *, actor: str, now: datetime) -> bool:
    """Send one delivery again at once (whatever its state, paused endpoint or not); audited.
    Whether it was received."""
    delivery.attempts += 1
    audit.record(
        "webhook.resent",
        actor=actor,
        target=delivery.endpoint.url,
        detail={"delivery": delivery.public_id},
        commit=False,
    )
    return _attempt(delivery, now)


def resume(endpoint: WebhookEndpoint, *, actor: str, now: datetime) -> int:
    """Resume a paused endpoint: its failed deliveries are due again now; how many."""
    endpoint.paused_at, endpoint.failing_since = None, None
    requeued = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status != SENT)
        .values(status=PENDING, next_attempt_at=now)
    ).rowcount
    detail = {"endpoint": endpoint.id, "requeued": requeued}
    audit.record("webhook.resumed", actor=actor, target=endpoint.url, detail=detail)
    return requeued


def paused_since(*, now: datetime) -> list[PausedEndpoint]:
    """The endpoints paused at or before `now` (for the administrators' alert)."""
    rows = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.paused_at.is_not(None), WebhookEndpoint.paused_at <= now)
        .order_by(WebhookEndpoint.paused_at)
    )
    return [PausedEndpoint(e.id, e.url, e.paused_at, e.failing_since) for e in rows]


def overview(*, limit: int = 50) -> tuple[list[EndpointRow], list[WebhookDelivery]]:
    """The endpoints with their deliveries counted per status, and the latest deliveries."""
    counts: dict[int, Counter] = {}
    query = select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
    for endpoint_id, status, n in db.session.execute(query.group_by(
        WebhookDelivery.endpoint_id, WebhookDelivery.status
    )):  # fmt: skip
        counts.setdefault(endpoint_id, Counter())[status] = n
    endpoints = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    rows = [EndpointRow(e, dict(counts.get(e.id, Counter()))) for e in endpoints]
    latest = db.session.scalars(
        select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    )
    return rows, list(latest)
