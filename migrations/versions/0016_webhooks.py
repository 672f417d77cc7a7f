"""webhooks: endpoints of the province's systems and the deliveries queued for them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:40:00

Two new tables, nothing else changes (no statement is added to recording a rating: the
outbox job reads new responses after each endpoint's cursor):

- `webhook_endpoint`: the address, its signing secret, the events it receives, who registered
  it, its cursor in the responses, and since when it fails or is paused;
- `webhook_delivery`: one event for one endpoint (unique per endpoint and event key), its
  payload, state, attempts, next attempt and last answer.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rating_cursor", sa.BigInteger(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(36), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(30), nullable=False),
        sa.Column("event_key", sa.String(120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoint.id"],
            name=op.f("fk_webhook_delivery_endpoint_id_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("public_id", name=op.f("uq_webhook_delivery_public_id")),
        sa.UniqueConstraint(
            "endpoint_id", "event_key", name=op.f("uq_webhook_delivery_endpoint_id")
        ),
    )
    op.create_index(op.f("ix_webhook_delivery_endpoint_id"), "webhook_delivery", ["endpoint_id"])
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["status", "next_attempt_at"])


def downgrade():
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_index(op.f("ix_webhook_delivery_endpoint_id"), table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_endpoint")
