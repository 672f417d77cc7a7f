"""The data model (DESIGN.md §3) as typed SQLAlchemy 2.0 models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.catalogue_models import (  # noqa: F401  (part of the data model, re-exported)
    Agency,
    Counter,
    Field,
    Named,
    Service,
    Unit,
)
from survey.extensions import db
from survey.rollup_tables import (  # noqa: F401  (the rollups are part of the data model)
    ROLLUP_ITEMS,
    ROLLUP_LEVELS,
    ROLLUP_SLOTS,
    ROLLUP_TOPICS,
    rollup_day,
    rollup_month,
    rollup_profile,
    rollup_province_profile,
    rollup_service_month,
    rollup_unit_month,
)

# Where a response came from: the hall kiosk, a QR code scanned on a phone, the web, a paper form.
CHANNELS = ("kiosk", "qr", "web", "paper")


def utcnow() -> datetime:
    """Return the current time in UTC (called per row, never at import)."""
    return datetime.now(UTC)


class UtcDateTime(db.TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class QuestionnaireVersion(db.Model):
    """A versioned questionnaire; its definition is immutable once it has responses."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Response(db.Model):
    """One citizen's rating of one service; `public_id` is made by the client."""

    __table_args__ = (
        CheckConstraint(
            "flag_review IS NULL OR (flag_review = 'confirmed' AND flag_reason IS NOT NULL)",
            name="flag_review",
        ),
        # A kiosk's own latest ratings, newest first (the streak check, ordered by both
        # columns: nothing to sort), without other kiosks' nor, for a quiet kiosk, its own
        # older ones.
        Index("ix_response_kiosk_received", "kiosk_id", "received_at", "id"),
        # The latest comments, newest first, without reading the ratings that have none.
        Index(
            "ix_response_comment_recent",
            "captured_at",
            "id",
            postgresql_where=text("comment IS NOT NULL"),
            sqlite_where=text("comment IS NOT NULL"),
        ),
        # The comments not tagged yet (survey/topics.py), without reading the others.
        Index(
            "ix_response_untagged",
            "id",
            postgresql_where=text("comment IS NOT NULL AND topics IS NULL"),
            sqlite_where=text("comment IS NOT NULL AND topics IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    service_id: Mapped[int] = mapped_column(
        ForeignKey("service.id"), index=True, active_history=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True, active_history=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"), active_history=True)
    channel: Mapped[str] = mapped_column(String(10), active_history=True)
    locale: Mapped[str] = mapped_column(String(5))
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True, active_history=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="partial")
    # A suspect rating (survey/flags.py): why it was flagged, NULL when it is counted, and a
    # manager's review, NULL until confirmed. active_history: the rollups need the reason
    # before a change, even on an expired object.
    flag_reason: Mapped[str | None] = mapped_column(String(20), active_history=True)
    flag_review: Mapped[str | None] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text, active_history=True)  # rollups count them
    # Optional answers about the respondent; counted per option in rollup_profile.
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON, active_history=True)
    # The comment's topics as bits (1 << its index in survey.topics.TOPICS), 0 for none, NULL
    # until tagged; counted in the rollups' t_<topic> columns. comment_topic keeps each topic's
    # source (the lexicon or a manager).
    topics: Mapped[int | None] = mapped_column(Integer, active_history=True)
    # A call-back number given with consent is in `contact` (survey/followup_models.py),
    # encrypted; never in this table.
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_device.id"))

    questionnaire: Mapped[QuestionnaireVersion] = relationship()
    service: Mapped[Service] = relationship()
    unit: Mapped[Unit] = relationship()
    counter: Mapped[Counter | None] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(db.Model):
    """One item's answer; a NULL value means skipped or not applicable."""

    __table_args__ = (UniqueConstraint("response_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(10))
    value: Mapped[int | None] = mapped_column(SmallInteger, active_history=True)
    response: Mapped[Response] = relationship(back_populates="answers")


class User(UserMixin, db.Model):
    """A manager-side account; Flask-Login knows it by the token of its current session."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The TOTP secret (base32) once two-factor sign-in is set up, and the last time step used,
    # so that a code is accepted once only.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    units: Mapped[list[Unit]] = relationship(secondary="user_unit", order_by="Unit.code")

    # Set per request from the server-side session (not columns).
    session_token = None
    session_expires = None

    def get_id(self) -> str | None:
        """The session token, so that ending the session ends the login."""
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.active


user_unit = db.Table(
    "user_unit",
    db.Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    db.Column("unit_id", ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)


class UserSession(db.Model):
    """A signed-in session; deleting the row ends it, whatever the cookie says."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A one-time recovery code of two-factor sign-in: only its SHA-256 is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiToken(db.Model):
    """An API token: only its SHA-256 is stored; it carries its user's unit scope."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    user: Mapped[User] = relationship()


class AuditEvent(db.Model):
    """Who did what on the manager side, and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class KioskDevice(db.Model):
    """A kiosk at a unit (and maybe a counter); only the SHA-256 of its token is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_heartbeat: Mapped[datetime | None] = mapped_column(UtcDateTime)
    app_version: Mapped[str | None] = mapped_column(String(40))
    queued: Mapped[int] = mapped_column(Integer, default=0)
    dead_letters: Mapped[int] = mapped_column(Integer, default=0)
    last_rating_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # What the manager set: the language the kiosk returns to after a reset, and the one
    # procedure it rates (none: the citizen picks one).
    default_language: Mapped[str] = mapped_column(String(5), default="vi", server_default="vi")
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    # A kiosk registered on the web has no credential until staff type its pairing code on
    # the kiosk's own screen; only a hash of the code is kept.
    pairing_code_hash: Mapped[str | None] = mapped_column(String(64))
    pairing_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pairing_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    unit: Mapped[Unit] = relationship()
    counter: Mapped[Counter | None] = relationship()
    service: Mapped[Service | None] = relationship()


class VisitCode(db.Model):
    """A single-use visit code; only a keyed hash of the code is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id", ondelete="SET NULL"))
    service: Mapped[Service] = relationship()
    counter: Mapped[Counter | None] = relationship()


class ReportDraft(db.Model):
    """What a manager adds to the printed report of one period and scope: its number (số/ký
    hiệu), the comments picked to quote and the recommendations, so that the page and the PDF
    show the same text."""

    __table_args__ = (UniqueConstraint("period", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(40))  # a named period ("2026-Q3") or "from..to"
    scope: Mapped[str] = mapped_column(String(200))  # "" for every unit, else a unit's code
    number: Mapped[str | None] = mapped_column(String(60))
    recommendations: Mapped[str | None] = mapped_column(Text)
    comment_ids: Mapped[list[int] | None] = mapped_column(JSON)  # picked responses' ids
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(254))


class DossierCount(db.Model):
    """The dossiers (hồ sơ) a unit handled for a procedure on a day, from the one-stop
    software's export or typed by a manager: the population a survey's sample is planned on."""

    __table_args__ = (UniqueConstraint("day", "unit_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    dossiers: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # "import" or "manual"
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(254))
