"""follow-up cases, their notes, and the public holidays their deadlines skip

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:50:00

Three new tables (survey/followup_models.py): `followup_case` (one per rating followed up:
state, assignee, deadline, outcome), `case_note` and `holiday`. Every number kept in `contact`
already (moved there by 0013) was left for a call-back, so each of their ratings gets a case,
opened when the number was given, due SURVEY_CASE_DEADLINE_DAYS working days later (no
holidays are listed yet).
"""

from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from flask import current_app

from survey.cases import add_working_days

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "holiday",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday")),
        sa.UniqueConstraint("day", name=op.f("uq_holiday_day")),
    )
    op.create_table(
        "followup_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(254), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["user.id"],
            name=op.f("fk_followup_case_assignee_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_followup_case_response_id_response"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_followup_case_service_id_service")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_followup_case_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_case")),
        sa.UniqueConstraint("response_id", name=op.f("uq_followup_case_response_id")),
    )
    op.create_index(op.f("ix_followup_case_due_on"), "followup_case", ["due_on"])
    op.create_index(op.f("ix_followup_case_unit_id"), "followup_case", ["unit_id"])
    op.create_table(
        "case_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(254), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["followup_case.id"],
            name=op.f("fk_case_note_case_id_followup_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_note")),
    )
    op.create_index(op.f("ix_case_note_case_id"), "case_note", ["case_id"])
    _open_cases()


def _open_cases():
    days = current_app.config["SURVEY_CASE_DEADLINE_DAYS"]
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT c.response_id, r.unit_id, r.service_id, c.consented_at FROM contact c "
            "JOIN response r ON r.id = c.response_id WHERE c.phone_token IS NOT NULL"
        ).columns(consented_at=sa.DateTime())
    ).all()
    case = sa.table(
        "followup_case",
        *(sa.column(c) for c in ("response_id", "unit_id", "service_id", "state")),
        sa.column("opened_at", sa.DateTime(timezone=True)),
        sa.column("due_on", sa.Date),
    )
    for rid, unit, service, at in rows:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite keeps no offset
        due = add_working_days(at.astimezone(zone).date(), days, ())
        conn.execute(
            case.insert().values(
                response_id=rid, unit_id=unit, service_id=service, state="new",
                opened_at=at, due_on=due,
            )
        )  # fmt: skip


def downgrade():
    op.drop_index(op.f("ix_case_note_case_id"), table_name="case_note")
    op.drop_table("case_note")
    op.drop_index(op.f("ix_followup_case_unit_id"), table_name="followup_case")
    op.drop_index(op.f("ix_followup_case_due_on"), table_name="followup_case")
    op.drop_table("followup_case")
    op.drop_table("holiday")
