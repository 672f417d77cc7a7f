"""a suspect rating's flag as two columns instead of the "burst;confirmed" string

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 07:10:00

`response.flags` held a reason ("burst", "streak", "fast", "address", "surge"), with
";confirmed" appended once a manager confirmed it; clearing a flag set it to NULL. It becomes:

- `flag_reason` (up to 20 characters): NULL when the rating is counted, else the reason;
- `flag_review` (up to 10 characters): NULL until a manager confirms, then "confirmed".

A check keeps them consistent (a review needs a reason). A rating counts exactly when
`flag_reason` is NULL, as it counted exactly when `flags` was NULL, so the daily rollups stay
as they are. Conversion: NULL -> (NULL, NULL); "burst" -> ("burst", NULL);
"burst;confirmed" -> ("burst", "confirmed"); likewise for every reason. The previous release
wrote nothing else; an empty string, which its rollups counted, becomes (NULL, NULL). The
downgrade converts back.

On SQLite the table is rebuilt (batch mode); env.py turns foreign keys off for migrations, so
dropping the old table does not cascade to the answers.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

CONFIRMED = 'confirmed'
CHECK = "flag_review IS NULL OR (flag_review = 'confirmed' AND flag_reason IS NOT NULL)"
response = sa.table(
    'response',
    sa.column('flags', sa.String),
    sa.column('flag_reason', sa.String),
    sa.column('flag_review', sa.String),
)


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_reason', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('flag_review', sa.String(length=10), nullable=True))

    bind = op.get_bind()
    olds = bind.execute(
        sa.select(response.c.flags).where(response.c.flags.is_not(None)).distinct()
    ).scalars()
    for old in list(olds):
        reason, _sep, state = old.partition(';')
        bind.execute(
            response.update()
            .where(response.c.flags == old)
            .values(
                flag_reason=reason or None,
                flag_review=CONFIRMED if reason and state == CONFIRMED else None,
            )
        )

    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_response_flag_review'), CHECK)
        batch_op.drop_column('flags')


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flags', sa.String(length=200), nullable=True))

    bind = op.get_bind()
    pairs = bind.execute(
        sa.select(response.c.flag_reason, response.c.flag_review)
        .where(response.c.flag_reason.is_not(None))
        .distinct()
    ).all()
    for reason, review in pairs:
        bind.execute(
            response.update()
            .where(
                response.c.flag_reason == reason,
                response.c.flag_review.is_(None)
                if review is None
                else response.c.flag_review == review,
            )
            .values(flags=f'{reason};{CONFIRMED}' if review == CONFIRMED else reason)
        )

    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_response_flag_review'), type_='check')
        batch_op.drop_column('flag_review')
        batch_op.drop_column('flag_reason')
