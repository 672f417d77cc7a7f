"""units' months and the province's profile months: the same counts with fewer keys

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:50:00

`rollup_unit_month` (month: its first local day, questionnaire_id, unit_id) holds, like
`rollup_month`, the counted responses, those with a comment and the 200 count columns
n0..n199, summed over the unit's procedures. A ranking of units, and a unit's or a scope's
figures without a procedure filter, read it: about a hundred units make some 1,200 rows a year,
where their procedures' months make tens of thousands.

`rollup_province_profile` (month, questionnaire_id, item, option) holds the counts of
`rollup_profile` summed over every unit: a province-wide "who is satisfied" reads a few
hundred rows a year instead of tens of thousands.

The upgrade fills each from its finer table in one set-based statement (the same counts, fewer
keys); the downgrade drops them.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ITEMS, LEVELS = 40, 5
COUNTS = ['responses', 'comments', *(f'n{i}' for i in range(ITEMS * LEVELS))]
TABLES = {  # name: (its key after the month, the table it is summed from)
    'rollup_unit_month': (['questionnaire_id', 'unit_id'], 'rollup_month'),
    'rollup_province_profile': (['questionnaire_id', 'item', 'option'], 'rollup_profile'),
}


def _key_column(name):
    if name in ('item', 'option'):
        return sa.Column(name, sa.String(length=20), nullable=False)
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade():
    for table, (key, source) in TABLES.items():
        op.create_table(
            table,
            sa.Column('month', sa.Date(), nullable=False),
            *(_key_column(name) for name in key),
            sa.Column('responses', sa.Integer(), nullable=False),
            sa.Column('comments', sa.Integer(), nullable=False),
            *(sa.Column(n, sa.Integer(), nullable=True) for n in COUNTS[2:]),
            sa.PrimaryKeyConstraint('month', *key, name=op.f(f'pk_{table}')),
        )
        keys, columns = ', '.join(['month', *key]), ', '.join(COUNTS)
        sums = ', '.join(f'sum({c})' for c in COUNTS)
        op.execute(
            f'INSERT INTO {table} ({keys}, {columns}) '
            f'SELECT {keys}, {sums} FROM {source} GROUP BY {keys}'
        )


def downgrade():
    for table in TABLES:
        op.drop_table(table)
