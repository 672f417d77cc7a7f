"""comment topics: each comment's topics (tagged, or corrected by a manager), and the lexicon's
overrides; existing comments are tagged

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:00:00

- `comment_topic`: (response, topic) with its source, "auto" (the lexicon) or "manual" (a
  manager's correction, never re-tagged), and when it was tagged; a comment about none of the
  topics has one row with the topic "none", so that it is not tagged again;
- `topic_keywords`: an administrator's phrases for a topic, replacing the lexicon file's.

Every existing comment is tagged here with the lexicon file (survey/data/topics.toml).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from survey import topic_lexicon

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade():
    op.create_table(
        "comment_topic",
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(20), nullable=False),
        sa.Column("source", sa.String(6), nullable=False),
        sa.Column("tagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_comment_topic_response_id_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "topic", name=op.f("pk_comment_topic")),
    )
    op.create_index("ix_comment_topic_topic", "comment_topic", ["topic", "response_id"])
    op.create_table(
        "topic_keywords",
        sa.Column("topic", sa.String(20), nullable=False),
        sa.Column("phrases", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(254), nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_topic_keywords")),
    )
    _tag_existing()


def _tag_existing():
    """Tag every stored comment, a batch of responses at a time."""
    conn = op.get_bind()
    tag = topic_lexicon.Tagger(topic_lexicon.load())
    table = sa.table(
        "comment_topic",
        sa.column("response_id", sa.Integer),
        sa.column("topic", sa.String),
        sa.column("source", sa.String),
        sa.column("tagged_at", sa.DateTime(timezone=True)),
    )
    now, last = datetime.now(UTC), 0
    while True:
        found = conn.execute(
            sa.text(
                "SELECT id, comment FROM response WHERE comment IS NOT NULL AND id > :last "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not found:
            return
        rows = [
            {"response_id": rid, "topic": topic, "source": "auto", "tagged_at": now}
            for rid, text in found
            for topic in sorted(tag(text)) or ["none"]
        ]
        conn.execute(table.insert(), rows)
        last = found[-1][0]


def downgrade():
    op.drop_table("topic_keywords")
    op.drop_index("ix_comment_topic_topic", table_name="comment_topic")
    op.drop_table("comment_topic")
