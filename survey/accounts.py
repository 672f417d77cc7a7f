"""Accounts of the manager side: creating users and hashing passwords."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import User

ROLES = ("admin", "manager", "viewer")
MIN_PASSWORD = 8
_hasher = PasswordHasher()  # argon2id with the library's (OWASP-compliant) defaults


class AccountError(ValueError):
    """An account request that cannot be carried out."""


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    """True when `password` is the user's password."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def generate_password() -> str:
    """A one-time password that is easy to type from a printout."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def create_user(email: str, *, role: str, password: str, must_change: bool = False) -> User:
    """Create an account; refuse a duplicate e-mail, an unknown role or a short password."""
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(f"unknown role '{role}' (expected {', '.join(ROLES)})")
    if "@" not in email:
        raise AccountError(f"'{email}' is not an e-mail address")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if db.session.scalar(select(User).filter_by(email=email)):
        raise AccountError(f"a user with the e-mail {email} exists already")
    user = User(
        email=email,
        role=role,
        password_hash=hash_password(password),
        must_change_password=must_change,
    )
    db.session.add(user)
    db.session.commit()
    return user


def has_users() -> bool:
    """True once any account exists."""
    return bool(db.session.scalar(select(func.count()).select_from(User)))
