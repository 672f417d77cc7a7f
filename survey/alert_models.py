"""Tables of the jobs runner, the alerts and the managers' alert choices (issue 13).

One module per feature beside the core data model (survey/models.py); imported by the jobs
and alerts services, so the app always maps these tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db
from survey.models import UtcDateTime, utcnow


class JobRun(db.Model):
    """One scheduled job: when it is next due, who holds it now, and how its last run ended.

    A runner claims the row with one conditional UPDATE (due, and not held by a live lease), so
    that of several servers running `survey jobs run` at once exactly one runs the job.
    """

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    running_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(10))  # "ok" or "failed"
    last_count: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))  # the exception's type only


class AlertState(db.Model):
    """One alert condition (a kind and what it is about): on since when, or cleared.

    An alert is sent when its condition starts (`active` goes from false to true) and only then:
    again only after it has cleared and come back.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    times: Mapped[int] = mapped_column(Integer, default=0)  # how many times it started
    # Figures only (indices, counts, a kiosk's or procedure's name): never a comment or a phone.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AlertPreference(db.Model):
    """What alerts a staff member receives by e-mail, the daily digest, and in which language."""

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    last_digest_on: Mapped[date | None] = mapped_column(Date)  # the local day last sent
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
