"""The comments' topics in the rollups, counted in set-based SQL.

A tagged comment adds one to the t_<topic> column of each of its topics in the four rollup rows
its rating counts in (survey/rollups.py), so the topic counts of a period and their monthly
trend are read with the other figures, whatever the number of comments. A comment is tagged after
its rating was stored (survey/topics.py: by a job, or by the page about to count it), so the
tags reach the rollups here, in the tagging's transaction: `add` counts the responses just
tagged, and `refill` counts every response afresh (after the lexicon changed, after a rebuild,
and in the migration that brought the columns). A manager's correction, a flag and a deletion
change a response through the ORM, and the rollups' flush listener moves its topics with it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Date, case, cast, func, literal_column, or_, select, update

from survey import rollups
from survey.models import ROLLUP_TOPICS, Response
from survey.topic_lexicon import BITS


def add(connection, ids: list[int]) -> None:
    """Add the topics of the responses `ids` (just tagged) to the rollups; flagged ones and
    those about no topic add nothing."""
    if ids:
        _count(connection, [Response.id.in_(ids)], fresh=False)


def refill(connection, *, cleared: bool = False) -> None:
    """Count every response's topics in the rollups afresh (`cleared`: their topic columns
    hold nothing yet, as after a rebuild's inserts)."""
    _count(connection, [], fresh=True, cleared=cleared)


def _count(connection, where: list, *, fresh: bool, cleared: bool = False) -> None:
    """One UPDATE per rollup (in the order a rating's write touches them, so that the two
    never wait on each other in a cycle) from the tagged responses matching `where`, grouped by
    the rollup's key."""
    day = _local_day(connection)
    month = (
        cast(func.date_trunc("month", func.timezone(_zone().key, Response.captured_at)), Date)
        if connection.dialect.name == "postgresql"
        else func.date(day, "start of month")
    )
    where = [*where, Response.flag_reason.is_(None), Response.topics > 0]
    for table, names in rollups.COUNTED:
        if fresh and not cleared:
            stored = or_(*(table.c[name].is_not(None) for name in ROLLUP_TOPICS))
            connection.execute(update(table).where(stored).values(dict.fromkeys(ROLLUP_TOPICS)))
        keys = [_key(name, day, month) for name in names]
        found = select(*keys, *_tallies()).where(*where).group_by(*keys).subquery()
        before = {name: 0 if fresh else func.coalesce(table.c[name], 0) for name in ROLLUP_TOPICS}
        counts = {name: func.nullif(before[name] + found.c[name], 0) for name in ROLLUP_TOPICS}
        same = [table.c[name] == found.c[name] for name in names]
        connection.execute(update(table).where(*same).values(counts))


def _tallies() -> list:
    """Per topic, the responses whose `topics` hold its bit (a constant in the SQL text)."""
    return [
        func.count(case((Response.topics.op("&")(literal_column(str(bit))) != 0, 1))).label(name)
        for name, bit in zip(ROLLUP_TOPICS, BITS.values(), strict=True)
    ]


def _key(name: str, day, month):
    if name in ("day", "month"):
        return (day if name == "day" else month).label(name)
    if name == "counter_id":
        return func.coalesce(Response.counter_id, 0).label(name)
    return getattr(Response, name).label(name)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["SURVEY_TIMEZONE"])


def _local_day(connection):
    from survey.rollup_rebuild import local_day_sql  # it imports this module

    return local_day_sql(connection, _zone())
