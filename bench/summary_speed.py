"""The summary API and the dashboard against the naive query, on PostgreSQL, at growing sizes.

    python bench/summary_speed.py [--sizes 10000,100000,1000000] [--repeat 7] [--points 100]

On a database created for the run (and dropped after): `survey seed-demo` loads the synthetic
province up to each size in turn (timed, with the peak memory of the command), then
`survey rollup rebuild` runs (timed, with its peak memory), then `survey serve` (2 workers)
answers, in interleaved rounds:

- the naive query: ONE SQL statement over the raw response and answer tables computing the
  overall index of this year (share of 4-5 per criterion, mean per element, mean of the
  elements), for every procedure at once like the API's group_by=service;
- GET /api/v1/summary?from=<year>-01-01&to=<year>-12-31&group_by=service with an API token;
- GET /admin/?period=this-year signed in as an administrator (password and TOTP code).

Printed per size: medians, the naive query's time divided by each, each time divided by its
10k time, and the index each computed (they must agree). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
SELECT (SELECT avg(e) FROM (SELECT avg(share) AS e FROM everything GROUP BY element) x),
       (SELECT count(*) FROM per_service)
"""


def run(env: dict, *args: str, stdin: str | None = None) -> tuple[str, float, float]:
    """A `survey` command: its output, seconds, and the peak RSS (MB) of the command."""
    started = time.perf_counter()
    done = subprocess.run(
        [*SURVEY, *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"survey {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return done.stdout, seconds, peak


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


def naive(engine, year: int):
    with engine.connect() as conn:
        q, definition = conn.execute(
            text("SELECT id, definition FROM questionnaire_version WHERE active")
        ).one()
        pairs = [(c["code"], e["code"]) for e in definition["elements"] for c in e["criteria"]]
        sql = NAIVE.format(criteria=", ".join(f"('{i}', '{e}')" for i, e in pairs))
        start, end = (datetime(y, 1, 1, tzinfo=ZONE) for y in (year, year + 1))
        conn.execute(text("SET jit = off"))
        return conn.execute(text(sql), {"q": q, "start": start, "end": end}).one()


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
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(folder / "instance"),
           "SURVEY_DATABASE_URL": url}  # fmt: skip
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
            print(f"survey seed-demo --responses {size - loaded}: {seconds:.1f} s, "
                  f"peak RSS of the command {peak:.0f} MB")  # fmt: skip
            loaded = size
            out, seconds, peak = run(env, "rollup", "rebuild")
            print(f"survey rollup rebuild: {seconds:.1f} s, peak RSS {peak:.0f} MB; {out.strip()}")
            print_sizes(engine)
            if size == sizes[0]:
                secret = prepare_accounts(env, engine)
            figures = measure(env, engine, secret, year, args.repeat)
            base = base or figures
            for what in ("api", "dashboard"):
                ratio, growth = figures["naive"] / figures[what], figures[what] / base[what]
                print(f"  naive / {what}: {ratio:6.1f}x   {what} / at {sizes[0]}: {growth:5.2f}")
    finally:
        engine.dispose()
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def print_sizes(engine) -> None:
    with engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("response", "answer", "rollup_day", "rollup_month")
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

        def dashboard():
            reply = admin.request("A", "GET", "/admin/?period=this-year")
            assert reply.status == 200, reply.status

        figures = median_rounds(
            {"naive": lambda: naive(engine, year), "api": summary, "dashboard": dashboard}, repeat
        )
        shown = json.loads(summary().text)
        index, services = naive(engine, year)
        api_index, groups = shown["overall"]["index"], len(shown["groups"])
        print(f"overall index this year: naive query {float(index):.4f} over {services} "
              f"procedures; API {api_index:.4f} over {groups}")  # fmt: skip
        print("medians (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))
        return figures
    finally:
        for process in processes:  # a kept-alive connection may hold a worker: no grace
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


if __name__ == "__main__":
    main()
