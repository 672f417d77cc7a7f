"""What people complain about: tag comments with topics, keep managers' corrections, and let
administrators edit the lexicon.

Tagging never runs on the write path (a kiosk rating stays as cheap as it is, and a comment
arrives on a later page than the rating): `tag_new` tags what is not tagged yet, from
`survey jobs run`, and the dashboard tags the untagged comments it is about to count
(`tag_pending`), so figures are whole on a machine where no job runs. A manager's correction is
stored with the source "manual" and no tagging touches it again. A comment's topics are kept
twice: as rows of `comment_topic` with their source, and as the bits of its response's `topics`
column, which the rollups count (survey/rollup_topics.py), so that pages read topic counts
without reading comments.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from survey import audit, rollup_topics, topic_lexicon
from survey.extensions import db
from survey.filters import Filters, comment_conditions
from survey.i18n import lazy_text as _l
from survey.models import Response
from survey.topic_models import AUTO, MANUAL, NO_TOPIC, CommentTopic, TopicKeywords

TOPICS = topic_lexicon.TOPICS
LABELS = {
    "thoi_gian_cho": _l("Waiting time"),
    "thai_do": _l("Staff attitude"),
    "phi_le_phi": _l("Fees and charges"),
    "ho_so_giay_to": _l("Dossiers and documents"),
    "hen_tra_ket_qua": _l("Appointment and return of results"),
    "co_so_vat_chat": _l("Facilities"),
    "huong_dan": _l("Guidance"),
    "truc_tuyen": _l("Online services"),
}
PENDING_PER_VIEW = 500  # untagged comments a dashboard view tags before counting
JOB_BATCH = 5000


def overrides() -> dict[str, list[str]]:
    """The administrators' phrases, per topic they replaced."""
    return {
        row.topic: row.phrases.splitlines() for row in db.session.scalars(select(TopicKeywords))
    }


def tagger() -> topic_lexicon.Tagger:
    """The lexicon file with the administrators' overrides, compiled."""
    return topic_lexicon.Tagger(topic_lexicon.load(overrides=overrides()))


def _untagged(conditions: list, limit: int) -> list[tuple[int, str]]:
    query = select(Response.id, Response.comment).where(
        Response.comment.is_not(None), Response.topics.is_(None), *conditions
    )
    return list(db.session.execute(query.order_by(Response.id).limit(limit)))


def _claim(conn, chosen: dict[int, list[str]]) -> dict[int, str | None]:
    """Mark the responses of `chosen` as tagged with their topics' bits, those still untagged
    only (another server may have tagged some); {id: flag reason} of those this call marked."""
    by_bits: dict[int, list[int]] = {}
    for rid, found in chosen.items():
        by_bits.setdefault(topic_lexicon.bits(found), []).append(rid)
    claimed = {}
    for value, ids in by_bits.items():
        mark = (
            update(Response)
            .where(Response.id.in_(ids), Response.topics.is_(None))
            .values(topics=value, updated_at=Response.updated_at)  # the rating did not change
            .returning(Response.id, Response.flag_reason)
        )
        claimed.update(conn.execute(mark).all())
    return claimed


def _tag(found: list[tuple[int, str]], *, now: datetime) -> int:
    """Tag the (response id, comment) pairs `found` and count their topics in the rollups, in
    one transaction of its own (the request's session keeps its objects); how many were tagged."""
    if not found:
        return 0
    tag = tagger()
    chosen = {rid: sorted(tag(text)) for rid, text in found}
    with db.engine.begin() as conn:
        claimed = _claim(conn, chosen)
        rows = [
            {"response_id": rid, "topic": topic, "source": AUTO, "tagged_at": now}
            for rid in claimed
            for topic in chosen[rid] or [NO_TOPIC]
        ]
        if rows:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(dialect.insert(CommentTopic).on_conflict_do_nothing(), rows)
        rollup_topics.add(conn, [rid for rid, flag in claimed.items() if flag is None])
    return len(found)


def tag_new(*, now: datetime) -> int:
    """Tag every comment not tagged yet (a job of `survey jobs run`); how many were tagged."""
    done = 0
    while found := _untagged([], JOB_BATCH):
        done += _tag(found, now=now)
        db.session.rollback()  # read the next batch afresh
    return done


def tag_pending(filters: Filters, *, now: datetime) -> int:
    """Tag the untagged comments that `filters` count (a first batch of them)."""
    return _tag(_untagged(comment_conditions(filters), PENDING_PER_VIEW), now=now)


def tag_on_view(now: datetime) -> datetime | None:
    """`now` when pages tag the comments they count (SURVEY_TOPICS_TAG_ON_VIEW), else None."""
    return now if current_app.config.get("SURVEY_TOPICS_TAG_ON_VIEW", True) else None


def topics_of(response_ids: Iterable[int]) -> dict[int, tuple[tuple[str, str], ...]]:
    """Each response's (topic, source) pairs in TOPICS order; NO_TOPIC only when a manager
    chose it (a comment tagged about nothing has no pair)."""
    ids = list(response_ids)
    found: dict[int, list[tuple[str, str]]] = {rid: [] for rid in ids}
    if ids:
        query = select(CommentTopic).where(CommentTopic.response_id.in_(ids))
        for row in db.session.scalars(query):
            if row.topic != NO_TOPIC or row.source == MANUAL:
                found[row.response_id].append((row.topic, row.source))
    order = {topic: n for n, topic in enumerate((*TOPICS, NO_TOPIC))}
    return {rid: tuple(sorted(pairs, key=lambda p: order[p[0]])) for rid, pairs in found.items()}


def find_comment(public_id: str, *, visible: set[int] | None) -> Response | None:
    """The response with a comment `public_id`, if its unit is within `visible` (None: all)."""
    response = db.session.scalar(select(Response).filter_by(public_id=public_id))
    if response is None or response.comment is None:
        return None
    if visible is not None and response.unit_id not in visible:
        return None
    return response


def correct(response: Response, chosen: Iterable[str], *, actor: str, now: datetime) -> None:
    """Replace a comment's topics by a manager's choice (kept: source manual), audited."""
    picked = sorted(set(chosen) & set(TOPICS), key=TOPICS.index)
    before = [t for t, _ in topics_of([response.id])[response.id] if t != NO_TOPIC]
    db.session.execute(delete(CommentTopic).where(CommentTopic.response_id == response.id))
    response.topics = topic_lexicon.bits(picked)  # the rollups follow (survey/rollups.py)
    for topic in picked or [NO_TOPIC]:
        db.session.add(
            CommentTopic(response_id=response.id, topic=topic, source=MANUAL, tagged_at=now)
        )
    audit.record(
        "comment.topics",
        actor=actor,
        target=response.public_id,
        detail={"before": ",".join(before), "after": ",".join(picked)},
    )


def save_lexicon(phrases: dict[str, str], *, actor: str, now: datetime) -> list[str]:
    """Store the administrators' phrases per topic (blank: back to the file's), audited, and
    let every comment not corrected by hand be tagged again; the topics changed."""
    defaults = topic_lexicon.load().phrases
    current = overrides()
    changed = []
    for topic in TOPICS:
        lines = [line.strip() for line in phrases.get(topic, "").splitlines() if line.strip()]
        wanted = None if not lines or tuple(lines) == defaults[topic] else lines
        if wanted == current.get(topic):
            continue
        changed.append(topic)
        db.session.execute(delete(TopicKeywords).where(TopicKeywords.topic == topic))
        if wanted is not None:
            text = "\n".join(wanted)
            db.session.add(
                TopicKeywords(topic=topic, phrases=text, updated_at=now, updated_by=actor)
            )
    if changed:
        hand = select(CommentTopic.response_id).where(CommentTopic.source == MANUAL)
        db.session.execute(delete(CommentTopic).where(CommentTopic.response_id.not_in(hand)))
        untag = update(Response).where(Response.topics.is_not(None), Response.id.not_in(hand))
        untag = untag.values(topics=None, updated_at=Response.updated_at)
        db.session.execute(untag, execution_options={"synchronize_session": False})
        rollup_topics.refill(db.session.connection())  # the topics of manual choices only
        audit.record("topics.lexicon", actor=actor, detail={"topics": ",".join(changed)})
    return changed


def lexicon_view() -> list[tuple[str, str, list[str], bool]]:
    """Per topic: code, label, phrases in use, whether an administrator replaced them."""
    defaults, current = topic_lexicon.load().phrases, overrides()
    return [
        (topic, str(LABELS[topic]), current.get(topic, list(defaults[topic])), topic in current)
        for topic in TOPICS
    ]
