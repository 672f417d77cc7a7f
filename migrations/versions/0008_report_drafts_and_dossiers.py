"""report drafts and dossier counts: what a manager adds to the printed report, and the
dossiers handled that a survey's sample is planned on

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:00:00

Two new tables, empty after the upgrade (no earlier release kept either):

- `report_draft` (period, scope) → the report's number (số/ký hiệu), the ids of the comments
  picked to quote, the recommendations, and who changed it last;
- `dossier_count` (day, unit_id, service_id) → the dossiers handled, from the one-stop
  software's CSV ("import") or typed by a manager ("manual").
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=True),
        sa.Column("recommendations", sa.Text(), nullable=True),
        sa.Column("comment_ids", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_draft")),
        sa.UniqueConstraint("period", "scope", name=op.f("uq_report_draft_period")),
    )
    op.create_table(
        "dossier_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("dossiers", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_dossier_count_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_dossier_count_service_id_service")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_count")),
        sa.UniqueConstraint("day", "unit_id", "service_id", name=op.f("uq_dossier_count_day")),
    )


def downgrade():
    op.drop_table("dossier_count")
    op.drop_table("report_draft")
