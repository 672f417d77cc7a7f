"""paper forms: each paper questionnaire by its serial number, and every typing of it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:40:00

Two new tables, nothing else changes (a counted paper form is an ordinary response whose
channel is "paper"):

- `paper_form`: the serial number printed on the form (unique: a form is stored once), its
  state (pending, disputed, counted) and the response it became once counted;
- `paper_entry`: each typing of a form, by whom and when, with what was read on it (unit,
  procedure, the date written on the paper, the form's language, the answers, the comment).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "paper_form",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_paper_form_response_id_response"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_form")),
        sa.UniqueConstraint("serial", name=op.f("uq_paper_form_serial")),
        sa.UniqueConstraint("response_id", name=op.f("uq_paper_form_response_id")),
    )
    op.create_table(
        "paper_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("typed_by", sa.String(254), nullable=False),
        sa.Column("typed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("written_on", sa.Date(), nullable=False),
        sa.Column("locale", sa.String(5), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["paper_form.id"],
            name=op.f("fk_paper_entry_form_id_paper_form"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_paper_entry_service_id_service")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_paper_entry_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_entry")),
    )
    op.create_index(op.f("ix_paper_entry_form_id"), "paper_entry", ["form_id"])


def downgrade():
    op.drop_index(op.f("ix_paper_entry_form_id"), table_name="paper_entry")
    op.drop_table("paper_entry")
    op.drop_table("paper_form")
