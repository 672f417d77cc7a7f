"""An online backup of the SQLite database while the app keeps serving (docs/OPERATIONS.md).

SQLite's backup API copies the database page by page through its own connection. In WAL mode a
reader never blocks a writer: the copy is the database as of one committed transaction, while
ratings keep arriving. The copy is written beside the target and renamed into place only once
it is complete and passes `PRAGMA integrity_check`, so a failed backup never leaves a partial
file under the expected name. PostgreSQL is backed up with its own tool, `pg_dump`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

TABLES = ("response", "answer", "rollup_day", "rollup_month", "visit_code", "audit_event")


class BackupError(ValueError):
    """A backup that cannot be made (wrong database kind, bad target, damaged copy)."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    rows: dict[str, int]
    seconds: float


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite URL; BackupError for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(
            "only a SQLite database is backed up this way; use pg_dump for PostgreSQL"
        )
    return Path(url.database)


def count_rows(connection: sqlite3.Connection) -> dict[str, int]:
    """Rows per main table, to print beside a backup or compare after a restore."""
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    return {
        table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        for table in TABLES
        if table in names
    }


def backup_sqlite(database_url: str, target: Path) -> BackupReport:
    """Copy the live SQLite database to `target` (mode 0600) and check the copy."""
    source, target = sqlite_path(database_url), Path(target)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if target.resolve() == source.resolve():
        raise BackupError("the backup must not overwrite the database")
    began = time.monotonic()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        with closing(sqlite3.connect(source, timeout=30)) as src:
            with closing(sqlite3.connect(partial)) as dst:
                src.backup(dst)  # one step: a consistent copy, writers go on meanwhile
                dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
                if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise BackupError("the copy failed its integrity check")
                rows = count_rows(dst)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(target, target.stat().st_size, rows, time.monotonic() - began)
