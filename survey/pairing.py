"""Pairing a kiosk registered on the web: a short code shown to the manager, typed on the kiosk.

A code is 8 digits, valid 10 minutes, and only a keyed hash of it (HMAC with the app's secret
key) is stored. A typed code names no kiosk, so every try counts against every live code: each
code has then been guessed at most 5 times in all, whoever typed the guesses, and dies with its
fifth try. The count is one UPDATE in the database, so it holds across workers and servers;
the typed code is then compared with each counted code in constant time.

A new code for a kiosk already paired leaves its credential working until the new pairing
succeeds: a manager who asks for a code by mistake stops nothing, and a kiosk being replaced
keeps rating until its successor is paired. The pairing then replaces the credential, so the
old browser stops at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from survey import audit, kiosks
from survey.accounts import token_digest
from survey.extensions import db
from survey.models import KioskDevice, utcnow

CODE_DIGITS = 8
VALID_FOR = timedelta(minutes=10)
MAX_TRIES = 5


def code_digest(code: str) -> str:
    """How a pairing code is stored: its HMAC-SHA-256 under the app's secret key."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"pairing:" + code.encode(), hashlib.sha256).hexdigest()


def _live(now: datetime):
    """The condition of a code that may still be typed at `now`."""
    k = KioskDevice
    return (
        k.pairing_code_hash.is_not(None),
        k.pairing_expires_at > now,
        k.pairing_tries < MAX_TRIES,
        k.revoked_at.is_(None),
    )


def _new_code(now: datetime) -> str:
    """A code that no other live code equals (a typed code must name one kiosk)."""
    taken = set(db.session.scalars(select(KioskDevice.pairing_code_hash).where(*_live(now))))
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        if code_digest(code) not in taken:
            return code


def issue_code(device: KioskDevice, *, actor: str, now: datetime | None = None) -> str:
    """Give the kiosk a new pairing code (its previous one dies); return it, shown once."""
    if device.revoked_at is not None:
        raise kiosks.KioskError("a revoked kiosk cannot be paired")
    now = now or utcnow()
    code = _new_code(now)
    device.pairing_code_hash, device.pairing_tries = code_digest(code), 0
    device.pairing_expires_at = now + VALID_FOR
    audit.record(
        "kiosk.pairing_code",
        actor=actor,
        target=device.name,
        detail={"kiosk": device.id, "expires_at": device.pairing_expires_at.isoformat()},
        commit=False,
    )
    db.session.commit()
    return code


def _count_try(now: datetime) -> list[tuple[int, str]]:
    """Count one try against every live code; return the (kiosk id, code hash) counted."""
    counted = db.session.execute(
        update(KioskDevice)
        .where(*_live(now))
        .values(pairing_tries=KioskDevice.pairing_tries + 1)
        .returning(KioskDevice.id, KioskDevice.pairing_code_hash)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()  # the try counts even if what follows fails
    return [(row[0], row[1]) for row in counted]


def _match(code: str, counted: list[tuple[int, str]]) -> int | None:
    """The kiosk whose code is `code`, comparing every counted code in constant time."""
    typed, found = code_digest(code), None
    for kiosk_id, digest in counted:
        if hmac.compare_digest(typed, digest):
            found = kiosk_id
    return found


def pair(code: str, *, now: datetime | None = None) -> tuple[KioskDevice, str] | None:
    """Pair this screen with the kiosk whose live code is `code`: return the kiosk and its new
    credential, or None (a wrong, dead or used code; the try is counted all the same)."""
    now = now or utcnow()
    kiosk_id = _match(code, _count_try(now)) if code.isdigit() else None
    if kiosk_id is None:
        return None
    token = kiosks.new_token()
    # Once: the code is cleared in the same statement that checks it is still there.
    taken = db.session.execute(
        update(KioskDevice)
        .where(KioskDevice.id == kiosk_id, KioskDevice.pairing_code_hash == code_digest(code))
        .values(token_hash=token_digest(token), pairing_code_hash=None, paired_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        db.session.rollback()
        return None
    device = db.session.get(KioskDevice, kiosk_id)
    db.session.refresh(device)
    audit.record("kiosk.pair", actor=None, target=device.name, detail={"kiosk": device.id})
    return device, token
