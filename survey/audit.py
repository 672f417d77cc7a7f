"""The audit log of the manager side: sign-ins, failures, user and token changes, exports."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent


def record(
    action: str,
    *,
    actor: str | None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    commit: bool = True,
) -> None:
    """Append an event; the staff member's address is kept (never a citizen's)."""
    address = request.remote_addr if has_request_context() else None
    db.session.add(
        AuditEvent(action=action, actor=actor, target=target, address=address, detail=detail)
    )
    if commit:
        db.session.commit()


def latest(*, page: int, per_page: int = 50) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and the number of events."""
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    events = db.session.scalars(
        select(AuditEvent)
        .order_by(AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(events), total
