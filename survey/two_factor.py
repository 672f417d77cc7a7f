"""Two-factor sign-in of the manager side: TOTP (RFC 6238) and one-time recovery codes.

Administrators must use it; managers and viewers may. A code is accepted for the current
30-second step and one step either side (clock drift), and each step once only: the last
used step is stored and moved forward by one atomic UPDATE, so a code seen over a shoulder
or replayed by a second request is refused. Wrong codes count toward the account lock
(accounts.reserve_attempt). Recovery codes carry 120 random bits, so a SHA-256 of each is
enough to store them (ASVS 5.0, V6.5); each works once.
"""

from __future__ import annotations

import hmac
import io
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update

from survey import audit
from survey.accounts import SignInRefused, reserve_attempt, token_digest
from survey.extensions import db
from survey.models import RecoveryCode, User, UserSession

ISSUER = "SIPAS survey"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def required(user: User) -> bool:
    """True when the account must use two-factor sign-in (administrators)."""
    return user.role == "admin"


def new_secret() -> str:
    """A fresh TOTP secret (160 random bits, base32)."""
    return pyotp.random_base32()


def qr_svg(secret: str, *, email: str) -> bytes:
    """The enrolment QR code (an otpauth:// address) as an SVG image."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=4, xmldecl=False)
    return out.getvalue()


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _matching_step(secret: str, code: str, *, now: datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step - 1, step, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def _use_step(user: User, step: int) -> bool:
    """Record `step` as used; False when it (or a later one) was used already."""
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _normalised(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _use_recovery_code(user: User, code: str, *, now: datetime) -> bool:
    digest = token_digest(_normalised(code))
    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def check_code(user: User, code: str, *, now: datetime) -> None:
    """Accept a TOTP code (each time step once) or an unused recovery code.

    The attempt is counted before it is checked; raise SignInRefused (with the lock time when
    the account is now locked) on a wrong, reused or locked attempt.
    """
    locked_until = reserve_attempt(user, now=now)
    step = _matching_step(user.totp_secret or "", code, now=now)
    if step is not None and _use_step(user, step):
        return
    if step is None and _use_recovery_code(user, code, now=now):
        audit.record("2fa.recovery_code", actor=user.email, detail={"left": codes_left(user)})
        return
    audit.record("signin.2fa_failed", actor=user.email, detail={"reused": step is not None})
    raise SignInRefused(locked_until)


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).filter_by(user_id=user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(25))  # 25 × log2(31) ≈ 124 bits
        codes.append("-".join(raw[i : i + 5] for i in range(0, 25, 5)))
        db.session.add(RecoveryCode(user_id=user.id, code_hash=token_digest(_normalised(raw))))
    return codes


def enrol(user: User, secret: str, code: str, *, now: datetime) -> list[str] | None:
    """Turn on two-factor sign-in once `code` proves the app holds `secret`.

    Return the new recovery codes (shown once), or None when the code is wrong.
    """
    step = _matching_step(secret, code, now=now)
    if step is None:
        return None
    user.totp_secret, user.totp_last_step = secret, step
    codes = _new_recovery_codes(user)
    audit.record("2fa.enrol", actor=user.email, target=user.email, commit=False)
    db.session.commit()
    return codes


def disable(user: User, *, actor: str, action: str = "2fa.disable") -> None:
    """Turn two-factor sign-in off and forget the secret and recovery codes."""
    user.totp_secret, user.totp_last_step = None, None
    db.session.execute(delete(RecoveryCode).filter_by(user_id=user.id))
    audit.record(action, actor=actor, target=user.email, commit=False)
    db.session.commit()


def reset(user: User, *, actor: str) -> None:
    """An administrator's reset (a lost phone): 2FA off, every session of the account ended."""
    db.session.execute(delete(UserSession).filter_by(user_id=user.id))
    disable(user, actor=actor, action="user.2fa_reset")


def codes_left(user: User) -> int:
    """How many recovery codes the account has not used."""
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
