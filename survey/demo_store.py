"""Bulk writing of demo rows inside the session's transaction: ids reserved up front, so that
answers need no look-up, then COPY (PostgreSQL) or batched inserts (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection

RESPONSE_COLUMNS = (
    "id",
    "public_id",
    "questionnaire_id",
    "service_id",
    "unit_id",
    "counter_id",
    "channel",
    "locale",
    "captured_at",
    "received_at",
    "updated_at",
    "status",
    "flag_reason",
    "comment",
    "profile",
)
ANSWER_COLUMNS = ("response_id", "item", "value")
NULL = "\\N"  # COPY's text for NULL


class PostgresStore:
    """COPY into response and answer; ids come from the response sequence."""

    def __init__(self, raw):
        self.raw = raw

    def reserve(self, count: int) -> list[int]:
        """`count` fresh response ids, safe beside other writers (nextval, never reused)."""
        with self.raw.cursor() as cur:
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence('response', 'id'))"
                " FROM generate_series(1, %s)",
                (count,),
            )
            return sorted(row[0] for row in cur.fetchall())

    def write(self, responses: list[tuple], answers: list[tuple]) -> None:
        with self.raw.cursor() as cur:
            with cur.copy(f"COPY response ({', '.join(RESPONSE_COLUMNS)}) FROM STDIN") as copy:
                for row in responses:
                    copy.write_row(row)
            with cur.copy(f"COPY answer ({', '.join(ANSWER_COLUMNS)}) FROM STDIN") as copy:
                copy.write("".join(_answer_lines(answers)))


def _answer_lines(answers: list[tuple]):
    """COPY's text format for answer rows (item codes hold no tab, newline or backslash)."""
    for rid, item, value in answers:
        yield f"{rid}\t{item}\t{NULL if value is None else value}\n"


def _sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy stores for a UTC moment on SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteStore:
    """Batched inserts; ids follow the largest one, read after taking the write lock."""

    TIMES = tuple(RESPONSE_COLUMNS.index(c) for c in ("captured_at", "received_at", "updated_at"))

    def __init__(self, raw):
        self.raw = raw
        cur = raw.cursor()
        # A write, even of no row, takes the database's write lock until the commit.
        cur.execute("UPDATE response SET id = id WHERE id < 0")
        self.next = (cur.execute("SELECT max(id) FROM response").fetchone()[0] or 0) + 1
        cur.close()

    def reserve(self, count: int) -> list[int]:
        ids = list(range(self.next, self.next + count))
        self.next += count
        return ids

    def write(self, responses: list[tuple], answers: list[tuple]) -> None:
        rows = []
        for row in responses:
            row = list(row)
            for i in self.TIMES:
                row[i] = _sqlite_time(row[i])
            rows.append(row)
        marks = ", ".join("?" * len(RESPONSE_COLUMNS))
        cur = self.raw.cursor()
        cur.executemany(
            f"INSERT INTO response ({', '.join(RESPONSE_COLUMNS)}) VALUES ({marks})", rows
        )
        cur.executemany("INSERT INTO answer (response_id, item, value) VALUES (?, ?, ?)", answers)
        cur.close()


def open_store(connection: Connection):
    """The writer for the session's connection (its transaction stays the session's)."""
    raw = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        return PostgresStore(raw)
    if connection.dialect.name == "sqlite":
        return SqliteStore(raw)
    raise RuntimeError(f"demo data cannot be loaded into {connection.dialect.name}")
