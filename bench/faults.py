"""Fault tests: kiosks keep rating while the server or its database fails; nothing is lost.

    python bench/faults.py --scenario worker-kill|pg-terminate|sqlite-lock|server-restart \\
        --db sqlite|postgresql [--clients 20] [--seconds 30] [--workers 2]

Serves the app with `survey serve` on a loopback port (18700-18749) from a temporary instance
folder (and, on PostgreSQL, a database of its own, dropped afterwards); starts one kiosk client
per kiosk token plus a phone citizen; injects the fault again and again; then lets the clients
send what they still hold and counts what the database stored. Prints sent / acknowledged /
stored / lost / duplicated / 5xx (and 503s); exits 1 unless 0 lost, 0 duplicated and every
reply during the outage was a proper 503 (JSON with Retry-After, or the Vietnamese page).

Only the run's own database is touched: pg_terminate_backend is filtered by its name.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.fault_clients import Tally, citizen_client, kiosk_client  # noqa: E402
from tests import servers  # noqa: E402

SCENARIOS = ("worker-kill", "pg-terminate", "sqlite-lock", "server-restart")
PORTS = range(18700, 18750)
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BUSY_TIMEOUT_MS = 1000
SETUP = """
import json, sys
from sqlalchemy import select
from survey import create_app, first_run, kiosks
from survey.extensions import db
from survey.models import QuestionnaireVersion, Service, Unit
app = create_app()
with app.app_context():
    first_run.prepare()
    unit = db.session.scalar(select(Unit).order_by(Unit.id))
    service = db.session.scalar(select(Service).filter_by(active=True).order_by(Service.id))
    q = db.session.scalar(select(QuestionnaireVersion).filter_by(active=True))
    tokens = [kiosks.create_kiosk(unit=unit.code, counter=None, name=f"bench {i}", actor="bench")[1]
              for i in range(int(sys.argv[1]))]
    ids = [q.id, service.id, unit.id]
    print(json.dumps({"service": service.code, "tokens": tokens, "ids": ids}))
"""


@dataclass(frozen=True)
class Options:
    scenario: str
    db: str = "sqlite"
    clients: int = 20
    seconds: float = 30
    workers: int = 2
    pg_server: str = PG_SERVER


@dataclass(frozen=True)
class Report:
    options: Options
    faults: int
    tally: Tally
    stored: int
    duplicated: int
    rollup_mismatch: int
    lost: int

    @property
    def passed(self) -> bool:
        """0 lost, 0 duplicated, figures in step, and every reply a proper one."""
        t = self.tally
        other_5xx = sum(n for code, n in t.statuses.items() if code >= 500 and code != 503)
        return not (
            self.lost or self.duplicated or self.rollup_mismatch or t.problems or other_5xx
        ) and (self.faults > 0 and t.pending == 0)


class Server(servers.Server):
    """`survey serve` whose gunicorn workers a fault may kill one by one."""

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the master)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def _kill_workers(ctx, stop_at: float) -> int:
    count = 0
    while time.monotonic() < stop_at:
        pids = ctx["server"].worker_pids()
        if pids:
            os.kill(random.choice(pids), signal.SIGKILL)
            count += 1
        time.sleep(2)
    return count


def _terminate_connections(ctx, stop_at: float) -> int:
    engine = create_engine(ctx["url"], isolation_level="AUTOCOMMIT", poolclass=NullPool)
    count = 0
    sql = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = :name AND pid <> pg_backend_pid()"
    )
    while time.monotonic() < stop_at:
        with engine.connect() as conn:  # connected to the run's own database only
            count += conn.execute(sql, {"name": ctx["database"]}).scalar()
        time.sleep(1)
    engine.dispose()
    return count


def _lock_sqlite(ctx, stop_at: float) -> int:
    hold = 3 * BUSY_TIMEOUT_MS / 1000
    script = (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None,"
        " timeout=30); c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True);"
        " time.sleep(float(sys.argv[2])); c.execute('ROLLBACK')"
    )
    count = 0
    while time.monotonic() < stop_at - hold:
        holder = subprocess.Popen(
            [sys.executable, "-c", script, ctx["sqlite_path"], str(hold)],
            stdout=subprocess.PIPE,
            text=True,
        )
        count += holder.stdout.readline().strip() == "locked"
        holder.wait()
        time.sleep(1)
    return count


def _restart_server(ctx, stop_at: float) -> int:
    count = 0
    while time.monotonic() < stop_at - 3:
        time.sleep(3)
        ctx["server"].kill()
        ctx["server"].start()
        count += 1
    return count


FAULTS = {
    "worker-kill": _kill_workers,
    "pg-terminate": _terminate_connections,
    "sqlite-lock": _lock_sqlite,
    "server-restart": _restart_server,
}


def _database(options: Options, folder: Path) -> dict:
    if options.db == "sqlite":
        path = folder / "survey.db"
        return {"url": f"sqlite:///{path}", "sqlite_path": str(path), "database": None}
    name = f"survey_fault_{uuid.uuid4().hex[:10]}"
    admin = create_engine(options.pg_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(options.pg_server).set(database=name).render_as_string(hide_password=False)
    return {"url": url, "database": name, "admin": admin}


def _drop(ctx: dict) -> None:
    if ctx.get("admin") is not None:
        with ctx["admin"].connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{ctx["database"]}" WITH (FORCE)'))


def _count(url: str, tally: Tally) -> tuple[int, int, int, int]:
    """Stored, duplicated (rows beyond one per id), rollup responses minus unflagged ones, and
    lost (acknowledged but not stored)."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT public_id, count(*) FROM response GROUP BY public_id"))
        per_id = dict(rows.all())
        unflagged = conn.execute(
            text("SELECT count(*) FROM response WHERE flag_reason IS NULL")
        ).scalar()
        counted = conn.execute(text("SELECT coalesce(sum(responses), 0) FROM rollup_day")).scalar()
    engine.dispose()
    stored = sum(1 for rid in per_id if rid in tally.sent)
    lost = len(tally.acknowledged - per_id.keys())
    return stored, sum(n - 1 for n in per_id.values()), counted - unflagged, lost


def _environment(options: Options, folder: Path, url: str) -> dict:
    return servers.server_env(
        folder,
        SURVEY_DATABASE_URL=url,
        SURVEY_KIOSK_RATE_LIMIT="100000 per minute",
        SURVEY_SQLITE_BUSY_TIMEOUT=str(BUSY_TIMEOUT_MS),
    )


def _drive(options: Options, ctx: dict, service: str, tokens: list[str]) -> tuple[int, Tally]:
    tally, start = Tally(), time.monotonic()
    stop_at, give_up_at = start + options.seconds, start + options.seconds + 60
    base = ctx["server"].base
    threads = [
        threading.Thread(target=kiosk_client, args=(base, t, service, stop_at, give_up_at, tally))
        for t in tokens
    ]
    threads.append(
        threading.Thread(target=citizen_client, args=(base, service, stop_at, give_up_at, tally))
    )
    for thread in threads:
        thread.start()
    time.sleep(min(2.0, options.seconds / 10))  # some ratings first, then the faults
    faults = FAULTS[options.scenario](ctx, stop_at)
    for thread in threads:
        thread.join()
    return faults, tally


def run(options: Options) -> Report:
    """Run one scenario end to end and count the outcome."""
    if options.scenario == "pg-terminate" and options.db != "postgresql":
        raise SystemExit("pg-terminate needs --db postgresql")
    if options.scenario == "sqlite-lock" and options.db != "sqlite":
        raise SystemExit("sqlite-lock needs --db sqlite")
    folder = Path(tempfile.mkdtemp(prefix="survey-faults-"))
    ctx = _database(options, folder)
    try:
        env = _environment(options, folder, ctx["url"])
        setup = subprocess.run(
            [sys.executable, "-c", SETUP, str(options.clients)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        made = json.loads(setup.stdout.strip().splitlines()[-1])
        port = servers.free_port(PORTS)
        ctx["server"] = Server(port, env, options.workers, folder / "server.log")
        ctx["server"].start()
        try:
            faults, tally = _drive(options, ctx, made["service"], made["tokens"])
        finally:
            ctx["server"].stop()
        report = Report(options, faults, tally, *_count(ctx["url"], tally))
    finally:
        _drop(ctx)
    if report.passed:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"server log kept: {folder / 'server.log'}")
    return report


def describe(report: Report) -> str:
    """The printed outcome of a run."""
    o, t = report.options, report.tally
    fives = sum(n for code, n in t.statuses.items() if code >= 500)
    lines = [
        f"scenario={o.scenario} db={o.db} clients={o.clients}+1 citizen seconds={o.seconds:g}"
        f" workers={o.workers} faults={report.faults}",
        f"sent={len(t.sent)} acknowledged={len(t.acknowledged)} stored={report.stored}"
        f" lost={report.lost} duplicated={report.duplicated}"
        f" rollup_mismatch={report.rollup_mismatch} pending={t.pending}",
        f"5xx={fives} 503={t.statuses[503]} other_5xx={fives - t.statuses[503]}"
        f" 429={t.statuses[429]} transport_errors={t.transport_errors}"
        f" citizen: sent={t.citizen_sent} acknowledged={t.citizen_acknowledged}"
        f" 503_pages={t.citizen_503}",
    ]
    lines += [f"problem: {p}" for p in t.problems[:10]]
    lines.append("PASS" if report.passed else "FAIL")
    return "\n".join(lines)


def main() -> None:
    """Parse the options, run, print, and exit 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS, required=True)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pg-server", default=os.environ.get("SURVEY_TEST_DATABASE_URL", PG_SERVER)
    )
    args = parser.parse_args()
    report = run(Options(**vars(args)))
    print(describe(report))
    sys.exit(0 if report.passed else 1)


if __name__ == "__main__":
    main()
