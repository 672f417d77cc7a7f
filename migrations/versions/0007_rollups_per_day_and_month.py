"""rollups that roll up: a row per day and context, and per month, with counts as columns

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 10:30:00

`daily_rollup` kept a row per day, unit, procedure, counter, channel, item and value: on real
data about one row per answer. It is replaced by

- `rollup_day` (day, questionnaire_id, unit_id, service_id, counter_id, channel): the number
  of responses and 200 count columns n0..n199, where n<i * 5 + value - 1> counts the answers
  `value` (1..5) to the version's i-th scored item: the overall question, then the criteria,
  then the expectations, in questionnaire order. NULL stands for none.
- `rollup_month` (month: its first day, questionnaire_id, unit_id, service_id): the same counts
  summed over the month's days, counters and channels;
- `rollup_service_month` (month, questionnaire_id, service_id, channel): summed over every
  unit too.

Each row also counts the responses with a comment (`comments`). A partial index on the responses
that have a comment, (captured_at, id), serves "the latest comments"; an index on rollup_day
(unit_id, day) serves a unit's days. The streak check reads a kiosk's ratings received in its
window from a new index on (kiosk_id, received_at), which replaces (kiosk_id, id): on that one a
quiet kiosk's check read every rating the kiosk ever sent.

Conversion: every `daily_rollup` row with a value 1..5 goes to its column (item "*" to
`responses`); rows for "not applicable" (value 0) are dropped, as no figure uses them. The
months are summed from the converted days. The downgrade converts back (without the
"not applicable" rows, which no figure reads).
"""
import json
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ITEMS, LEVELS = 40, 5
SLOTS = [f'n{i}' for i in range(ITEMS * LEVELS)]


def _table(name, key):
    op.create_table(
        name,
        *key,
        sa.Column('responses', sa.Integer(), nullable=False),
        sa.Column('comments', sa.Integer(), nullable=False),
        *(sa.Column(slot, sa.Integer(), nullable=True) for slot in SLOTS),
        sa.PrimaryKeyConstraint(*(c.name for c in key), name=op.f(f'pk_{name}')),
    )


def _key(period, *names):
    columns = [sa.Column(period, sa.Date(), nullable=False)]
    return columns + [sa.Column(n, sa.Integer(), nullable=False)
                      for n in ('questionnaire_id', *names)]


def _layouts(connection):
    """(version, item, first column) of every stored questionnaire version (the rule of this
    release: 5 columns per scored item, overall first, then criteria, then expectations)."""
    rows = []
    for version_id, definition in connection.execute(
        sa.text('SELECT id, definition FROM questionnaire_version')
    ):
        data = json.loads(definition) if isinstance(definition, str) else definition
        items = [data['overall']['code']]
        items += [c['code'] for e in data['elements'] for c in e['criteria']]
        items += [e['code'] for e in data['expectations']]
        rows += [(version_id, item, i * LEVELS) for i, item in enumerate(items)]
    return rows


def _quoted(text):
    return "'" + text.replace("'", "''") + "'"


def _month_start(connection, column):
    if connection.dialect.name == 'postgresql':
        return f"CAST(date_trunc('month', {column}) AS DATE)"
    return f"date({column}, 'start of month')"


def upgrade():
    _table('rollup_day', [*_key('day', 'unit_id', 'service_id', 'counter_id'),
                          sa.Column('channel', sa.String(length=10), nullable=False)])
    op.create_index('ix_rollup_day_unit', 'rollup_day', ['unit_id', 'day'], unique=False)
    _table('rollup_month', _key('month', 'unit_id', 'service_id'))
    _table('rollup_service_month', [*_key('month', 'service_id'),
                                    sa.Column('channel', sa.String(length=10), nullable=False)])
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_kiosk_received', ['kiosk_id', 'received_at'],
                              unique=False)
        batch_op.drop_index('ix_response_kiosk_recent')
        batch_op.create_index('ix_response_comment_recent', ['captured_at', 'id'], unique=False,
                              postgresql_where=sa.text('comment IS NOT NULL'),
                              sqlite_where=sa.text('comment IS NOT NULL'))
    connection = op.get_bind()
    layouts = _layouts(connection)
    if layouts:
        _convert_days(layouts)
        _count_comments(connection)
        _sum_months(connection)
    with op.batch_alter_table('daily_rollup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_rollup_day'))
    op.drop_table('daily_rollup')


def _convert_days(layouts):
    slots = ', '.join(f"({v}, {_quoted(item)}, {base})" for v, item, base in layouts)
    counts = ', '.join(
        f'SUM(CASE WHEN s.base + d.value - 1 = {i} THEN d.count END)' for i in range(len(SLOTS))
    )
    key = 'd.day, d.questionnaire_id, d.unit_id, d.service_id, d.counter_id, d.channel'
    op.execute(
        f"WITH slots (questionnaire_id, item, base) AS (VALUES {slots}) "
        f"INSERT INTO rollup_day (day, questionnaire_id, unit_id, service_id, counter_id,"
        f" channel, responses, comments, {', '.join(SLOTS)}) "
        f"SELECT {key}, SUM(CASE WHEN d.item = '*' THEN d.count ELSE 0 END), 0, {counts} "
        f"FROM daily_rollup d LEFT JOIN slots s"
        f" ON s.questionnaire_id = d.questionnaire_id AND s.item = d.item "
        f"WHERE d.count != 0 AND (d.item = '*' OR d.value >= 1) GROUP BY {key}"
    )


def _count_comments(connection):
    """The old rows did not count comments: count the counted responses that have one."""
    zone = ZoneInfo(current_app.config['SURVEY_TIMEZONE'])
    found = Counter()
    rows = connection.execute(sa.text(
        'SELECT captured_at, questionnaire_id, unit_id, service_id, counter_id, channel'
        ' FROM response WHERE comment IS NOT NULL AND flag_reason IS NULL'
    ))
    for at, *context in rows:
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        day = at.replace(tzinfo=at.tzinfo or UTC).astimezone(zone).date()
        found[(day, *context[:3], context[3] or 0, context[4])] += 1
    names = ('day', 'q', 'unit', 'service', 'counter', 'channel')
    update = sa.text(
        'UPDATE rollup_day SET comments = :n WHERE day = :day AND questionnaire_id = :q'
        ' AND unit_id = :unit AND service_id = :service AND counter_id = :counter'
        ' AND channel = :channel'
    )
    for key, n in found.items():
        connection.execute(update, {**dict(zip(names, key, strict=True)), 'n': n})


def _sum_months(connection):
    sums = ', '.join(f'SUM({slot})' for slot in ('responses', 'comments', *SLOTS))
    columns = f"responses, comments, {', '.join(SLOTS)}"
    month = _month_start(connection, 'day')
    op.execute(
        f"INSERT INTO rollup_month (month, questionnaire_id, unit_id, service_id, {columns}) "
        f"SELECT {month}, questionnaire_id, unit_id, service_id, {sums} FROM rollup_day "
        f"GROUP BY {month}, questionnaire_id, unit_id, service_id"
    )
    op.execute(
        f"INSERT INTO rollup_service_month (month, questionnaire_id, service_id, channel,"
        f" {columns}) "
        f"SELECT {month}, questionnaire_id, service_id, channel, {sums} FROM rollup_day "
        f"GROUP BY {month}, questionnaire_id, service_id, channel"
    )


def downgrade():
    op.create_table('daily_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('questionnaire_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('item', sa.String(length=10), nullable=False),
    sa.Column('value', sa.SmallInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_rollup')),
    sa.UniqueConstraint('day', 'questionnaire_id', 'unit_id', 'service_id', 'counter_id',
            'channel', 'item', 'value', name='uq_daily_rollup_key')
    )
    with op.batch_alter_table('daily_rollup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_rollup_day'), ['day'], unique=False)
    key = 'day, questionnaire_id, unit_id, service_id, counter_id, channel'
    into = f'INSERT INTO daily_rollup ({key}, item, value, count) '
    op.execute(f"{into}SELECT {key}, '*', 0, responses FROM rollup_day WHERE responses != 0")
    for version_id, item, base in _layouts(op.get_bind()):
        for value in range(1, LEVELS + 1):
            slot = SLOTS[base + value - 1]
            op.execute(
                f"{into}SELECT {key}, {_quoted(item)}, {value}, {slot} FROM rollup_day "
                f"WHERE questionnaire_id = {version_id} AND {slot} > 0"
            )
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_comment_recent')
        batch_op.create_index('ix_response_kiosk_recent', ['kiosk_id', 'id'], unique=False)
        batch_op.drop_index('ix_response_kiosk_received')
    op.drop_table('rollup_service_month')
    op.drop_table('rollup_month')
    op.drop_table('rollup_day')
