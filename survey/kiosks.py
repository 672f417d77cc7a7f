"""Kiosk devices: registration, settings, heartbeats, moves and revocation.

A kiosk is registered by the command line (`survey kiosk create`: its token is printed once) or
on the web (no credential until it is paired, survey/pairing.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Dialect, bindparam, select
from sqlalchemy.orm import joinedload

from survey import audit, autocommit, questionnaire
from survey.accounts import token_digest
from survey.config import LOCALES
from survey.extensions import db
from survey.models import Counter, KioskDevice, Response, Service, Unit, utcnow

OFFLINE_AFTER = timedelta(minutes=10)


class KioskError(ValueError):
    """A kiosk request that cannot be carried out; `field` names the setting refused."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _place(unit_code: str, counter_code: str | None) -> tuple[Unit, Counter | None]:
    unit = db.session.scalar(select(Unit).filter_by(code=unit_code))
    if unit is None:
        raise KioskError(f"unknown unit {unit_code}", "unit")
    counter = None
    if counter_code:
        counter = db.session.scalar(select(Counter).filter_by(code=counter_code))
        if counter is None or counter.unit_id != unit.id:
            raise KioskError(f"unknown counter {counter_code} at unit {unit_code}", "counter")
    return unit, counter


def new_token() -> str:
    """A new kiosk credential (only its digest is stored)."""
    return "kd_" + secrets.token_urlsafe(32)


def create_kiosk(
    *, unit: str, counter: str | None, name: str, actor: str
) -> tuple[KioskDevice, str]:
    """Register a kiosk; return it and its token (shown once, stored hashed)."""
    place_unit, place_counter = _place(unit, counter)
    token = new_token()
    device = KioskDevice(
        name=name.strip()[:100] or "kiosk",
        token_hash=token_digest(token),
        unit=place_unit,
        counter=place_counter,
        paired_at=utcnow(),
    )
    db.session.add(device)
    audit.record(
        "kiosk.create",
        actor=actor,
        target=device.name,
        detail={"unit": unit, "counter": counter},
        commit=False,
    )
    db.session.commit()
    return device, token


def device_for_token(token: str) -> KioskDevice | None:
    """The active (not revoked) kiosk with this token, or None."""
    device = db.session.scalar(
        select(KioskDevice)
        .filter_by(token_hash=token_digest(token))
        .options(joinedload(KioskDevice.unit), joinedload(KioskDevice.counter))
    )  # its unit and counter in the same statement: every write of the kiosk needs them
    return device if device is not None and device.revoked_at is None else None


@dataclass(frozen=True)
class Place:
    """A unit, counter or service as a write needs it: its id, its code, and for a counter its
    unit."""

    id: int
    code: str
    unit_id: int | None = None


@dataclass
class WriteKiosk:
    """A kiosk as its writes need it, read as plain values (no ORM object to build or track):
    its place and its last rating time, which moves on as the request stores ratings."""

    id: int
    unit: Place
    counter: Place | None
    last_rating_at: datetime | None
    recent: tuple[datetime, list] | None = None  # read with it for a rating captured then

    def take_recent(self, captured_at: datetime) -> list | None:
        """The kiosk's recent ratings as read with it for a rating captured at `captured_at`
        (flags.with_recent), once: the next rating of the request follows this one."""
        recent, self.recent = self.recent, None
        return recent[1] if recent is not None and recent[0] == captured_at else None


_K, _U, _C, _S = KioskDevice.__table__, Unit.__table__, Counter.__table__, Service.__table__
# Built once: a write runs it with its own parameters (statement building costs more than its
# run on a warm connection).
_FOR_WRITE = (
    select(
        _K.c.id,
        _K.c.revoked_at,
        _K.c.last_rating_at,
        _U.c.id,
        _U.c.code,
        _C.c.id,
        _C.c.code,
        _C.c.unit_id,
        _S.c.id,
        _S.c.code,
        Response.__table__.c.id,
        questionnaire.ACTIVE_ID,
        questionnaire.ACTIVE_CODE,
    )
    .select_from(_K)
    .join(_U, _U.c.id == _K.c.unit_id)
    .outerjoin(_C, _C.c.id == _K.c.counter_id)
    .outerjoin(_S, (_S.c.code == bindparam("service")) & _S.c.active)
    .outerjoin(Response.__table__, Response.__table__.c.public_id == bindparam("public_id"))
    .where(_K.c.token_hash == bindparam("digest"))
)


@lru_cache(maxsize=8)
def _for_write_with_recent(dialect: Dialect) -> tuple[str, dict]:
    """_FOR_WRITE with the kiosk's recent ratings for the streak check (PostgreSQL), compiled
    for `dialect` once: its SQL text and its constant parameters, run as they are."""
    from survey import flags  # flags imports this module (through abuse)

    compiled = flags.with_recent(_FOR_WRITE, _K.c.id).compile(dialect=dialect)
    return compiled.string, compiled.params


def _read_for_write(params: dict, captured_at: datetime | None) -> tuple[list, bool]:
    """The rows of device_for_write, and whether they hold the kiosk's recent ratings."""
    connection = autocommit.connection()
    if captured_at is None or connection.dialect.name != "postgresql":
        return connection.execute(_FOR_WRITE, params).all(), False
    from survey import flags  # flags imports this module (through abuse)

    sql, constants = _for_write_with_recent(connection.dialect)
    params = {**constants, **params, **flags.streak_params(captured_at)}
    return autocommit.run_as_is(connection, sql, params).all(), True


def device_for_write(
    token: str,
    *,
    service_code: str | None,
    public_id: str | None,
    captured_at: datetime | None = None,
) -> tuple:
    """The active kiosk with this token (a WriteKiosk), the active service `service_code` (a
    Place), the stored response `public_id` and the active questionnaire (each None when there
    is none), read in one statement of plain rows: a write needs all four, and the service and
    the id are unique, so there is one row at most. A stored response (a retry) is then loaded
    whole. On PostgreSQL, given the capture time of the rating to come, the same row holds the
    answers of the kiosk's recent ratings for its streak check (flags.with_recent)."""
    params = {"digest": token_digest(token), "service": service_code, "public_id": public_id}
    rows, with_recent = _read_for_write(params, captured_at)
    if not rows or rows[0][1] is not None:
        return None, None, None, None
    kiosk_id, _, last, unit_id, unit_code, counter_id, counter_code, counter_unit = rows[0][:8]
    service_id, service_code, response_id, version_id, code = rows[0][8:13]
    unit = Place(unit_id, unit_code)
    counter = Place(counter_id, counter_code, counter_unit) if counter_id is not None else None
    device = WriteKiosk(kiosk_id, unit, counter, last)
    if with_recent:
        device.recent = (captured_at, rows[0][13] or [])
    service = Place(service_id, service_code) if service_id is not None else None
    if response_id:
        autocommit.session_reads()
    stored = db.session.get(Response, response_id) if response_id else None
    return device, service, stored, questionnaire.version(version_id, code)


@dataclass(frozen=True)
class Settings:
    """What a manager sets for a kiosk: its name, place, default language and the one
    procedure it rates (None: the citizen picks one). Codes, as a form posts them."""

    name: str
    unit: str
    counter: str | None
    language: str = "vi"
    service: str | None = None


def _apply(device: KioskDevice, settings: Settings) -> None:
    device.unit, device.counter = _place(settings.unit, settings.counter)
    device.name = settings.name.strip()[:100] or device.name or "kiosk"
    if settings.language not in LOCALES:
        raise KioskError(f"unknown language {settings.language}", "language")
    device.default_language = settings.language
    device.service = None
    if settings.service:
        device.service = db.session.scalar(
            select(Service).filter_by(code=settings.service, active=True)
        )
        if device.service is None:
            raise KioskError(f"unknown procedure {settings.service}", "service")


def _detail(settings: Settings) -> dict:
    return {
        "unit": settings.unit,
        "counter": settings.counter,
        "language": settings.language,
        "service": settings.service,
    }


def register_kiosk(settings: Settings, *, actor: str) -> KioskDevice:
    """Register a kiosk on the web: no credential until it is paired (survey/pairing.py).
    Nothing is stored when a setting is refused (KioskError)."""
    device = KioskDevice(name="", token_hash=None)
    _apply(device, settings)  # before the kiosk joins the session: a refusal stores nothing
    db.session.add(device)
    audit.record(
        "kiosk.register", actor=actor, target=device.name, detail=_detail(settings), commit=False
    )
    db.session.commit()
    return device


def update_kiosk(device: KioskDevice, settings: Settings, *, actor: str) -> None:
    """Rename or move a kiosk, or change its language or procedure (all or nothing)."""
    try:
        _apply(device, settings)
    except KioskError:
        db.session.rollback()
        raise
    audit.record(
        "kiosk.update", actor=actor, target=device.name, detail=_detail(settings), commit=False
    )
    db.session.commit()


def revoke_kiosk(device: KioskDevice, *, actor: str) -> None:
    """Stop accepting the kiosk's credential at once."""
    device.revoked_at = utcnow()
    audit.record("kiosk.revoke", actor=actor, target=device.name, commit=False)
    db.session.commit()


def heartbeat(
    device: KioskDevice, *, app_version: str | None, queued: int, dead_letters: int
) -> None:
    """Record that the kiosk is alive, with its version and queue depth."""
    device.last_heartbeat = utcnow()
    device.app_version = (app_version or "")[:40] or None
    device.queued, device.dead_letters = max(queued, 0), max(dead_letters, 0)
    db.session.commit()


def _opening_hours() -> tuple[time, time]:
    start, end = current_app.config["SURVEY_OPENING_HOURS"].split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def is_offline(device: KioskDevice, *, now: datetime) -> bool:
    """No heartbeat for 10 minutes during opening hours (Monday to Saturday, local time)."""
    local = now.astimezone(ZoneInfo(current_app.config["SURVEY_TIMEZONE"]))
    start, end = _opening_hours()
    if local.weekday() == 6 or not start <= local.time() <= end:
        return False
    return device.last_heartbeat is None or now - device.last_heartbeat > OFFLINE_AFTER


@dataclass(frozen=True)
class KioskRow:
    device: KioskDevice
    offline: bool

    @property
    def state(self) -> str:
        """revoked, unpaired (never paired: no credential yet), offline or active."""
        if self.device.revoked_at is not None:
            return "revoked"
        if self.device.token_hash is None:
            return "unpaired"
        return "offline" if self.offline else "active"


def list_kiosks(visible: set[int] | None, *, now: datetime | None = None) -> list[KioskRow]:
    """The kiosks of the units one may see, with their offline state at `now` (default: now)."""
    now = now or utcnow()
    query = select(KioskDevice).order_by(KioskDevice.revoked_at.is_not(None), KioskDevice.name)
    if visible is not None:
        query = query.where(KioskDevice.unit_id.in_(visible))
    rows = db.session.scalars(query)
    return [
        KioskRow(d, d.revoked_at is None and d.token_hash is not None and is_offline(d, now=now))
        for d in rows
    ]
