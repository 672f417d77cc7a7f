"""Suspect ratings: why a rating looks suspect, flagging it, and a manager's review.

A suspect rating is kept, left out of the index and listed for a manager to confirm or clear
(/admin/flags). Its flag is two columns of `Response`:

- `flag_reason`: NULL when the rating is counted, else one of REASONS;
- `flag_review`: NULL until a manager confirms the flag, then "confirmed" (it stays out).

Clearing a flag removes it (both NULL), so the rating counts again; the audit log keeps the
decision, its reason, who took it and when. A rating counts exactly when `flag_reason` is NULL.

The reasons: a kiosk's are worked out here (`suspicion`), a phone's by the phone path's limits
(`abuse.phone_flag`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, ColumnElement, Select, bindparam, cast, func, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from survey import abuse, audit, questionnaire, tally
from survey.answer_words import Worded, worded
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.models import Answer, KioskDevice, Response

BURST = timedelta(seconds=5)  # no citizen finishes the kiosk journey faster
STREAK_LENGTH = 8  # this many identical ratings in a row from one kiosk ...
STREAK_WINDOW = timedelta(minutes=15)  # ... within this time
MAX_AHEAD = timedelta(minutes=5)  # a capture time further ahead of the server's is refused
CONFIRMED = "confirmed"  # the one value of `flag_review`
REASONS = {
    "burst": _l("Seconds after the previous rating"),
    "streak": _l("Streak of identical answers"),
    "fast": _l("Sent sooner than the question can be read"),
    "address": _l("Too many ratings counted from one address"),
    "surge": _l("Far more ratings than usual in this hour"),
}


# --- Why a kiosk's rating looks suspect -----------------------------------------------------


def suspicion(kiosk, captured_at: datetime, answers: Mapping[str, int | None]) -> str | None:
    """Why a new rating from `kiosk` (an ORM object) looks suspect ("burst", "streak"), or
    None; the kiosk's last rating time is stored as it moves on (`judge`)."""
    reason, moved = judge(kiosk, captured_at, answers)
    _moved_on(kiosk, moved)
    return reason


def judge(
    kiosk, captured_at: datetime, answers: Mapping[str, int | None], recent: list | None = None
) -> tuple[str | None, datetime]:
    """Why a new rating from `kiosk` (its `id` and `last_rating_at`) looks suspect ("burst",
    "streak", or None), and the kiosk's last rating time once it is stored (the caller stores
    it when it moves). `recent`: the kiosk's last ratings as `with_recent` reads them for this
    capture time, when the caller has read them already.

    A kiosk chooses its own capture time, so the receive time counts too: the kiosk's ratings
    as received may not outrun one per BURST on average (a backlog after an outage fits).
    """
    last = kiosk.last_rating_at
    moved = max(last, captured_at) if last else captured_at
    if last is not None and abs(captured_at - last) < BURST:
        return "burst", moved
    limit = abuse.parsed_limit(current_app.config["SURVEY_KIOSK_RECEIVE_LIMIT"])
    if not tally.current().acquire(
        f"kiosk:{kiosk.id}",
        limit=limit.amount,
        window=limit.get_expiry(),
        now=abuse.now().timestamp(),
    ):
        return "burst", moved
    return ("streak" if _streak(kiosk, captured_at, answers, recent) else None), moved


_KIOSK = KioskDevice.__table__
MOVE_ON = (
    update(_KIOSK).where(_KIOSK.c.id == bindparam("kiosk")).values(last_rating_at=bindparam("at"))
)


def _moved_on(kiosk, moment: datetime) -> None:
    """Store the kiosk's last rating time with one UPDATE in the current transaction, only when
    it moves; the loaded kiosk takes it as stored, so no flush of the kiosk follows."""
    if moment == kiosk.last_rating_at:
        return
    db.session.execute(MOVE_ON, {"kiosk": kiosk.id, "at": moment})
    set_committed_value(kiosk, "last_rating_at", moment)


# The kiosk's last STREAK_LENGTH - 1 ratings, newest first, read from the index on
# (kiosk_id, received_at) — never other kiosks' rows, and for a quiet kiosk never its rows from
# before the window: a rating captured in the window was received at most MAX_AHEAD before it
# (a capture time further ahead is refused), so `floor` bounds both conditions.
def _recent(kiosk) -> Select:
    """The ids of the recent ratings of `kiosk` (a bound parameter, or a column outside)."""
    return (
        select(Response.id)
        .where(
            Response.kiosk_id == kiosk,
            Response.received_at >= bindparam("floor"),
            (Response.captured_at >= bindparam("captured_since"))
            | (Response.received_at >= bindparam("received_since")),
        )
        .order_by(Response.received_at.desc(), Response.id.desc())
        .limit(STREAK_LENGTH - 1)
    )


def _answered(recent) -> ColumnElement[bool]:
    return (Answer.response_id == recent.c.id) & Answer.value.is_not(None)


_RECENT = _recent(bindparam("kiosk")).subquery()
_STREAK = select(_RECENT.c.id, Answer.item, Answer.value).outerjoin(Answer, _answered(_RECENT))


def with_recent(statement: Select, kiosk_id: ColumnElement[int]) -> Select:
    """PostgreSQL: `statement` with one more column, the answers of the recent ratings of the
    kiosk `kiosk_id` (a column of it) as `judge` takes them: a JSON list of one object per
    rating, item to value (None: no recent rating). One row, where a row per answer made the
    driver convert about twenty; its parameters are `streak_params`."""
    recent = _recent(kiosk_id).correlate_except(Response).subquery("recent")
    answers = (
        select(func.json_object_agg(Answer.item, Answer.value))
        .where(_answered(recent))
        .scalar_subquery()
    )
    empty = cast("{}", JSON)  # a rating with no answer given: no row to aggregate
    rated = select(func.json_agg(func.coalesce(answers, empty))).select_from(recent)
    return statement.add_columns(rated.scalar_subquery())


def streak_params(captured_at: datetime) -> dict[str, datetime]:
    """The window of the streak check of a rating captured at `captured_at`."""
    now = abuse.now()
    return {
        "captured_since": captured_at - STREAK_WINDOW,
        "received_since": now - STREAK_WINDOW,
        "floor": min(captured_at, now) - STREAK_WINDOW - MAX_AHEAD,
    }


def _streak(
    kiosk, captured_at: datetime, answers: Mapping[str, int | None], recent: list | None = None
) -> bool:
    """The last ratings of this kiosk, by capture or receive time, all equal to these (one
    statement, unless `recent` holds them already: a dict of answers per rating)."""
    if recent is None:
        rows = db.session.execute(_STREAK, {"kiosk": kiosk.id, **streak_params(captured_at)})
        earlier: dict[int, dict] = {}
        for rid, item, value in rows:
            if rid is not None:
                earlier.setdefault(rid, {})
                if item is not None:
                    earlier[rid][item] = value
        recent = list(earlier.values())
    if len(recent) < STREAK_LENGTH - 1:
        return False
    mine = {k: v for k, v in answers.items() if v is not None}
    return all(a == mine for a in recent)


# --- Flagging and review -----------------------------------------------------------------


def set_flag(response: Response, reason: str | None) -> None:
    """Flag a response as suspect (kept, left out of the index), or clear its flag."""
    response.flag_reason = reason
    response.flag_review = None
    db.session.commit()


PAGE_SIZE = 50
STATUSES = ("pending", CONFIRMED)  # the list's filter: awaiting review, or confirmed


@dataclass(frozen=True)
class Flagged:
    public_id: str
    captured_at: datetime
    service: str
    unit: str
    kiosk: str | None
    kiosk_id: int | None
    channel: str
    reason: str
    confirmed: bool
    answers: tuple[Worded, ...]


def _filtered(query: Select, *, visible: set[int] | None, status: str, reason: str) -> Select:
    """`query` narrowed to the flagged ratings of the visible units, of this status (one of
    STATUSES, else any) and reason (one of REASONS, else any)."""
    query = query.where(Response.flag_reason.is_not(None))
    if visible is not None:
        query = query.where(Response.unit_id.in_(visible or {-1}))
    if status in STATUSES:
        query = query.where(
            Response.flag_review.is_(None)
            if status == "pending"
            else Response.flag_review == status
        )
    if reason in REASONS:
        query = query.where(Response.flag_reason == reason)
    return query


def count_flagged(*, visible: set[int] | None, status: str = "", reason: str = "") -> int:
    """How many flagged ratings the list holds with these filters (see `flagged`)."""
    query = select(func.count(Response.id))
    return db.session.scalar(_filtered(query, visible=visible, status=status, reason=reason))


def flagged(
    *,
    visible: set[int] | None,
    locale: str,
    status: str = "",
    reason: str = "",
    page: int = 1,
) -> list[Flagged]:
    """One page (PAGE_SIZE) of the flagged ratings of the visible units, newest first, their
    answers in words; the same statements for any number of rows."""
    query = (
        select(Response, KioskDevice.name)
        .outerjoin(KioskDevice, KioskDevice.id == Response.kiosk_id)
        .options(
            joinedload(Response.service),
            joinedload(Response.unit),
            selectinload(Response.answers),
        )
        .order_by(Response.captured_at.desc(), Response.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    rows = db.session.execute(_filtered(query, visible=visible, status=status, reason=reason))
    return [
        Flagged(
            r.public_id,
            r.captured_at,
            r.service.name_in(locale),
            r.unit.name_in(locale),
            kiosk,
            r.kiosk_id,
            r.channel,
            r.flag_reason,
            r.flag_review == CONFIRMED,
            worded(
                questionnaire.by_id(r.questionnaire_id),
                {a.item: a.value for a in r.answers},
                locale,
            ),
        )
        for r, kiosk in rows
    ]


def review_flag(public_id: str, *, decision: str, visible: set[int] | None, actor: str) -> bool:
    """Confirm a flag (the rating stays out of the index) or clear it (it counts again)."""
    return review_flags([public_id], decision=decision, visible=visible, actor=actor)


def review_flags(
    public_ids: list[str], *, decision: str, visible: set[int] | None, actor: str
) -> bool:
    """Confirm the flags of these ratings (they stay out of the index) or clear them (they
    count again), each decision audited, all in one transaction (the rollups follow in it);
    nothing changes, and False, when one of them is not a flagged rating of a visible unit."""
    wanted = set(public_ids)
    responses = db.session.scalars(
        select(Response)
        .where(Response.public_id.in_(wanted))
        .options(selectinload(Response.answers))
    ).all()
    if not wanted or len(responses) != len(wanted):
        return False
    if any(
        r.flag_reason is None or (visible is not None and r.unit_id not in visible)
        for r in responses
    ):
        return False
    for response in responses:
        reason = response.flag_reason
        if decision == "confirm":
            response.flag_review = CONFIRMED
        else:
            response.flag_reason = response.flag_review = None
        audit.record(
            f"flag.{decision}",
            actor=actor,
            target=response.public_id,
            detail={"reason": reason},
            commit=False,
        )
    db.session.commit()
    return True
