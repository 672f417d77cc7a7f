"""Webhooks to the province's other systems (survey/webhooks.py): endpoints and deliveries.

One module per feature beside the core data model (survey/models.py); imported by the
webhook service, so the app always maps these tables (the admin blueprint and the CLI import it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models import UtcDateTime, utcnow

# The events an endpoint may subscribe to, as named in the payload's "event".
RATING_RECORDED, CASE_OPENED, CASE_CLOSED, DAILY_SUMMARY = (
    "rating.recorded",
    "case.opened",
    "case.closed",
    "summary.daily",
)
EVENTS = (RATING_RECORDED, CASE_OPENED, CASE_CLOSED, DAILY_SUMMARY)
# A delivery's state: waiting to be sent (maybe after failed attempts); received by the
# endpoint (a 2xx answer); given up when its endpoint was paused after a day of failures.
PENDING, SENT, FAILED = "pending", "sent", "failed"


class WebhookEndpoint(db.Model):
    """An HTTPS address of another system that receives the events it subscribed to."""

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    # The HMAC-SHA256 key of the signature header, shown once to the administrator.
    secret: Mapped[str] = mapped_column(String(64))
    events: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Ratings after this response id are still to be queued for this endpoint (the outbox
    # cursor: set to the newest response when the endpoint is registered).
    rating_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    # When its deliveries started failing (cleared by a success), and when it was paused.
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="endpoint", cascade="all, delete-orphan", passive_deletes=True
    )


class WebhookDelivery(db.Model):
    """One event for one endpoint: its payload, and how sending it went."""

    __table_args__ = (
        # An event is queued once per endpoint (two job runs at once cannot both queue it).
        UniqueConstraint("endpoint_id", "event_key"),
        # The due deliveries, oldest first, without reading those already sent.
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id the receiver sees (the same on every attempt: it recognises a repeat by it).
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(30))
    event_key: Mapped[str] = mapped_column(String(120))  # e.g. "rating.recorded:<public id>"
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="deliveries")
