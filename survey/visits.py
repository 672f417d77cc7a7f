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
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from survey import audit, catalogue, scope
from survey.config import public_url
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.models import Counter, Service, User, VisitCode, utcnow
from survey.responses import UNSTORABLE_MESSAGE, has_unstorable_text

API_MAX = 100  # codes in one API request


class VisitError(ValueError):
    """A request for codes that cannot be met: the field at fault, why, and the HTTP status."""

    def __init__(self, message, *, field: str | None = None, status: int = 422):
        super().__init__(str(message))
        self.message, self.field, self.status = message, field, status


@dataclass(frozen=True)
class CodeOrder:
    """A checked request for visit codes: how many, for which service and counter."""

    service: Service
    counter: Counter | None
    count: int


def check_order(data: Any, *, user: User) -> CodeOrder:
    """Check an API request for codes ({"service", "counter", "count"}) made by `user`; raise
    VisitError with the field, message and status of the first fault.

    Only an administrator may ask for codes of a whole service; a manager names a counter of
    a unit they may see.
    """
    if has_unstorable_text(data):
        raise VisitError(UNSTORABLE_MESSAGE)
    if not isinstance(data, dict) or not isinstance(data.get("service"), str):
        raise VisitError(_l("Unknown or inactive procedure."), field="service")
    if not isinstance(data.get("counter") or "", str):
        raise VisitError(_l("Unknown or inactive procedure."), field="service")
    service = catalogue.find_service(data["service"])
    counter = catalogue.find_counter(data.get("counter"))
    count = data.get("count", 1)
    if service is None:
        raise VisitError(_l("Unknown or inactive procedure."), field="service")
    if data.get("counter") and counter is None:
        raise VisitError(_l("Unknown counter for this unit."), field="counter")
    if user.role != "admin" and counter is None:
        raise VisitError(_l("Name the counter the codes are for."), field="counter")
    if counter is not None and not scope.can_see(user, counter.unit_id):
        raise VisitError(
            _l("You may not ask for visit codes of this unit."), field="counter", status=403
        )
    if type(count) is not int or not 1 <= count <= API_MAX:
        raise VisitError(_l("Ask for between 1 and 100 codes."), field="count")
    return CodeOrder(service, counter, count)


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
