"""The rollup tables (survey/rollups.py keeps them in step): Core tables, read and written in
bulk, never as ORM objects."""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, PrimaryKeyConstraint, String, Table

from survey.extensions import db
from survey.topic_lexicon import TOPICS

ROLLUP_ITEMS = 40
"""The scored items (overall question, criteria, expectations) a questionnaire may have."""
ROLLUP_LEVELS = 5
"""Answer values 1..5 each have a count column; "not applicable" is not counted."""
ROLLUP_SLOTS = [f"n{slot}" for slot in range(ROLLUP_ITEMS * ROLLUP_LEVELS)]
ROLLUP_TOPICS = [f"t_{topic}" for topic in TOPICS]
"""The comments about each topic (survey/topics.py), in the four rollups of counted ratings."""


def _rollup_table(name: str, key: list[Column], *, topics: bool = True) -> Table:
    """A rollup: per period and context, the responses, those with a comment, and the answers.

    Column n<i * 5 + value - 1> counts the answers `value` to the questionnaire's i-th scored
    item (survey/rollups.py `layout`); NULL stands for none, so a row stores only what it has.
    With `topics`, column t_<topic> counts the comments tagged with that topic.
    """
    return Table(
        name,
        db.metadata,
        *key,
        Column("responses", Integer, nullable=False),
        Column("comments", Integer, nullable=False, default=0),
        *(Column(slot, Integer) for slot in ROLLUP_SLOTS),
        *(Column(slot, Integer) for slot in (ROLLUP_TOPICS if topics else ())),
        PrimaryKeyConstraint(*(c.name for c in key)),
    )


def _key(period: str, *names: str) -> list[Column]:
    columns = [Column(period, Date, nullable=False)]
    columns += [Column(n, Integer, nullable=False) for n in ("questionnaire_id", *names)]
    return columns


# Every local day and context down to the counter (0: none) and the channel.
rollup_day = _rollup_table(
    "rollup_day",
    [
        *_key("day", "unit_id", "service_id", "counter_id"),
        Column("channel", String(10), nullable=False),
    ],
)
# A unit's days (a kiosk's most rated procedures, a commune's custom ranges).
Index("ix_rollup_day_unit", rollup_day.c.unit_id, rollup_day.c.day)
# Whole local months (the 1st) per unit and procedure: what a unit's summaries read.
rollup_month = _rollup_table("rollup_month", _key("month", "unit_id", "service_id"))
# Whole local months per unit, every procedure together: what a ranking of units and a unit's
# or a scope's figures without a procedure filter read (a hundred units make about 1,200 rows a
# year, where their procedures' months make tens of thousands).
rollup_unit_month = _rollup_table("rollup_unit_month", _key("month", "unit_id"))
# Whole local months per procedure and channel over every unit: what province-wide summaries
# read (a channel filter too).
rollup_service_month = _rollup_table(
    "rollup_service_month",
    [*_key("month", "service_id"), Column("channel", String(10), nullable=False)],
)
# Whole local months per unit, for each answered option of each respondent profile item
# (survey/profiles.py): a response counts once under every option its profile names, so "who is
# satisfied" reads months, never raw responses. No procedure or channel in the key: the rows are
# bounded by months × units × options whatever the number of ratings; a breakdown filtered by
# procedure, agency, field, channel or counter reads the raw responses it selects.
rollup_profile = _rollup_table(
    "rollup_profile",
    [
        *_key("month", "unit_id"),
        Column("item", String(20), nullable=False),
        Column("option", String(20), nullable=False),
    ],
    topics=False,
)
# The same over every unit together: what a province-wide breakdown reads (a few hundred rows
# a year, where the units' make tens of thousands).
rollup_province_profile = _rollup_table(
    "rollup_province_profile",
    [
        *_key("month"),
        Column("item", String(20), nullable=False),
        Column("option", String(20), nullable=False),
    ],
    topics=False,
)
