"""call-back numbers encrypted in their own table; the plaintext columns of response removed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 09:40:00

A new table `contact` (survey/followup_models.py) keeps a consented call-back number encrypted
with SURVEY_DATA_KEY, read the way the app reads it (the environment, else the instance
folder's `data_key`), with keyed hashes of the number and of a withdrawal code. Each number
of `response.contact_phone` given with consent is encrypted into it (with no withdrawal code:
the citizen never had one); then the columns `contact_phone` and `contact_consent` are
dropped. On SQLite the file is then vacuumed and its write-ahead log truncated, so that no
page of the file keeps the old plaintext (backups made before still hold it: docs/OPERATIONS.md).
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

from survey import datakey

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("phone_token", sa.String(400), nullable=True),
        sa.Column("phone_hash", sa.String(64), nullable=True),
        sa.Column("withdrawal_hash", sa.String(64), nullable=True),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_contact_response_id_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("response_id", name=op.f("uq_contact_response_id")),
    )
    op.create_index(op.f("ix_contact_phone_hash"), "contact", ["phone_hash"])
    op.create_index(op.f("ix_contact_withdrawal_hash"), "contact", ["withdrawal_hash"])
    _move_numbers()
    op.execute("ALTER TABLE response DROP COLUMN contact_phone")
    op.execute("ALTER TABLE response DROP COLUMN contact_consent")
    if op.get_bind().dialect.name == "sqlite":
        with op.get_context().autocommit_block():
            op.execute("VACUUM")
            op.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _move_numbers():
    setting = current_app.config["SURVEY_DATA_KEY"]
    first = datakey.key_list(setting)[0]
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, contact_phone, received_at FROM response "
            "WHERE contact_phone IS NOT NULL AND contact_consent"
        ).columns(received_at=sa.DateTime())
    ).all()
    contact = sa.table(
        "contact",
        sa.column("response_id", sa.Integer),
        sa.column("phone_token", sa.String),
        sa.column("phone_hash", sa.String),
        sa.column("consented_at", sa.DateTime(timezone=True)),
    )
    for rid, phone, received in rows:
        number = datakey.normalise_phone(phone)
        conn.execute(
            contact.insert().values(
                response_id=rid,
                phone_token=datakey.encrypt(setting, f"{number}\n"),
                phone_hash=datakey.keyed_hash(first, number),
                consented_at=received,
            )
        )
    conn.execute(sa.text("UPDATE response SET contact_phone = NULL"))


def downgrade():
    setting = current_app.config["SURVEY_DATA_KEY"]
    op.add_column("response", sa.Column("contact_phone", sa.String(20), nullable=True))
    op.add_column(
        "response",
        sa.Column("contact_consent", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT response_id, phone_token FROM contact WHERE phone_token IS NOT NULL")
    ).all()
    for rid, token in rows:
        conn.execute(
            sa.text(
                "UPDATE response SET contact_phone = :phone, contact_consent = :yes WHERE id = :id"
            ),
            {"phone": datakey.decrypt(setting, token).split("\n")[0], "yes": True, "id": rid},
        )
    op.drop_index(op.f("ix_contact_withdrawal_hash"), table_name="contact")
    op.drop_index(op.f("ix_contact_phone_hash"), table_name="contact")
    op.drop_table("contact")
