"""Storing a checked API response (survey/submissions.py checks it) in one transaction: the
response, its answers, its rollup counts and any abuse flag commit together; on PostgreSQL a
new rating is one statement (survey/rollup_write.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError

from survey import autocommit, cases, contacts, flags, rollup_write, rollups
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.kiosks import Place, WriteKiosk
from survey.models import Answer, Response, Unit, utcnow
from survey.questionnaire import Questionnaire
from survey.responses import (
    FieldError,
    Invalid,
    commit_as_written,
    find_response,
    mark_complete,
    put_answers,
)
from survey.submissions import Submission, owns


def record_submission(
    q: Questionnaire,
    sub: Submission,
    *,
    unit: Unit | Place,
    channel: str,
    kiosk: WriteKiosk | None = None,
) -> str:
    """Store a checked submission in one transaction (answers, rollups, flag and all).

    Returns "created", "updated" (a partial one completed) or "duplicate" (already there:
    nothing changes). Of two requests with the same id at once, the unique id lets one insert;
    the other rolls back and, on its second try, finds that response.
    """
    for attempt in range(2):
        try:
            # The check found the stored response, if any; a second try looks again.
            existing = find_response(sub.public_id) if attempt else sub.existing
            moved, stored = None, False
            if existing is None:
                moved, stored = _store_new(q, sub, unit=unit, channel=channel, kiosk=kiosk)
                status = "created"
            else:
                _in_one_transaction()
                status = _complete(sub, existing, unit=unit, channel=channel)
            if not stored:
                commit_as_written()
            if moved is not None:  # the next rating of the request starts from it
                kiosk.last_rating_at = moved
            return status
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise
        except Invalid:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def _store_new(
    q: Questionnaire, sub: Submission, *, unit: Unit | Place, channel: str, kiosk
) -> tuple[datetime | None, bool]:
    """Insert a new response (insert_new) with its contact, if any; return the kiosk's last
    rating time and whether the response is stored already (the request's autocommit
    connection ran its one statement: no commit to follow)."""
    if sub.phone:  # the response, its contact and its case commit together
        _in_one_transaction()
        connection = db.session.connection()
    else:
        connection = autocommit.connection()
    moved = insert_new(q, sub, unit=unit, channel=channel, kiosk=kiosk, connection=connection)
    _keep_contact(sub, None)
    return moved, autocommit.owns(connection)


def statement_per_transaction() -> None:
    """On PostgreSQL, let each statement of this request's kiosk reads and new ratings commit
    itself, on the request's autocommit connection (survey/autocommit.py): a new rating is
    stored by one statement (`insert_new`), which is a transaction in itself, and the reads
    before it need none; so neither BEGIN nor COMMIT costs a round trip, and the session is
    not used. Called before the request's first statement; the ORM's writes of several
    statements (`_complete`, a rating with its number) go through the session's transaction."""
    autocommit.begin()


def _in_one_transaction() -> None:
    """End statement_per_transaction's autocommit, if on: what follows commits as a whole."""
    options = db.session.connection().get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        db.session.rollback()  # only reads to end: the next statement begins a transaction


_INSERT_RESPONSE = insert(Response.__table__).returning(Response.__table__.c.id)
_INSERT_ANSWER = insert(Answer.__table__)


def insert_new(
    q: Questionnaire,
    sub: Submission,
    *,
    unit: Unit | Place,
    channel: str,
    kiosk: WriteKiosk | None,
    connection: Connection | None = None,
) -> datetime | None:
    """Add a new response in the session's transaction (no commit), without the ORM, or on
    PostgreSQL on `connection` when given; return the kiosk's last rating time once it is
    committed (None without a kiosk).

    One INSERT … RETURNING for the response, one executemany for its answers, one upsert for
    its rollup counts (the ORM's listener does not see these rows, so they are counted here),
    and the kiosk's last rating time when it moves; on PostgreSQL all of it is one statement.
    Nothing is read back.
    """
    reason, moved = None, None
    if kiosk is not None:
        recent = kiosk.take_recent(sub.captured_at)
        reason, moved = flags.judge(kiosk, sub.captured_at, sub.answers, recent)
    values = _columns(q, sub, unit=unit, channel=channel, kiosk=kiosk, reason=reason)
    pairs = list(sub.answers.items())
    kiosk_at = moved if kiosk is not None and moved != kiosk.last_rating_at else None
    if db.engine.dialect.name == "postgresql":  # the engine's: no session to set up for it
        connection = connection if connection is not None else db.session.connection()
        rollup_write.insert_counted(connection, values, pairs, kiosk_at=kiosk_at)
        return moved
    if kiosk_at is not None:
        db.session.execute(flags.MOVE_ON, {"kiosk": kiosk.id, "at": kiosk_at})
    rid = db.session.execute(_INSERT_RESPONSE, values).scalar_one()
    if pairs:
        db.session.execute(
            _INSERT_ANSWER,
            [{"response_id": rid, "item": item, "value": value} for item, value in pairs],
        )
    rollups.count_new(db.session, values, pairs)
    return moved


def _columns(
    q: Questionnaire,
    sub: Submission,
    *,
    unit: Unit | Place,
    channel: str,
    kiosk: WriteKiosk | None,
    reason: str | None,
) -> dict:
    """The new response's columns, `reason` its flag."""
    now = utcnow()
    values = {
        "public_id": sub.public_id,
        "questionnaire_id": q.id,
        "service_id": sub.service.id,
        "unit_id": unit.id,
        "counter_id": sub.counter.id if sub.counter is not None else None,
        "channel": channel,
        "locale": sub.locale,
        "captured_at": sub.captured_at,
        "received_at": now,
        "updated_at": now,
        "status": "complete" if sub.complete else "partial",
        "flag_reason": reason,
        "comment": sub.comment if sub.complete else None,
        "kiosk_id": kiosk.id if kiosk is not None else None,
    }
    if sub.profile:  # left out otherwise: the JSON column would store a JSON null, not NULL
        values["profile"] = sub.profile
    return values


def _complete(sub: Submission, response: Response, *, unit, channel) -> str:
    """Complete a stored partial response of this device (ORM: the listener keeps the
    rollups); "duplicate" when there is nothing to change."""
    if not owns(response, unit=unit, channel=channel):
        raise Invalid([FieldError("id", _l("This response id belongs to another rating."))])
    if response.service_id != sub.service.id:
        return "duplicate"
    if response.status != "partial":
        return _add_profile(sub, response)
    new = {k: v for k, v in sub.answers.items() if k not in {a.item for a in response.answers}}
    if not new and not sub.complete:
        return "duplicate"
    put_answers(response, new)
    if sub.profile:
        response.profile = sub.profile
    _keep_contact(sub, response)
    if sub.complete:
        mark_complete(response, sub.comment)
    return "updated"


def _keep_contact(sub: Submission, response: Response | None) -> None:
    """A consented number: keep it encrypted and open its case, in this transaction. Nothing
    is read or written for a rating without a number."""
    if not sub.phone:
        return
    rid = response.id if response is not None else find_response(sub.public_id).id
    if response is not None and contacts.has_contact(rid):
        return
    now = utcnow()
    contacts.store(rid, sub.phone, now=now)
    cases.open_case(rid, now=now)


def _add_profile(sub: Submission, response: Response) -> str:
    """A sent response whose profile page was answered while the kiosk was offline: the queued
    profile is stored if the response has none yet ("updated"); anything else changes nothing."""
    if not sub.profile or response.profile:
        return "duplicate"
    response.profile = dict(sub.profile)  # the listener counts it in rollup_profile
    return "updated"
