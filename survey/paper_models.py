"""The paper forms typed by staff (survey/paper.py): a form per serial number and each typing.

One module per feature beside the core data model (survey/models.py); imported by the paper
service, so the app always maps these tables (the admin blueprint and the CLI import it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models import Response, Service, Unit, UtcDateTime, utcnow

# A form's state: typed once and waiting for a second typing; two typings that disagree;
# counted (its response is in the figures).
PENDING, DISPUTED, COUNTED = "pending", "disputed", "counted"


class PaperForm(db.Model):
    """One paper questionnaire, known by the serial number printed on it: stored once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    # The response the form became once counted (its channel is "paper"); NULL before.
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("response.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    response: Mapped[Response | None] = relationship()
    entries: Mapped[list[PaperEntry]] = relationship(
        back_populates="form", order_by="PaperEntry.id", cascade="all, delete-orphan"
    )


class PaperEntry(db.Model):
    """One typing of a form, by one person: what they read on the paper."""

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(
        ForeignKey("paper_form.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # "typed", "resolved" or "imported"
    typed_by: Mapped[str] = mapped_column(String(254))
    typed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    written_on: Mapped[date] = mapped_column(Date)  # the date written on the paper
    locale: Mapped[str] = mapped_column(String(5))  # the language of the printed form
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)  # item code -> 1..5, or None
    comment: Mapped[str | None] = mapped_column(Text)
    form: Mapped[PaperForm] = relationship(back_populates="entries")
    unit: Mapped[Unit] = relationship()
    service: Mapped[Service] = relationship()
