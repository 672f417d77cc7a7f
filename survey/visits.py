"""One rating per visit: signed, single-use visit codes printed on the one-stop receipt.

A code is random and signed with the app's secret, so a forged code is refused without a
lookup; only a keyed hash of the code is stored; using it is one atomic UPDATE, so a code
rates once even when two phones scan it at the same moment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import select, update

from survey import audit
from survey.config import public_url
from survey.extensions import db
from survey.models import Counter, Service, VisitCode, utcnow


class VisitError(ValueError):
    """A request for codes that cannot be met."""


def _mac(message: str, purpose: str) -> bytes:
    key = hashlib.sha256(f"{purpose}:{current_app.config['SECRET_KEY']}".encode()).digest()
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _b32(raw: bytes, length: int) -> str:
    return base64.b32encode(raw).decode().rstrip("=")[:length]


def key_of(code: str) -> str:
    """The keyed hash under which a code is stored."""
    return _mac(code.upper(), "visit-store").hex()


def signed(code: str) -> bool:
    """Whether the code carries a valid signature (checked before any lookup)."""
    body, _, signature = code.upper().rpartition("-")
    return bool(body) and hmac.compare_digest(_b32(_mac(body, "visit-sign"), 6), signature)


def mint(service: Service, count: int, *, counter: Counter | None = None, actor: str) -> list[str]:
    """Create `count` single-use codes for a service (and counter); return them once."""
    if not 1 <= count <= 1000:
        raise VisitError("count must be between 1 and 1000")
    codes = []
    for _ in range(count):
        body = _b32(secrets.token_bytes(10), 12)
        code = f"{body}-{_b32(_mac(body, 'visit-sign'), 6)}"
        db.session.add(VisitCode(code_hash=key_of(code), service=service, counter=counter))
        codes.append(code)
    audit.record(
        "visit-codes.mint",
        actor=actor,
        target=service.code,
        detail={"count": count, "counter": counter.code if counter else None},
        commit=False,
    )
    db.session.commit()
    return codes


def find(code: str) -> VisitCode | None:
    """The stored visit code, or None for a forged or unknown one."""
    if not signed(code):
        return None
    return db.session.scalar(select(VisitCode).filter_by(code_hash=key_of(code)))


def fits(visit: VisitCode, *, service_code: str, counter: Counter | None) -> bool:
    """Whether a code rates this service at this counter: the ones it was minted for."""
    if visit.service.code != service_code:
        return False
    return visit.counter_id is None or (counter is not None and counter.id == visit.counter_id)


def claim(code: str, *, commit: bool = True) -> bool:
    """Use a code once: True for the first caller only.

    With `commit=False` the claim joins the caller's transaction (the response that uses the
    code): a second caller waits on the row until that transaction ends.
    """
    result = db.session.execute(
        update(VisitCode)
        .where(VisitCode.code_hash == key_of(code), VisitCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if commit:
        db.session.commit()
    return result.rowcount == 1


def link(code: str, response_id: int) -> None:
    """Remember which response used the code."""
    db.session.execute(
        update(VisitCode).where(VisitCode.code_hash == key_of(code)).values(response_id=response_id)
    )
    db.session.commit()


def url(code: str) -> str:
    """The address printed as a QR code on the receipt."""
    return public_url(f"/v/{code}")
