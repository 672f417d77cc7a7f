"""The audit log of the manager side: sign-ins, failures, user and token changes, exports."""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent

_CONTROLS = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def printable(value: Any) -> Any:
    """`value` with control characters (newlines, escapes…) written as \\x.. so it cannot forge
    a log line or an audit record; other values pass through unchanged."""
    if not isinstance(value, str):
        return value
    return "".join(ascii(ch)[1:-1] if unicodedata.category(ch) in _CONTROLS else ch for ch in value)


class _EscapeControls(logging.Filter):
    """Escape control characters in a log message built from user-provided values."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = printable(record.getMessage()), None
        return True


def init_app(app: Flask) -> None:
    """Make every line of the app's log escape control characters."""
    app.logger.addFilter(_EscapeControls())


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
    if detail is not None:
        detail = {printable(k): printable(v) for k, v in detail.items()}
    db.session.add(
        AuditEvent(
            action=action,
            actor=printable(actor),
            target=printable(target),
            address=address,
            detail=detail,
        )
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
