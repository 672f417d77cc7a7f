"""A rate-limit store in one SQLite file, shared by every worker of one server.

Registered with the `limits` library under the scheme `sqlitefile` (the default
SURVEY_RATELIMIT_STORAGE_URL is `sqlitefile:///<instance>/ratelimits.db`), so Flask-Limiter's
fixed and moving windows hold across gunicorn workers. Each change is one `BEGIN IMMEDIATE`
transaction: two workers never lose an increment. `redis://` replaces it across servers.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import uuid
from urllib.parse import urlparse

from limits.storage import MovingWindowSupport, Storage

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL,"
    " expires REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS entries (key TEXT NOT NULL, at REAL NOT NULL, id TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_entries_key_at ON entries (key, at)",
)

# A fixed window's counter: added to, or started afresh once expired (SQLite sets every column
# from the row as it was).
INCR = (
    "INSERT INTO counters (key, value, expires) VALUES (:key, :amount, :expires)"
    " ON CONFLICT (key) DO UPDATE SET"
    " value = CASE WHEN expires <= :now THEN excluded.value ELSE value + excluded.value END,"
    " expires = CASE WHEN expires <= :now THEN excluded.expires ELSE expires END"
    " RETURNING value, expires"
)
# A place in a moving window, taken if the window holds fewer than `limit` entries.
ACQUIRE_ONE = (
    "INSERT INTO entries (key, at, id) SELECT :key, :at, :id"
    " WHERE (SELECT COUNT(*) FROM entries WHERE key = :key AND at > :since) < :limit"
)
SWEEP_EVERY = 500  # writes of one worker between two sweeps of expired rows
PRUNE_EVERY = 16  # a window's old entries are pruned on one place taken in this many, on average
FRESH = 1.0  # seconds a counter's value as its increment returned it answers for the counter
LONGEST_WINDOW = 2 * 24 * 3600  # no moving window here is longer (the longest is an hour)


def _use_wal(conn: sqlite3.Connection, *, within: float = 10.0) -> None:
    """Put the file in WAL mode. Workers that open a new file at the same moment race for
    the switch, and SQLite answers the loser "database is locked" without waiting: retry."""
    deadline = time.monotonic() + within
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sweep(conn: sqlite3.Connection, now: float) -> None:
    """Drop expired counters and window entries of keys that never came back."""
    conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
    conn.execute("DELETE FROM entries WHERE at <= ?", (now - LONGEST_WINDOW,))


class SqliteFileStorage(Storage, MovingWindowSupport):
    """Counters and moving-window entries in a SQLite file (one per server)."""

    STORAGE_SCHEME = ["sqlitefile"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = urlparse(uri).path
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():  # never reuse a forked connection
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            _use_wal(conn)
            # Counters, not records: in WAL mode NORMAL never corrupts the file and spares a
            # disk flush per request; a power cut may forget the last seconds of counts.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            for statement in SCHEMA:
                conn.execute(statement)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _write(self, work):
        """Run `work(conn)` in one immediate (write-locked) transaction; sweep now and then."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            self._wrote(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _wrote(self, conn: sqlite3.Connection) -> None:
        """Count a write of this worker; sweep every SWEEP_EVERY writes."""
        self._local.writes = getattr(self._local, "writes", 0) + 1
        if self._local.writes % SWEEP_EVERY == 0:
            _sweep(conn, time.time())

    # --- fixed windows (Flask-Limiter's default strategy) and plain counters -------------

    def incr(self, key: str, expiry: int, amount: int = 1, *, now: float | None = None) -> int:
        """Add `amount` to the counter `key`, which starts afresh once expired: one statement,
        a transaction in itself (the file is opened in autocommit mode).

        The value and expiry it returns answer the next `get` and `get_expiry` of the same key
        in this thread (within FRESH seconds): a limit's hit is followed by the read of its
        window for the response's headers, which then costs no statement."""
        now = time.time() if now is None else now
        conn = self._conn()
        params = {"key": key, "amount": amount, "now": now, "expires": now + expiry}
        value, expires = conn.execute(INCR, params).fetchall()[0]  # all: the statement completes
        self._local.counted = (key, value, expires, time.monotonic())
        self._wrote(conn)
        return value

    def _counted(self, key: str, *, last: bool) -> tuple[int, float] | None:
        """The value and expiry `incr` just returned for `key` in this thread, if fresh; `last`:
        forget it after (the window's read is over)."""
        counted = getattr(self._local, "counted", None)
        if counted is None or counted[0] != key or time.monotonic() - counted[3] > FRESH:
            return None
        if last:
            self._local.counted = None
        return counted[1], counted[2]

    def get(self, key: str, *, now: float | None = None) -> int:
        """The live value of the counter `key` (0 when absent or expired)."""
        if now is None and (counted := self._counted(key, last=False)) is not None:
            return counted[0]
        now = time.time() if now is None else now
        row = (
            self._conn()
            .execute("SELECT value FROM counters WHERE key = ? AND expires > ?", (key, now))
            .fetchone()
        )
        return row[0] if row else 0

    def put(self, key: str, value: int, expiry: float, *, now: float | None = None) -> None:
        """Set the counter `key` to `value` for `expiry` seconds (a cached figure)."""
        now = time.time() if now is None else now
        self._write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO counters (key, value, expires) VALUES (?, ?, ?)",
                (key, value, now + expiry),
            )
        )

    def get_expiry(self, key: str) -> float:
        if (counted := self._counted(key, last=True)) is not None:
            return counted[1]
        row = self._conn().execute("SELECT expires FROM counters WHERE key = ?", (key,)).fetchone()
        return row[0] if row else time.time()

    def check(self) -> bool:
        return self._conn().execute("SELECT 1").fetchone() == (1,)

    def reset(self) -> int | None:
        self._local.counted = None

        def work(conn):
            count = conn.execute("SELECT COUNT(*) FROM counters").fetchone()[0]
            conn.execute("DELETE FROM counters")
            conn.execute("DELETE FROM entries")
            return count

        return self._write(work)

    def clear(self, key: str) -> None:
        self._local.counted = None

        def work(conn):
            conn.execute("DELETE FROM counters WHERE key = ?", (key,))
            conn.execute("DELETE FROM entries WHERE key = ?", (key,))

        self._write(work)

    # --- moving windows: "at most `limit` in any `expiry` seconds" -----------------------

    def acquire_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1, *, now: float | None = None
    ) -> bool:
        """Take `amount` places in the moving window of `key` if they are free."""
        now = time.time() if now is None else now
        if amount == 1:  # one statement decides and takes the place (each commits itself)
            conn = self._conn()
            if random.randrange(PRUNE_EVERY) == 0:  # old entries are not counted: pruned at times
                conn.execute("DELETE FROM entries WHERE key = ? AND at <= ?", (key, now - expiry))
            params = {"key": key, "at": now, "id": uuid.uuid4().hex, "since": now - expiry}
            taken = conn.execute(ACQUIRE_ONE, {**params, "limit": limit}).rowcount == 1
            self._wrote(conn)
            return taken

        def work(conn):
            conn.execute("DELETE FROM entries WHERE key = ? AND at <= ?", (key, now - expiry))
            taken = conn.execute("SELECT COUNT(*) FROM entries WHERE key = ?", (key,)).fetchone()
            if taken[0] + amount > limit:
                return False
            conn.executemany(
                "INSERT INTO entries (key, at, id) VALUES (?, ?, ?)",
                [(key, now, uuid.uuid4().hex) for _ in range(amount)],
            )
            return True

        return self._write(work)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        query = "SELECT MIN(at), COUNT(*) FROM entries WHERE key = ? AND at > ?"
        oldest, count = self._conn().execute(query, (key, now - expiry)).fetchone()
        return (oldest or now, count)
