"""a kiosk's recent ratings by (kiosk_id, received_at, id): the streak check's order, whole

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 16:30:00

The streak check reads a kiosk's last ratings ordered by receive time, then id (two ratings
received in the same microsecond keep one order). The index on (kiosk_id, received_at) lacked
the id, so PostgreSQL read every rating of the kiosk in the window and sorted them to keep
seven: at a kiosk's pace in the write benchmark, thousands of rows per rating (or the whole
table, when it is small). With the id in the index the newest seven are read backwards, and
nothing is sorted. The index keeps its name; no data changes.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_response_kiosk_received", table_name="response")
    op.create_index(
        "ix_response_kiosk_received", "response", ["kiosk_id", "received_at", "id"], unique=False
    )


def downgrade():
    op.drop_index("ix_response_kiosk_received", table_name="response")
    op.create_index(
        "ix_response_kiosk_received", "response", ["kiosk_id", "received_at"], unique=False
    )
