"""two-factor sign-in; tokens of deactivated accounts stay revoked

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 03:50:00

Adds the TOTP secret and last used time step to each account and the table of hashed
recovery codes. Existing accounts start without two-factor sign-in (administrators are sent
to set it up at their next sign-in). Deactivating an account now revokes its API tokens, so
the tokens of accounts that are inactive today are revoked here too: reactivating such an
account must not bring its old tokens back.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_recovery_code_user_id_user'),
            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))

    # Data: revoke the live API tokens of accounts that are deactivated today.
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('active', sa.Boolean))
    token = sa.table(
        'api_token',
        sa.column('user_id', sa.Integer),
        sa.column('revoked_at', sa.DateTime(timezone=True)),
    )
    inactive = sa.select(user.c.id).where(user.c.active == sa.false())
    op.execute(
        token.update()
        .where(token.c.revoked_at.is_(None), token.c.user_id.in_(inactive))
        .values(revoked_at=datetime.now(UTC))
    )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')

    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))

    op.drop_table('recovery_code')
