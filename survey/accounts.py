"""Accounts of the manager side: users, passwords, sign-in, sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import case, delete, func, literal, or_, select, update

from survey import audit
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.models import ApiToken, Unit, User, UserSession, UtcDateTime, utcnow
from survey.paths import PACKAGE_DIR

ROLES = ("admin", "manager", "viewer")
MIN_PASSWORD = 8
MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=8)
_hasher = PasswordHasher()  # argon2id with the library's (OWASP-compliant) defaults
# The test suite signs in thousands of times: argon2id at its lowest cost there, and only there
# (TESTING and SURVEY_CHEAP_PASSWORD_HASH both set). Verifying reads the cost from the hash itself.
_cheap_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class AccountError(ValueError):
    """An account request that cannot be carried out; the message, a lazy translation, is for
    people and reads in the language in use where it is shown (`str(error)`)."""


@cache
def _common_passwords() -> frozenset[str]:
    text = (PACKAGE_DIR / "data" / "common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problem(password: str, *, email: str = ""):
    """Why `password` may not be used, or None."""
    if len(password) < MIN_PASSWORD:
        return _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD)
    lowered = password.lower()
    if lowered in _common_passwords() or (email and lowered == email.split("@")[0].lower()):
        return _l("This password is too common or too easy to guess. Choose another one.")
    return None


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _current_hasher().hash(password)


def _current_hasher() -> PasswordHasher:
    config = current_app.config
    cheap = config.get("TESTING") and config.get("SURVEY_CHEAP_PASSWORD_HASH")
    return _cheap_hasher if cheap else _hasher


def check_password(user: User, password: str) -> bool:
    """True when `password` is the user's password."""
    try:
        return _current_hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A one-time password that is easy to type from a printout."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def _units(codes: list[str] | tuple[str, ...]) -> list[Unit]:
    units = list(db.session.scalars(select(Unit).where(Unit.code.in_(codes))))
    unknown = set(codes) - {u.code for u in units}
    if unknown:
        raise AccountError(_l("Unknown unit: %(codes)s.", codes=", ".join(sorted(unknown))))
    return units


def _unknown_role(role: str):
    return _l("Unknown role: %(role)s. Choose one of %(roles)s.", role=role, roles=", ".join(ROLES))


def create_user(
    email: str,
    *,
    role: str,
    password: str,
    units: list[str] | tuple[str, ...] = (),
    must_change: bool = False,
    actor: str | None = None,
) -> User:
    """Create an account; refuse a duplicate e-mail, an unknown role or a weak password."""
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(_unknown_role(role))
    if "@" not in email or len(email) > 254 or not email.isprintable() or " " in email:
        raise AccountError(_l("“%(email)s” is not an e-mail address.", email=email))
    problem = password_problem(password, email=email)
    if problem:
        raise AccountError(problem)
    if db.session.scalar(select(User).filter_by(email=email)):
        raise AccountError(_l("A user with the e-mail %(email)s exists already.", email=email))
    user = User(
        email=email,
        role=role,
        password_hash=hash_password(password),
        must_change_password=must_change,
        units=_units(units),
    )
    db.session.add(user)
    audit.record(
        "user.create",
        actor=actor,
        target=email,
        detail={"role": role, "units": list(units)},
        commit=False,
    )
    db.session.commit()
    return user


def update_user(user: User, *, role: str, units: list[str], active: bool, actor: str) -> None:
    """Change a user's role, units and whether the account may sign in."""
    if role not in ROLES:
        raise AccountError(_unknown_role(role))
    user.role, user.units, user.active = role, _units(units), active
    if not active:  # its sessions end and its API tokens die for good, even if reactivated
        db.session.execute(delete(UserSession).filter_by(user_id=user.id))
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    audit.record(
        "user.update",
        actor=actor,
        target=user.email,
        detail={"role": role, "units": units, "active": active},
        commit=False,
    )
    db.session.commit()


def set_password(user: User, password: str, *, actor: str, must_change: bool = False) -> None:
    """Replace a password (checked against the policy) and end the user's other sessions."""
    problem = password_problem(password, email=user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    user.failed_logins, user.locked_until = 0, None
    db.session.execute(delete(UserSession).filter_by(user_id=user.id))
    audit.record("user.password", actor=actor, target=user.email, commit=False)
    db.session.commit()


def has_users() -> bool:
    """True once any account exists."""
    return bool(db.session.scalar(select(func.count()).select_from(User)))


class SignInRefused(Exception):
    """Sign-in refused; `locked_until` is set when the account is locked."""

    def __init__(self, locked_until: datetime | None = None):
        super().__init__("sign-in refused")
        self.locked_until = locked_until


def reserve_attempt(user: User, *, now: datetime) -> datetime | None:
    """Count one sign-in attempt (password or second factor) before it is checked.

    One UPDATE counts and, at the MAX_FAILURES-th attempt, locks, so parallel attempts cannot
    all pass before the lock (on SQLite and PostgreSQL alike). Raise SignInRefused when the
    account is locked; return the lock time when this attempt is the last one allowed. A full
    sign-in clears the count (start_session).
    """
    last = User.failed_logins + 1 >= MAX_FAILURES
    until = literal(now + LOCK_FOR, UtcDateTime())
    row = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(
            failed_logins=case((last, 0), else_=User.failed_logins + 1),
            locked_until=case((last, until), else_=User.locked_until),
        )
        .returning(User.locked_until)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    if row is None:
        audit.record("signin.locked", actor=user.email)
        raise SignInRefused(user.locked_until)
    return row.locked_until if row.locked_until and row.locked_until > now else None


def authenticate(email: str, password: str, *, now: datetime) -> User:
    """Check e-mail and password, counting the attempt first; a locked account stays locked."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).filter_by(email=email))
    locked_until = reserve_attempt(user, now=now) if user is not None else None
    if user is None or not user.active or not check_password(user, password):
        audit.record("signin.failed", actor=email, detail={"locked": locked_until is not None})
        raise SignInRefused(locked_until)
    return user


def start_session(user: User) -> str:
    """Open a new server-side session (a new id at every sign-in); return its token."""
    token = secrets.token_urlsafe(32)
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.add(UserSession(token=token_digest(token), user=user))
    audit.record("signin", actor=user.email, commit=False)
    db.session.commit()
    return token


def end_session(token: str, *, actor: str | None) -> None:
    """End a session for good: its cookie is refused from now on."""
    db.session.execute(delete(UserSession).filter_by(token=token_digest(token)))
    audit.record("signout", actor=actor, commit=False)
    db.session.commit()


@dataclass(frozen=True)
class LiveSession:
    user: User
    token: str
    expires_at: datetime


def resume_session(token: str) -> LiveSession | None:
    """The session behind a cookie, or None when it ended, idled out or grew too old."""
    row = db.session.scalar(select(UserSession).filter_by(token=token_digest(token)))
    now = utcnow()
    if row is None or not row.user.active:
        return None
    if now - row.last_seen > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_TIMEOUT:
        db.session.delete(row)
        db.session.commit()
        return None
    if now - row.last_seen > timedelta(seconds=30):
        row.last_seen = now
        db.session.commit()
    expires = min(row.last_seen + IDLE_TIMEOUT, row.created_at + ABSOLUTE_TIMEOUT)
    return LiveSession(row.user, token, expires)


def token_digest(token: str) -> str:
    """How a bearer token (session, API, kiosk) is stored: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, *, actor: str) -> str:
    """Create an API token for `user`; only its hash is kept, the token is returned once."""
    token = "sv_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(token_hash=token_digest(token), prefix=token[:10], user=user))
    audit.record(
        "token.create", actor=actor, target=user.email, detail={"prefix": token[:10]}, commit=False
    )
    db.session.commit()
    return token


def revoke_api_token(token: ApiToken, *, actor: str) -> None:
    """Revoke a token at once."""
    token.revoked_at = utcnow()
    audit.record(
        "token.revoke",
        actor=actor,
        target=token.user.email,
        detail={"prefix": token.prefix},
        commit=False,
    )
    db.session.commit()


def user_for_api_token(token: str) -> User | None:
    """The active user behind a valid, unrevoked API token."""
    row = db.session.scalar(select(ApiToken).filter_by(token_hash=token_digest(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used = utcnow()
    db.session.commit()
    return row.user


def find_user(email: str) -> User | None:
    """The user with `email`, or None."""
    return db.session.scalar(select(User).filter_by(email=email.strip().lower()))
