"""The summary API and the dashboard against the naive query, on PostgreSQL, at growing sizes.

    python bench/summary_speed.py [--sizes 10000,100000,1000000] [--repeat 7] [--points 100]

On a database created for the run (and dropped after): `survey seed-demo` loads the synthetic
province up to each size in turn and rebuilds the rollups (timed, with the peak memory of the
command; bench/seed_speed.py times the load and the rebuild apart), then `survey serve`
(2 workers) answers, in interleaved rounds:

- the naive query: ONE SQL statement over the raw response and answer tables computing the
  overall index of this year (share of 4-5 per criterion, mean per element, mean of the
  elements);
- GET /api/v1/summary?from=<year>-01-01&to=<year>-12-31&group_by=service with an API token;
- GET /api/v1/summary?...&group_by=unit: the ranking of units (read from the per-unit months);
- GET /admin/?period=this-year signed in as an administrator (password and TOTP code);
- GET /admin/export/summary.csv?period=this-year (the summary tables: overall, elements,
  criteria, expectations, and one table per procedure, unit, agency and lĩnh vực), against
  PostgreSQL's COPY (…) TO STDOUT of the per-procedure rows (procedure, index) computed from
  the raw tables.

Printed per size: medians, the naive query's time divided by each, each time divided by its
10k time, and the index each computed (they must agree). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyotp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.cluster import PORTS, Browser  # noqa: E402
from bench.phone_abuse import start  # noqa: E402
from tests.servers import SURVEY  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ADMIN = "bench-admin@bench.vn"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the demo's time zone (SURVEY_TIMEZONE's default)
PASSWORD = "Bench-summary-speed-1"

NAIVE = """
WITH criteria (item, element) AS (VALUES {criteria}),
shares AS (
    SELECT r.service_id, a.item, avg(CASE WHEN a.value >= 4 THEN 100.0 ELSE 0 END) AS share
    FROM response r JOIN answer a ON a.response_id = r.id
    WHERE r.flag_reason IS NULL AND r.questionnaire_id = :q
      AND r.captured_at >= :start AND r.captured_at < :end AND a.value BETWEEN 1 AND 5
      AND a.item IN (SELECT item FROM criteria)
    GROUP BY r.service_id, a.item),
elements AS (
    SELECT s.service_id, c.element, avg(s.share) AS idx
    FROM shares s JOIN criteria c ON c.item = s.item GROUP BY s.service_id, c.element),
per_service AS (
    SELECT service_id, avg(idx) AS idx FROM elements GROUP BY service_id),
everything AS (
    SELECT c.element, avg(CASE WHEN a.value >= 4 THEN 100.0 ELSE 0 END) AS share
    FROM response r JOIN answer a ON a.response_id = r.id JOIN criteria c ON c.item = a.item
    WHERE r.flag_reason IS NULL AND r.questionnaire_id = :q
      AND r.captured_at >= :start AND r.captured_at < :end AND a.value BETWEEN 1 AND 5
    GROUP BY c.element, a.item)
"""
NAIVE_INDEX = """
SELECT avg(e) FROM (SELECT avg(share) AS e FROM everything GROUP BY element) x
"""
NAIVE_ROWS = """
SELECT s.code, round(p.idx, 2) FROM per_service p JOIN service s ON s.id = p.service_id
ORDER BY s.code
"""


def run(env: dict, *args: str, stdin: str | None = None) -> tuple[str, float, float]:
    """A `survey` command: its output, seconds, and the peak RSS (MB) of that command alone."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(
            [*SURVEY, *args], env=env, stdin=subprocess.PIPE, stdout=out, stderr=out, text=True
        )
        process.stdin.write(stdin or "")
        process.stdin.close()
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"survey {' '.join(args)} failed:\n{output}")
    return output, seconds, usage.ru_maxrss / 1024


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def sign_in_admin(engine, secret: str) -> Browser:
    browser = Browser("127.0.0.70")
    page = browser.request("A", "GET", "/admin/login")
    form = {**page.hidden(), "email": ADMIN, "password": PASSWORD}
    assert browser.request("A", "POST", "/admin/login", form=form).status == 303
    page = browser.request("A", "GET", "/admin/two-factor")
    form = {**page.hidden(), "code": pyotp.TOTP(secret).now()}
    status = browser.request("A", "POST", "/admin/two-factor", form=form).status
    assert status == 303, f"two-factor step answered {status}"
    assert browser.request("A", "GET", "/admin/?period=this-year").status == 200
    return browser


def _naive_sql(conn, year: int, final: str) -> tuple[str, dict]:
    q, definition = conn.execute(
        text("SELECT id, definition FROM questionnaire_version WHERE active")
    ).one()
    pairs = [(c["code"], e["code"]) for e in definition["elements"] for c in e["criteria"]]
    sql = NAIVE.format(criteria=", ".join(f"('{i}', '{e}')" for i, e in pairs)) + final
    start, end = (datetime(y, 1, 1, tzinfo=ZONE) for y in (year, year + 1))
    conn.execute(text("SET jit = off"))
    return sql, {"q": q, "start": start, "end": end}


def naive(engine, year: int):
    """The overall index of the year in one statement."""
    with engine.connect() as conn:
        sql, params = _naive_sql(conn, year, NAIVE_INDEX)
        return conn.execute(text(sql), params).one()


def copy_rows(engine, year: int) -> int:
    """COPY … TO STDOUT of the export's rows (a procedure and its index) from the raw tables."""
    with engine.connect() as conn:
        sql, params = _naive_sql(conn, year, NAIVE_ROWS)
        for name, value in params.items():  # COPY takes no parameters
            literal = value if isinstance(value, int) else f"'{value.isoformat()}'"
            sql = sql.replace(f":{name}", str(literal))
        size = 0
        with conn.connection.cursor() as cursor:
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH CSV") as copy:
                for data in copy:
                    size += len(data)
        return size


def median_rounds(work: dict, repeat: int) -> dict[str, float]:
    """Medians (ms) of each piece of work, run in interleaved rounds after one warm-up."""
    times: dict[str, list[float]] = {name: [] for name in work}
    for job in work.values():
        job()
    for _ in range(repeat):
        for name, job in work.items():
            times[name].append(timed(job)[0] * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--points", type=int, default=100)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    name = f"survey_bench_summary_{uuid.uuid4().hex[:8]}"
    server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    folder = Path(tempfile.mkdtemp())
    # A province's settings: comments are tagged with their topics by `survey jobs run`, so the
    # pages skip their lookup of untagged comments (docs/OPERATIONS.md).
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(folder / "instance"),
           "SURVEY_DATABASE_URL": url, "SURVEY_TOPICS_TAG_ON_VIEW": "0"}  # fmt: skip
    engine = create_engine(url)
    year = datetime.now(UTC).year
    base: dict[str, float] = {}
    try:
        loaded = 0
        for size in sizes:
            extra = ["--points", str(args.points)] if loaded == 0 and args.points else []
            out, seconds, peak = run(
                env, "seed-demo", "--responses", str(size - loaded), "--seed", str(size), *extra
            )
            print(f"\n== {size} responses ==")
            print(f"survey seed-demo --responses {size - loaded} (load and rebuild): "
                  f"{seconds:.1f} s, peak RSS {peak:.0f} MB")  # fmt: skip
            loaded = size
            out, seconds, peak = run(env, "jobs", "run", "--only", "topics.tag")
            print(f"survey jobs run --only topics.tag (the new comments' topics): {seconds:.1f} s, "
                  f"peak RSS {peak:.0f} MB")  # fmt: skip
            started = time.perf_counter()
            vacuum(url)
            print(f"VACUUM (ANALYZE) of the ratings: {time.perf_counter() - started:.1f} s "
                  "(steady state: autovacuum would otherwise run during the measures)")  # fmt: skip
            print_sizes(engine)
            if size == sizes[0]:
                secret = prepare_accounts(env, engine)
            figures = measure(env, engine, secret, year, args.repeat)
            base = base or figures
            for what in ("api", "api_units", "dashboard"):
                ratio, growth = figures["naive"] / figures[what], figures[what] / base[what]
                print(f"  naive / {what}: {ratio:6.1f}x   {what} / at {sizes[0]}: {growth:5.2f}")
            copy, export = figures["copy"], figures["export"]
            print(f"  COPY of the per-procedure rows / summary export: {copy / export:.1f}x")
    finally:
        engine.dispose()
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def vacuum(url: str) -> None:
    """What autovacuum does after a bulk load, done before measuring instead of during."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE) response, answer"))
    engine.dispose()


def print_sizes(engine) -> None:
    with engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in (
                "response",
                "answer",
                "rollup_day",
                "rollup_month",
                "rollup_unit_month",
                "rollup_service_month",
                "rollup_profile",
                "rollup_province_profile",
            )
        }
        size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
    print("rows: " + ", ".join(f"{t} {n}" for t, n in counts.items()) + f"; {size.scalar()}")


def prepare_accounts(env: dict, engine) -> str:
    run(env, "create-user", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    token, *_ = run(env, "api-token", "create", "--user", ADMIN)
    env["BENCH_API_TOKEN"] = token.strip().splitlines()[-1]
    secret = pyotp.random_base32()
    with engine.begin() as conn:
        conn.execute(text("UPDATE \"user\" SET totp_secret = :s WHERE email = :e"),
                     {"s": secret, "e": ADMIN})  # fmt: skip
    return secret


SIGNED_IN: list[Browser] = []  # one sign-in: the session is a row in the database


def measure(env: dict, engine, secret: str, year: int, repeat: int) -> dict[str, float]:
    processes = start([PORTS["A"]], 2, env)
    try:
        SIGNED_IN[:] = SIGNED_IN or [sign_in_admin(engine, secret)]
        admin = SIGNED_IN[0]
        api = Browser("127.0.0.71")
        auth = {"Authorization": f"Bearer {env['BENCH_API_TOKEN']}"}
        query = f"/api/v1/summary?from={year}-01-01&to={year}-12-31&group_by=service"

        def summary():
            reply = api.request("A", "GET", query, headers=auth)
            assert reply.status == 200, reply.status
            return reply

        def units():
            reply = api.request("A", "GET", query.replace("=service", "=unit"), headers=auth)
            assert reply.status == 200, reply.status

        def export():
            reply = admin.request("A", "GET", "/admin/export/summary.csv?period=this-year")
            assert reply.status == 200, reply.status

        def dashboard():
            reply = admin.request("A", "GET", "/admin/?period=this-year")
            assert reply.status == 200, reply.status

        figures = median_rounds(
            {
                "naive": lambda: naive(engine, year),
                "api": summary,
                "api_units": units,
                "dashboard": dashboard,
                "copy": lambda: copy_rows(engine, year),
                "export": export,
            },
            repeat,
        )
        shown = json.loads(summary().text)
        (index,) = naive(engine, year)
        api_index, groups = shown["overall"]["index"], len(shown["groups"])
        print(f"overall index this year: naive query {float(index):.4f}; "
              f"API {api_index:.4f} ({groups} procedures)")  # fmt: skip
        print("medians (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))
        return figures
    finally:
        for process in processes:  # a kept-alive connection may hold a worker: no grace
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


if __name__ == "__main__":
    main()
