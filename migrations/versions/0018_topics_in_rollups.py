"""comment topics in the rollups: a response's topics as bits, counted per topic in the rollups

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 13:30:00

- `response.topics`: the comment's topics as bits (1 << the topic's index in
  survey.topic_lexicon.TOPICS), 0 for a comment about none of them, NULL until it is tagged;
  a partial index finds the comments not tagged yet;
- `t_<topic>` in `rollup_day`, `rollup_month`, `rollup_unit_month` and `rollup_service_month`:
  the counted ratings whose comment is about that topic, so that the dashboard and the report
  read topic counts with the other figures instead of reading every comment.

The upgrade sets each tagged response's bits from its `comment_topic` rows (a manager's
choice of "none" gives 0) and counts them in the rollups in set-based SQL
(survey/rollup_topics.py). The downgrade drops the columns; `comment_topic` keeps the topics.
"""

import sqlalchemy as sa
from alembic import op

from survey import rollup_topics
from survey.topic_lexicon import BITS

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLES = ("rollup_day", "rollup_month", "rollup_unit_month", "rollup_service_month")
UNTAGGED = "comment IS NOT NULL AND topics IS NULL"


def upgrade():
    op.add_column("response", sa.Column("topics", sa.Integer(), nullable=True))
    op.create_index(
        "ix_response_untagged",
        "response",
        ["id"],
        postgresql_where=sa.text(UNTAGGED),
        sqlite_where=sa.text(UNTAGGED),
    )
    for table in TABLES:
        for topic in BITS:
            op.add_column(table, sa.Column(f"t_{topic}", sa.Integer(), nullable=True))
    bits = " ".join(f"WHEN '{topic}' THEN {bit}" for topic, bit in BITS.items())
    op.execute(
        "UPDATE response SET topics = (SELECT coalesce(sum(CASE ct.topic "
        f"{bits} ELSE 0 END), 0) FROM comment_topic ct WHERE ct.response_id = response.id) "
        "WHERE EXISTS (SELECT 1 FROM comment_topic ct WHERE ct.response_id = response.id)"
    )
    rollup_topics.refill(op.get_bind())


def downgrade():
    for table in TABLES:
        for topic in BITS:
            op.drop_column(table, f"t_{topic}")
    op.drop_index("ix_response_untagged", table_name="response")
    op.drop_column("response", "topics")
