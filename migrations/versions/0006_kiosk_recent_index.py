"""a kiosk's own recent ratings by index: (kiosk_id, id) replaces the index on kiosk_id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 08:30:00

The streak check reads a kiosk's last ratings, newest first. With an index on `kiosk_id` alone,
PostgreSQL walks the primary key backwards and skips other kiosks' rows until it has found
enough of this one's; on (kiosk_id, id) it reads exactly those rows. The new index also serves
every lookup by `kiosk_id` alone, so the old one is dropped. No data changes.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_response_kiosk_recent', 'response', ['kiosk_id', 'id'], unique=False)
    op.drop_index('ix_response_kiosk_id', table_name='response')


def downgrade():
    op.create_index('ix_response_kiosk_id', 'response', ['kiosk_id'], unique=False)
    op.drop_index('ix_response_kiosk_recent', table_name='response')
