"""respondent profile rollup: per month and context, the counts of each profile option

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:00:00

`rollup_profile` (month: its first local day, questionnaire_id, unit_id, item: the profile
item's code, option: the option's code) holds, like `rollup_month`, the
counted responses, those with a comment and the 200 count columns n0..n199 (n<i * 5 + value - 1>
counts the answers `value` to the version's i-th scored item). A response counts once under
each option its profile answers; flagged responses are not counted. The upgrade fills it from
the stored responses in one set-based statement; the downgrade drops it.
"""
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

ITEMS, LEVELS = 40, 5
SLOTS = [f'n{i}' for i in range(ITEMS * LEVELS)]
KEY = 'questionnaire_id, unit_id, item, option'


def upgrade():
    op.create_table(
        'rollup_profile',
        sa.Column('month', sa.Date(), nullable=False),
        *(sa.Column(n, sa.Integer(), nullable=False) for n in ('questionnaire_id', 'unit_id')),
        sa.Column('item', sa.String(length=20), nullable=False),
        sa.Column('option', sa.String(length=20), nullable=False),
        sa.Column('responses', sa.Integer(), nullable=False),
        sa.Column('comments', sa.Integer(), nullable=False),
        *(sa.Column(slot, sa.Integer(), nullable=True) for slot in SLOTS),
        sa.PrimaryKeyConstraint('month', *KEY.split(', '), name=op.f('pk_rollup_profile')),
    )
    connection = op.get_bind()
    slots, options = _versions(connection)
    if slots and options:
        op.execute(_fill(connection, slots, options))


def _quoted(text):
    return "'" + str(text).replace("'", "''") + "'"


def _versions(connection):
    """(version, item, first column) of every scored item and (version, item, option) of every
    profile option of every stored questionnaire version (this release's layout rule)."""
    slots, options = [], []
    for version_id, definition in connection.execute(
        sa.text('SELECT id, definition FROM questionnaire_version')
    ):
        data = json.loads(definition) if isinstance(definition, str) else definition
        items = [data['overall']['code']]
        items += [c['code'] for e in data['elements'] for c in e['criteria']]
        items += [e['code'] for e in data['expectations']]
        slots += [(version_id, item, i * LEVELS) for i, item in enumerate(items)]
        options += [(version_id, p['code'], o['code'])
                    for p in data.get('profile') or [] for o in p.get('options') or []]
    return slots, options


def _sql_parts(connection):
    """The local month of `r.captured_at` and the option `r.profile` gives to `o.item`."""
    zone = current_app.config['SURVEY_TIMEZONE']
    if connection.dialect.name == 'postgresql':
        month = f"CAST(date_trunc('month', timezone({_quoted(zone)}, r.captured_at)) AS DATE)"
        return month, 'r.profile ->> o.item'

    def local_month(text):
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return moment.astimezone(ZoneInfo(zone)).date().replace(day=1).isoformat()

    connection.connection.driver_connection.create_function(
        'survey_local_month_0009', 1, local_month, deterministic=True)
    return 'survey_local_month_0009(r.captured_at)', "json_extract(r.profile, '$.' || o.item)"


def _fill(connection, slots, options):
    month, option = _sql_parts(connection)
    slot_rows = ', '.join(f'({v}, {_quoted(i)}, {b})' for v, i, b in slots)
    option_rows = ', '.join(f'({v}, {_quoted(i)}, {_quoted(o)})' for v, i, o in options)
    width = max(b for *_, b in slots) + LEVELS
    counts = ', '.join(f'SUM(CASE WHEN f.slot = {i} THEN 1 END)' for i in range(width))
    key = 'f.month, ' + ', '.join(f'f.{n}' for n in KEY.split(', '))
    return (
        f"WITH slots (questionnaire_id, item, base) AS (VALUES {slot_rows}), "
        f"options (questionnaire_id, item, option) AS (VALUES {option_rows}), "
        f"chosen AS (SELECT r.id AS response_id, {month} AS month, r.questionnaire_id,"
        f" r.unit_id, o.item, o.option,"
        f" CASE WHEN r.comment IS NOT NULL THEN -2 ELSE -1 END AS head"
        f" FROM response r JOIN options o ON o.questionnaire_id = r.questionnaire_id"
        f" WHERE r.flag_reason IS NULL AND r.profile IS NOT NULL AND {option} = o.option), "
        f"facts AS (SELECT c.month, c.{KEY.replace(', ', ', c.')}, c.head AS slot FROM chosen c"
        f" UNION ALL SELECT c.month, c.{KEY.replace(', ', ', c.')}, s.base + a.value - 1"
        f" FROM chosen c JOIN answer a ON a.response_id = c.response_id"
        f" JOIN slots s ON s.questionnaire_id = c.questionnaire_id AND s.item = a.item"
        f" WHERE a.value >= 1) "
        f"INSERT INTO rollup_profile (month, {KEY}, responses, comments,"
        f" {', '.join(SLOTS[:width])}) "
        f"SELECT {key}, SUM(CASE WHEN f.slot < 0 THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN f.slot = -2 THEN 1 ELSE 0 END), {counts} FROM facts f GROUP BY {key}"
    )


def downgrade():
    op.drop_table('rollup_profile')
