"""A backup taken while ratings are written restores into a fresh database with every figure.

    python bench/backup_restore.py [--db sqlite|postgresql] [--responses 2000] [--pg-server URL]

For each database: fill a fresh one (`survey serve` sets it up, `survey seed-demo` adds demo
ratings), keep a kiosk posting ratings to the running server, take the backup in the middle
(`survey backup FILE` on SQLite, `pg_dump -Fc` on PostgreSQL), stop the writer, restore into a
fresh database (a copied file; `pg_restore` into a new database), and compare: row counts, the
rollups against a recomputation from the restored raw answers (a torn copy would differ), every
restored response and answer against the source, and every rating acknowledged before the
backup began. Prints the figures; exits 1 when a comparison fails. The server listens on
127.0.0.1:18770; on PostgreSQL the two databases are the script's own and are dropped afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from bench.cluster import cli  # noqa: E402
from bench.phone_abuse import start, stop  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PORT = 18770
TABLES = (
    "response",
    "answer",
    "rollup_day",
    "rollup_month",
    "kiosk_device",
    "visit_code",
    "audit_event",
)
ANSWERS = (
    "SELECT r.public_id, a.item, a.value FROM response r JOIN answer a ON a.response_id = r.id"
    " ORDER BY r.public_id, a.item"
)


class Writer(threading.Thread):
    """A kiosk sending one rating after another; remembers when each was acknowledged."""

    def __init__(self, token: str, service: str):
        super().__init__(daemon=True)
        self.token, self.service, self.acked, self.running = token, service, [], True
        self.other: Counter = Counter()  # replies other than 201, by status

    def run(self) -> None:
        conn, n = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30), 0
        while self.running:
            n += 1
            at = datetime.now(UTC) - timedelta(minutes=n % 600)  # a backlog: no burst flags
            rid = str(uuid.uuid4())
            body = {"id": rid, "service": self.service, "captured_at": at.isoformat()}
            body["answers"] = {"OV": 1 + n % 5}
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            conn.request("POST", "/api/v1/responses", body=json.dumps(body), headers=headers)
            reply = conn.getresponse()
            reply.read()
            if reply.status == 201:
                self.acked.append((time.monotonic(), rid))
            else:
                self.other[reply.status] += 1
        conn.close()


def halt(processes: list[subprocess.Popen]) -> None:
    """Stop the server (gunicorn waits up to 30 s for its workers, then it is killed)."""
    try:
        stop(processes)
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
            process.wait()


def rows(url: str, query: str, **params) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(text(query), params).all()
    engine.dispose()
    return found


def digest(found: list) -> str:
    return hashlib.sha256(repr([tuple(r) for r in found]).encode()).hexdigest()[:16]


def rollups_match(url: str, folder: Path) -> tuple[bool, int]:
    """Whether the stored rollups equal a recomputation from the raw answers (and how many)."""
    code = "\n".join(
        (
            "from survey import create_app, rollups",
            f"app = create_app({{'SQLALCHEMY_DATABASE_URI': {url!r}}})",
            "with app.app_context():",
            "    s, r = rollups.stored(), rollups.recompute()",
            "    print(int(+s == +r), len(+s))",
        )
    )
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(folder / "instance-check")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    same, keys = out.stdout.split()
    return same == "1", int(keys)


def take_backup(kind: str, env: dict, url: str, target: Path) -> str:
    """`survey backup` or `pg_dump -Fc` while the server takes ratings; what it printed."""
    if kind == "sqlite":
        return cli(env, "backup", str(target)).strip()
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "-Fc", "-f", str(target), plain], check=True)
    return f"pg_dump -Fc -f {target.name} (database {make_url(url).database})"


def restore(kind: str, backup: Path, folder: Path, admin, server: str) -> str:
    """Restore into a fresh database the way docs/OPERATIONS.md says; return its URL."""
    if kind == "sqlite":
        restored = folder / "restored" / "survey.db"
        restored.parent.mkdir()
        shutil.copyfile(backup, restored)
        return f"sqlite:///{restored}"
    name = f"survey_restored_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name)
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    command = ["pg_restore", "--no-owner", "--exit-on-error", "-d", plain, str(backup)]
    subprocess.run(command, check=True)
    return url.render_as_string(hide_password=False)


def run(kind: str, responses: int, server: str) -> bool:
    """One database: fill, write, back up, restore, compare; print the figures."""
    folder = Path(tempfile.mkdtemp(prefix=f"backup-{kind}-"))
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    created = []
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'survey.db'}"
    else:
        created.append(f"survey_backup_{uuid.uuid4().hex[:8]}")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{created[0]}"'))
        url = make_url(server).set(database=created[0]).render_as_string(hide_password=False)
    env = {
        "SURVEY_DATABASE_URL": url,
        "SURVEY_INSTANCE_PATH": str(folder / "instance"),
        "SURVEY_SECRET_KEY": uuid.uuid4().hex,
        "SURVEY_KIOSK_RATE_LIMIT": "100000 per minute",  # the writer is one busy kiosk
    }
    processes, ok = start([PORT], 2, env), True
    try:
        cli(env, "seed-demo", "--responses", str(responses))
        unit, service = rows(
            url,
            "SELECT u.code, s.code FROM unit u, service s WHERE u.parent_id IS NULL AND s.active"
            " ORDER BY u.id, s.code LIMIT 1",
        )[0]
        out = cli(env, "kiosk", "create", "--unit", unit, "--name", "Backup bench")
        writer = Writer(out.strip().splitlines()[-1], service)
        writer.start()
        time.sleep(3)
        began = time.monotonic()
        target = folder / ("survey-backup.db" if kind == "sqlite" else "survey.dump")
        print(f"\n{kind}: {take_backup(kind, env, url, target)}")
        ended = time.monotonic()
        time.sleep(2)
        writer.running = False
        writer.join(timeout=30)
        restored = restore(kind, target, folder, admin, server)
        if kind == "postgresql":
            created.append(make_url(restored).database)
        if writer.other:
            print(f"  the writer also got {dict(writer.other)}")
        ok = report(kind, url, restored, writer.acked, began, ended, target, folder)
    finally:
        halt(processes)
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    return ok


def report(kind, source, restored, acked, began, ended, target, folder) -> bool:
    """Compare the restored database with the source; print every figure."""
    counts = {
        t: (
            rows(source, f"SELECT count(*) FROM {t}")[0][0],
            rows(restored, f"SELECT count(*) FROM {t}")[0][0],
        )
        for t in TABLES
    }
    kept = {r[0] for r in rows(restored, "SELECT public_id FROM response")}
    before = [rid for at, rid in acked if at < began]
    during = [rid for at, rid in acked if began <= at <= ended]
    after = [rid for at, rid in acked if at > ended]
    mine = [r for r in rows(source, ANSWERS) if r[0] in kept]
    same_answers = digest(mine) == digest(rows(restored, ANSWERS))
    rollups_ok, keys = rollups_match(restored, folder)
    version = [rows(u, "SELECT version_num FROM alembic_version") for u in (source, restored)]
    checks = [
        (
            "every rating acknowledged before the backup began is restored",
            all(r in kept for r in before),
        ),
        (
            "no rating acknowledged after the backup ended is in it",
            not any(r in kept for r in after),
        ),
        ("restored responses and answers equal the source's (checksum)", same_answers),
        (
            f"stored rollups equal a recomputation from the restored answers ({keys} keys)",
            rollups_ok,
        ),
        ("the schema version is the source's", version[0] == version[1]),
    ]
    size, took = target.stat().st_size / 1e6, ended - began
    print(
        f"  backup {target.name}: {size:.1f} MB, the command took {took:.2f} s (start-up included)"
    )
    print(
        f"  kiosk writer: {len(acked)} ratings acknowledged: {len(before)} before the backup"
        f" began, {len(during)} while it ran, {len(after)} after it ended"
    )
    print(f"  {'table':14} {'source now':>10} {'restored':>9}")
    for table, (now, back) in counts.items():
        print(f"  {table:14} {now:10} {back:9}")
    for name, held in checks:
        print(f"  {'ok  ' if held else 'FAIL'} {name}")
    return all(held for _name, held in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"))
    parser.add_argument("--responses", type=int, default=2000)
    parser.add_argument(
        "--pg-server", default=os.environ.get("SURVEY_TEST_DATABASE_URL") or PG_SERVER
    )
    args = parser.parse_args()
    kinds = [args.db] if args.db else ["sqlite", "postgresql"]
    results = [run(kind, args.responses, args.pg_server) for kind in kinds]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
