"""A new rating and its rollup counts in one statement on PostgreSQL (survey/rollups.py keeps
the rollups in step on every database; this is the kiosk's fast path)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection

from survey import autocommit, rollups
from survey.rollup_tables import ROLLUP_LEVELS, ROLLUP_SLOTS

SHARED_ITEMS = 4
"""Up to this many answered items, a rating's statement names each item's five count columns
and SQL picks the level from the value (one text for every value); above it, the text names
the counted column of each answer (a full questionnaire's five-column text parses slower than
a new text per rating)."""


def insert_counted(
    connection: Connection,
    response: dict,
    answers: list[tuple[str, int | None]],
    *,
    kiosk_at: datetime | None = None,
) -> None:
    """PostgreSQL: insert a new response, its answers and its rollup counts in one statement
    (data-modifying WITH clauses), and move its kiosk's last rating time to `kiosk_at` when
    given: one round trip where other databases take up to six statements.

    One response adds the same counts to its row of each rollup, so the four upserts share
    their values, selected once (`counted`): few parameters, and one statement per shape
    (`_counts`). The text is longer than the driver keeps converted (4096 bytes): it runs as
    autocommit.run_as_is converted it once."""
    params = {f"r_{c}": v for c, v in response.items()}
    if "profile" in response:
        params["r_profile"] = json.dumps(response["profile"])
    params["a_items"] = [item for item, _ in answers]
    params["a_values"] = [value for _, value in answers]
    if kiosk_at is not None:
        params["k_at"] = kiosk_at
    counted = response.get("flag_reason") is None
    pairs = rollups.profile_pairs(response) if counted else []
    for i, (item, option) in enumerate(pairs):
        params.update({f"p_item{i}": item, f"p_option{i}": option})
    counts = _counts(response, answers, params) if counted else None
    moves = kiosk_at is not None
    statement = _counted_sql(tuple(response), bool(answers), counts, moves, len(pairs))
    autocommit.run_as_is(connection, statement, params)


def _counts(response: dict, answers: list[tuple[str, int | None]], params: dict) -> tuple:
    """The count entries of a counted response's statement, its values put in `params`: the
    first count column (an int) of each answered item when they are few (SHARED_ITEMS: the
    item's value is the parameter, so a kiosk's ratings share one text, which the driver
    prepares on the server once: with the counted columns in the text, nearly every rating
    was a new statement to parse and plan, 3.5 ms of the database's CPU, then 1.9 ms), else
    the counted column's name (a str) of each answer."""
    day, first = (
        rollups.local_day(response["captured_at"]),
        rollups.layout_of(response["questionnaire_id"]),
    )
    params.update({"k_day": day, "k_month": day.replace(day=1)})
    params["k_counter"] = response["counter_id"] or 0
    params["c_responses"], params["c_comments"] = 1, int(response.get("comment") is not None)
    scored = {first[item]: value for item, value in answers if value}
    if len(scored) <= SHARED_ITEMS:
        params.update({f"v{slot}": value for slot, value in scored.items()})
        return tuple(sorted(scored))
    columns = {ROLLUP_SLOTS[slot + value - 1] for slot, value in scored.items()}
    params.update({f"c_{c}": 1 for c in columns})
    return tuple(sorted(columns))


_KEY_PARAMS = {
    "day": "k_day",
    "month": "k_month",
    "counter_id": "k_counter",
    "questionnaire_id": "r_questionnaire_id",
    "unit_id": "r_unit_id",
    "service_id": "r_service_id",
    "channel": "r_channel",
}


@lru_cache(maxsize=1024)
def _counted_sql(
    response: tuple[str, ...],
    answers: bool,
    counts: tuple[int | str, ...] | None,
    kiosk: bool,
    profile: int = 0,
) -> str:
    """The statement of insert_counted for its shape, in the driver's own form (psycopg's
    %(name)s: nothing to compile per write): the response's columns, whether it has answers,
    its count entries (`_counts`; None: not counted), whether the kiosk
    moves, and how many profile options it counts toward (a row each of both profile
    rollups, with the same counts)."""
    values = [f"CAST(%(r_{c})s AS JSON)" if c == "profile" else f"%(r_{c})s" for c in response]
    ctes = [
        f"new_response AS (INSERT INTO response ({', '.join(response)}) "
        f"VALUES ({', '.join(values)}) RETURNING id)"
    ]
    if answers:
        ctes.append(
            "new_answers AS (INSERT INTO answer (response_id, item, value) "
            "SELECT new_response.id, a.item, a.value FROM new_response, unnest("
            "CAST(%(a_items)s AS VARCHAR[]), CAST(%(a_values)s AS SMALLINT[])) AS a (item, value))"
        )
    if kiosk:
        ctes.append(
            "kiosk_moved AS (UPDATE kiosk_device SET last_rating_at = %(k_at)s "
            "WHERE id = %(r_kiosk_id)s)"
        )
    if counts is None:
        return f"WITH {', '.join(ctes)} SELECT 1"
    added = _added(counts)
    ctes.append(
        "counted AS (SELECT "
        + ", ".join([*(f"%(c_{c})s AS {c}" for c in rollups.NOT_NULL), *added])
        + ")"
    )
    columns = (*rollups.NOT_NULL, *(c.rsplit(" AS ", 1)[1] for c in added))
    upserts = [_shared_upsert(t.name, names, columns) for t, names in rollups.COUNTED]
    upserts += [
        _shared_upsert(t.name, names, columns, i)
        for i in range(profile)
        for t, names in rollups.PROFILES
    ]
    *first, last = upserts
    ctes += [f"row_{i} AS ({s})" for i, s in enumerate(first)]
    return f"WITH {', '.join(ctes)} {last}"


def _added(counts: tuple[int | str, ...]) -> list[str]:
    """The counted columns of a response's rollup rows as `counted` selects them, each
    "<value> AS <column>". A count entry that is a column's name adds its parameter; one that
    is an item's first column gives each of the item's five columns 1 where the item's value
    names that level, NULL (none) elsewhere."""
    added: list[str] = []
    for entry in counts:
        if isinstance(entry, str):
            added.append(f"%(c_{entry})s AS {entry}")
            continue
        for level in range(ROLLUP_LEVELS):
            column = ROLLUP_SLOTS[entry + level]
            added.append(f"CASE %(v{entry})s WHEN {level + 1} THEN 1 END AS {column}")
    return added


def _shared_upsert(
    table: str, names: tuple[str, ...], columns: tuple[str, ...], option: int | None = None
) -> str:
    """One rollup row's upsert with the counts `counted` selects once for every row (its
    `columns`); `option` numbers a rollup_profile row's item and option parameters."""
    keys = {**_KEY_PARAMS, "item": f"p_item{option}", "option": f"p_option{option}"}
    values = [f"%({keys[n]})s" for n in names]
    sums = [f"{c} = t.{c} + excluded.{c}" for c in rollups.NOT_NULL]
    sums += [
        f"{c} = coalesce(t.{c} + excluded.{c}, t.{c}, excluded.{c})"
        for c in columns
        if c not in rollups.NOT_NULL
    ]
    return (
        f"INSERT INTO {table} AS t ({', '.join((*names, *columns))}) "
        f"SELECT {', '.join(values)}, counted.* FROM counted "
        f"ON CONFLICT ({', '.join(names)}) DO UPDATE SET {', '.join(sums)}"
    )
