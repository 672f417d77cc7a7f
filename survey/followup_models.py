"""Call-back contacts and follow-up cases (survey/contacts.py, survey/cases.py).

One module per feature beside the core data model (survey/models.py); imported by the
contact and case services, so the app always maps these tables.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models import Response, Service, Unit, User, UtcDateTime, utcnow

# A case's states, in order: mới, đang xử lý, đã liên hệ, đã đóng.
NEW, IN_PROGRESS, CONTACTED, CLOSED = "new", "in_progress", "contacted", "closed"
STATES = (NEW, IN_PROGRESS, CONTACTED, CLOSED)


class Contact(db.Model):
    """A citizen's call-back number, given with consent: encrypted, never stored in plain.

    `phone_token` is the encrypted number and withdrawal code (SURVEY_DATA_KEY); `phone_hash`
    a keyed hash of the normalised number, for the hotline's lookup; `withdrawal_hash` a keyed
    hash of the withdrawal code. Withdrawal empties all three at once; purge deletes the row.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), unique=True
    )
    phone_token: Mapped[str | None] = mapped_column(String(400))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    withdrawal_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    consented_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    response: Mapped[Response] = relationship()


class FollowupCase(db.Model):
    """A rating followed up by staff: its state, assignee, deadline and outcome."""

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), unique=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    state: Mapped[str] = mapped_column(String(12), default=NEW)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    opened_by: Mapped[str | None] = mapped_column(String(254))  # None: opened by the citizen
    due_on: Mapped[date] = mapped_column(Date, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    response: Mapped[Response] = relationship()
    unit: Mapped[Unit] = relationship()
    service: Mapped[Service] = relationship()
    assignee: Mapped[User | None] = relationship()
    notes: Mapped[list[CaseNote]] = relationship(
        back_populates="case", order_by="CaseNote.id", cascade="all, delete-orphan"
    )


class CaseNote(db.Model):
    """A staff member's note on a case."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("followup_case.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(254))
    written_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    case: Mapped[FollowupCase] = relationship(back_populates="notes")


class Holiday(db.Model):
    """A public holiday: not a working day for case deadlines."""

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(120))
