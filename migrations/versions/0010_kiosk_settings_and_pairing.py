"""kiosk settings and pairing: each kiosk's default language and optional procedure, and a
short-lived pairing code typed on the kiosk's own screen

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:30:00

`kiosk_device` gains:

- `default_language` ('vi', 'en' or 'km'; existing kiosks get 'vi', what they showed before);
- `service_id`, the one procedure a kiosk is bound to (none for existing kiosks);
- `pairing_code_hash`, `pairing_expires_at`, `pairing_tries` for the pairing code a manager
  gets when registering a kiosk on the web, and `paired_at`;
- `token_hash` becomes nullable: a kiosk registered on the web has no credential until its
  screen is paired. Existing kiosks keep theirs and count as paired when they were created.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("kiosk_device") as batch:
        batch.add_column(
            sa.Column("default_language", sa.String(5), server_default="vi", nullable=False)
        )
        batch.add_column(sa.Column("service_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pairing_code_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("pairing_expires_at", sa.DateTime(timezone=True)))
        batch.add_column(
            sa.Column("pairing_tries", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("paired_at", sa.DateTime(timezone=True)))
        batch.alter_column("token_hash", existing_type=sa.String(64), nullable=True)
        batch.create_foreign_key(
            batch.f("fk_kiosk_device_service_id_service"), "service", ["service_id"], ["id"]
        )
    op.execute("UPDATE kiosk_device SET paired_at = created_at WHERE token_hash IS NOT NULL")


def downgrade():
    # A kiosk registered but never paired has no credential to keep: it goes.
    op.execute("DELETE FROM kiosk_device WHERE token_hash IS NULL")
    with op.batch_alter_table("kiosk_device") as batch:
        batch.drop_constraint(batch.f("fk_kiosk_device_service_id_service"), type_="foreignkey")
        batch.alter_column("token_hash", existing_type=sa.String(64), nullable=False)
        batch.drop_column("paired_at")
        batch.drop_column("pairing_tries")
        batch.drop_column("pairing_expires_at")
        batch.drop_column("pairing_code_hash")
        batch.drop_column("service_id")
        batch.drop_column("default_language")
