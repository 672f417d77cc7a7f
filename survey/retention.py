"""Retention and redaction of what citizens wrote (issue 13; docs/PRIVACY.md).

`survey purge` and the daily job remove comment text older than SURVEY_COMMENT_RETENTION_DAYS:
the anonymous rating and its answers stay, and so do the figures (the rollups count the
comment away, as when a citizen's comment is erased on request). A manager may also redact a
comment by hand; both are audited, without the text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from survey import audit, contacts, scope
from survey.extensions import db
from survey.models import Response, User
from survey.paper_models import PaperEntry, PaperForm

BATCH = 200  # responses changed per commit: a long purge holds no long transaction


class RedactRefused(Exception):
    """The comment does not exist, has no text, or is outside the account's units."""


def purge_comments(*, now: datetime) -> int:
    """Remove the text of comments captured before the retention period; the number removed."""
    cutoff = now - timedelta(days=current_app.config["SURVEY_COMMENT_RETENTION_DAYS"])
    removed = 0
    while True:
        batch = db.session.scalars(
            select(Response)
            .where(Response.comment.is_not(None), Response.captured_at < cutoff)
            .order_by(Response.id)
            .limit(BATCH)
        ).all()
        if not batch:
            break
        for response in batch:
            response.comment = None  # through the ORM: the rollups count it away
        removed += len(batch)
        db.session.commit()
    papers = db.session.execute(
        update(PaperEntry)
        .where(PaperEntry.comment.is_not(None), PaperEntry.written_on < cutoff.date())
        .values(comment=None)
        .execution_options(synchronize_session=False)
    )
    if removed or papers.rowcount:
        audit.record(
            "comment.purge",
            actor="survey purge",
            detail={"comments": removed, "paper": papers.rowcount, "before": cutoff.isoformat()},
            commit=False,
        )
    db.session.commit()
    return removed


# Every step of `survey purge` and of the daily purge job, in order: each takes `now` and
# returns how many things it removed. The lead adds contacts.purge_contacts here (issue 13).
PURGES: list[Callable[..., int]] = [purge_comments, contacts.purge_contacts]


def purge(*, now: datetime) -> int:
    """Run every purge step; the number of things removed."""
    return sum(step(now=now) for step in PURGES)


def comment_for_redaction(response_id: int, user: User) -> Response:
    """The rating whose comment `user` may redact (admins and managers, within their units)."""
    response = db.session.get(Response, response_id)
    if response is None or response.comment is None or not scope.can_see(user, response.unit_id):
        raise RedactRefused
    return response


def redact_comment(response_id: int, text: str | None, *, user: User) -> bool:
    """Replace a comment's text with `text` (empty: remove it); True when it was removed.

    Audited with who, which rating and the lengths before and after, never the text."""
    response = comment_for_redaction(response_id, user)
    before = len(response.comment or "")
    kept = unicodedata.normalize("NFC", (text or "").strip()) or None
    response.comment = kept
    audit.record(
        "comment.redact",
        actor=user.email,
        target=str(response.id),
        detail={"removed": kept is None, "before": before, "after": len(kept or "")},
        commit=False,
    )
    for entry in _paper_entries(response.id):
        entry.comment = kept
    db.session.commit()
    return kept is None


def _paper_entries(response_id: int) -> list[PaperEntry]:
    """The typings of the paper form a response came from (they hold the comment too)."""
    return list(
        db.session.scalars(
            select(PaperEntry)
            .join(PaperForm, PaperForm.id == PaperEntry.form_id)
            .where(PaperForm.response_id == response_id)
        )
    )
