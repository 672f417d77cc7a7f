"""The rollups recomputed from the raw answers in set-based SQL, one local month at a time.

Each month is five INSERT … SELECT statements: its days from the responses and answers, then
from its days the units' months per procedure, from those the units' months, from the days the
province's month per channel, and its profile rows from
the responses that answered the profile and their answers. The database does the
counting; this process holds one month's bounds, so its memory does not grow with the data,
and the database's work per statement is one month's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
    values,
)

from survey import rollup_topics, rollups
from survey.models import (
    ROLLUP_LEVELS,
    ROLLUP_SLOTS,
    Answer,
    QuestionnaireVersion,
    Response,
    rollup_day,
    rollup_month,
    rollup_profile,
    rollup_province_profile,
    rollup_service_month,
    rollup_unit_month,
)
from survey.questionnaire import Questionnaire

MONTH, SERVICE_MONTH = rollups.MONTH_KEY, rollups.SERVICE_MONTH_KEY
UNIT_MONTH, PROVINCE_PROFILE = rollups.UNIT_MONTH_KEY, rollups.PROVINCE_PROFILE_KEY


def rebuild(session) -> int:
    """Recompute the rollups in `session`'s transaction, the comments' topics last; return how
    many rows they hold."""
    connection = session.connection()
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    for table, _ in rollups.TABLES:
        connection.execute(delete(table))
    first, last = connection.execute(
        select(func.min(Response.captured_at), func.max(Response.captured_at))
    ).one()
    if first is None:
        return 0
    if connection.dialect.name == "postgresql":
        # Statistics of the raw tables first: just after a bulk load, a planner that guesses
        # one row a month looks up the answers one response at a time (minutes a month).
        connection.execute(text("ANALYZE response, answer"))
    slots, width = _slots(connection)
    pairs = option_pairs(connection)
    layouts = _layouts(connection)
    day = local_day_sql(connection, zone)
    month = first.astimezone(zone).date().replace(day=1)
    while month <= last.astimezone(zone).date():
        after = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        bounds = [datetime.combine(d, time.min, zone).astimezone(UTC) for d in (month, after)]
        connection.execute(_days(day, bounds, slots, width))
        connection.execute(_month(month, after, width, rollup_day, rollup_month, MONTH))
        connection.execute(_month(month, after, width, rollup_month, rollup_unit_month, UNIT_MONTH))
        connection.execute(
            _month(month, after, width, rollup_day, rollup_service_month, SERVICE_MONTH)
        )
        if pairs is not None:
            connection.execute(_profile_month(connection, month, bounds, (layouts, pairs), width))
            province = (rollup_province_profile, PROVINCE_PROFILE)
            connection.execute(_month(month, after, width, rollup_profile, *province))
        month = after
    rollup_topics.refill(connection, cleared=True)  # the rows are new
    if connection.dialect.name == "postgresql":  # fresh statistics for the planner
        connection.execute(text("ANALYZE " + ", ".join(t.name for t, _ in rollups.TABLES)))
    return sum(
        connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table, _ in rollups.TABLES
    )


def _slots(connection):
    """(questionnaire, item, first column) of every stored version, and the columns in use."""
    rows = []
    for version in connection.execute(select(QuestionnaireVersion)).all():
        q = Questionnaire(version.id, version.code, version.definition)
        rows += [(version.id, item, base) for item, base in rollups.layout(q).items()]
    width = max(base for *_, base in rows) + ROLLUP_LEVELS
    table = values(
        column("questionnaire_id", Integer), column("item", String), column("base", Integer),
        name="slots",
    ).data(rows).cte("slots")  # fmt: skip
    return table, width


def _layouts(connection) -> dict[int, dict[str, int]]:
    """The first count column of each scored item, per stored version."""
    return {
        v.id: rollups.layout(Questionnaire(v.id, v.code, v.definition))
        for v in connection.execute(select(QuestionnaireVersion)).all()
    }


def option_pairs(connection):
    """(questionnaire, profile item, option) of every stored version, as a VALUES CTE (None
    when no version asks a profile)."""
    rows = []
    for version in connection.execute(select(QuestionnaireVersion)).all():
        for entry in version.definition.get("profile") or []:
            rows += [(version.id, entry["code"], o["code"]) for o in entry.get("options") or []]
    if not rows:
        return None
    return values(
        column("questionnaire_id", Integer), column("item", String), column("option", String),
        name="options",
    ).data(rows).cte("options")  # fmt: skip


def profile_counts(where: list, layouts: dict[int, dict[str, int]], items: list[str], keys: list):
    """The counted responses matching `where` and their answers, per `keys` (response
    columns), profile item, option and slot (-1: a response, -2: one with a comment, else the
    answer's count column): (*keys, item, option, slot, n).

    One row per answer with the profile items as columns (no row per answer and option), each
    item counted apart from the same rows: hash aggregates over few groups."""
    options = [Response.profile[item].as_string().label(f"p{i}") for i, item in enumerate(items)]
    where = [*where, Response.profile.is_not(None)]
    head = case((Response.comment.is_not(None), -2), else_=-1)
    first = first_column(layouts)
    heads = select(*keys, head.label("slot"), *options).where(*where)
    answers = (
        select(*keys, (first + Answer.value).label("slot"), *options)
        .join(Answer, Answer.response_id == Response.id)
        .where(*where, Answer.value >= 1, first.is_not(None))
    )
    facts = union_all(heads, answers).cte("facts")
    context = [facts.c[k.name] for k in keys]
    return union_all(
        *(
            select(
                *context,
                literal(item, String).label("item"),
                facts.c[f"p{i}"].label("option"),
                facts.c.slot,
                func.count().label("n"),
            )
            .where(facts.c[f"p{i}"].is_not(None))
            .group_by(*context, facts.c[f"p{i}"], facts.c.slot)
            for i, item in enumerate(items)
        )
    )


def first_column(layouts: dict[int, dict[str, int]]):
    """The SQL for an answer's count column less its value, worked out per row (a join with
    a VALUES list of the columns would be planned from a guess of its size and would read the
    answers item by item); NULL for an item that is not scored."""
    return case(
        *(
            (and_(Response.questionnaire_id == version, Answer.item == item), base - 1)
            for version, layout in layouts.items()
            for item, base in layout.items()
        )
    )


def tallies(facts, width: int) -> list:
    """The responses, the comments and the count columns of `facts`' rows, as sums."""
    one = literal_column("1")
    counts = [func.sum(one).filter(facts.c.slot == slot) for slot in range(width)]
    responses = func.count().filter(facts.c.slot < 0)
    comments = func.count().filter(facts.c.slot == -2)
    return [responses, comments, *counts]


def _profile_month(connection, month: date, bounds: list[datetime], ctes: tuple, width: int):
    """INSERT the profile rows of `month`, whose UTC `bounds` are given; `ctes`: the layouts
    of the stored versions and the options of their profile items (only those are kept)."""
    layouts, pairs = ctes
    where = [
        Response.flag_reason.is_(None),
        Response.captured_at >= bounds[0],
        Response.captured_at < bounds[1],
    ]
    items = sorted({item for (item,) in connection.execute(select(pairs.c.item).distinct())})
    keys = [Response.questionnaire_id, Response.unit_id]
    counted = profile_counts(where, layouts, items, keys).subquery()
    known = and_(
        pairs.c.questionnaire_id == counted.c.questionnaire_id,
        pairs.c.item == counted.c.item,
        pairs.c.option == counted.c.option,
    )
    outer = [counted.c[n] for n in rollups.PROFILE_KEY[1:]]
    slot, n = counted.c.slot, counted.c.n
    sums = [func.sum(n).filter(slot < 0), func.coalesce(func.sum(n).filter(slot == -2), 0)]
    sums += [func.sum(n).filter(slot == column) for column in range(width)]
    query = (
        select(literal(month, Date), *outer, *sums)
        .select_from(counted)
        .join(pairs, known)
        .group_by(*outer)
    )
    names = [*rollups.PROFILE_KEY, *rollups.NOT_NULL, *ROLLUP_SLOTS[:width]]
    return insert(rollup_profile).from_select(names, query)


def local_day_sql(connection, zone: ZoneInfo):
    """The SQL for the local day of a response's UTC `captured_at`."""
    if connection.dialect.name == "postgresql":
        return cast(func.timezone(zone.key, Response.captured_at), Date)

    def local_day(text: str) -> str:
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return moment.astimezone(zone).date().isoformat()

    connection.connection.driver_connection.create_function(
        "survey_local_day", 1, local_day, deterministic=True
    )
    return func.survey_local_day(Response.captured_at)


def _days(day, bounds: list[datetime], slots, width: int):
    """INSERT the day rows of the responses captured within `bounds`."""
    context = [
        day.label("day"),
        Response.questionnaire_id,
        Response.unit_id,
        Response.service_id,
        func.coalesce(Response.counter_id, 0).label("counter_id"),
        Response.channel,
    ]
    where = [
        Response.flag_reason.is_(None),
        Response.captured_at >= bounds[0],
        Response.captured_at < bounds[1],
    ]
    commented = case((Response.comment.is_not(None), -2), else_=-1)  # a response, with a comment
    heads = select(*context, commented.label("slot")).where(*where)
    answers = (
        select(*context, (slots.c.base + Answer.value - 1).label("slot"))
        .join(Answer, Answer.response_id == Response.id)
        .join(
            slots,
            and_(
                slots.c.questionnaire_id == Response.questionnaire_id,
                slots.c.item == Answer.item,
            ),
        )
        .where(*where, Answer.value >= 1)
    )
    facts = union_all(heads, answers).subquery()
    keys = [facts.c[name] for name in rollups.DAY_KEY]
    query = select(*keys, *tallies(facts, width)).group_by(*keys)
    names = [*rollups.DAY_KEY, *rollups.NOT_NULL, *ROLLUP_SLOTS[:width]]
    return insert(rollup_day).from_select(names, query)


def _month(month: date, after: date, width: int, source, target, names: tuple):
    """INSERT the month's rows of `target` (keyed by `names`), summed from `source`'s rows."""
    period = source.c.day if source is rollup_day else source.c.month
    keys = [source.c[name] for name in names[1:]]
    sums = [func.sum(source.c[c]) for c in (*rollups.NOT_NULL, *ROLLUP_SLOTS[:width])]
    query = (
        select(literal(month, Date), *keys, *sums)
        .where(period >= month, period < after)
        .group_by(*keys)
    )
    columns = [*names, *rollups.NOT_NULL, *ROLLUP_SLOTS[:width]]
    return insert(target).from_select(columns, query)
