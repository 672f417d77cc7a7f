"""jobs and alerts: the jobs runner's per-job lock and last outcome, alert states, and each
staff member's alert choices

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:40:00

Three new tables, nothing else changes:

- `job_run`: one row per scheduled job (`survey jobs run`): when it is next due, the lease of
  the runner that holds it, when and how its last run ended;
- `alert_state`: one row per alert condition (kind and what it is about): whether it is on,
  since when, when it cleared; figures only in its detail;
- `alert_preference`: the alert kinds a staff member receives by e-mail, the daily digest,
  the language of the e-mails and the last day a digest was sent. Existing accounts get no row:
  nobody receives e-mail until they choose to.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_run",
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("running_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(10), nullable=True),
        sa.Column("last_count", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_run")),
    )
    op.create_table(
        "alert_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_alert_state_unit_id_unit"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_state")),
        sa.UniqueConstraint("key", name=op.f("uq_alert_state_key")),
    )
    op.create_index(op.f("ix_alert_state_kind"), "alert_state", ["kind"])
    op.create_table(
        "alert_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(5), nullable=False),
        sa.Column("last_digest_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_alert_preference_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_alert_preference")),
    )


def downgrade():
    op.drop_table("alert_preference")
    op.drop_index(op.f("ix_alert_state_kind"), table_name="alert_state")
    op.drop_table("alert_state")
    op.drop_table("job_run")
