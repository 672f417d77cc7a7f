""" "Who is satisfied" (survey/profiles.py `breakdown`) against the naive query, on PostgreSQL.

    python bench/profile_speed.py [--sizes 10000,100000,1000000] [--repeat 7] [--points 100]

On a database created for the run (and dropped after), `survey seed-demo` loads the synthetic
province up to each size in turn (most demo ratings carry a profile) and rebuilds every rollup,
`rollup_profile` included. Then, in this process, in interleaved rounds after one warm-up:

- the naive query: ONE SQL statement over the raw response and answer tables computing, per
  profile item and option, the overall index of the last 12 whole months (share of 4-5 per
  criterion, mean per element, mean of the elements) and the number of ratings;
- `profiles.breakdown` for the same 12 months (whole months: rollup_profile only);
- `profiles.breakdown` for custom dates that cut two months (the 15th to the 14th, the reporting
  cut-off): whole months from rollup_profile, the edge days from the raw responses;
- `profiles.breakdown` of the 12 months for the procedure rated most often (a procedure filter
  reads the raw responses it selects).

Printed per size: the rows of each table, the medians, the naive time divided by each, and the
index of one group computed both ways (they must agree). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.summary_speed import run, vacuum  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

NAIVE = """
WITH criteria (item, element) AS (VALUES {criteria}),
profile_items (item) AS (VALUES {items}),
chosen AS (
    SELECT r.id, p.item, r.profile ->> p.item AS option
    FROM response r CROSS JOIN profile_items p
    WHERE r.flag_reason IS NULL AND r.questionnaire_id = :q AND r.profile IS NOT NULL
      AND r.captured_at >= :start AND r.captured_at < :end AND r.profile ->> p.item IS NOT NULL),
shares AS (
    SELECT c.item, c.option, a.item AS criterion,
           avg(CASE WHEN a.value >= 4 THEN 100.0 ELSE 0 END) AS share
    FROM chosen c JOIN answer a ON a.response_id = c.id
    WHERE a.value BETWEEN 1 AND 5 AND a.item IN (SELECT item FROM criteria)
    GROUP BY c.item, c.option, a.item),
elements AS (
    SELECT s.item, s.option, k.element, avg(s.share) AS idx
    FROM shares s JOIN criteria k ON k.item = s.criterion GROUP BY s.item, s.option, k.element)
SELECT e.item, e.option, avg(e.idx),
       (SELECT count(*) FROM chosen c WHERE c.item = e.item AND c.option = e.option)
FROM elements e GROUP BY e.item, e.option ORDER BY e.item, e.option
"""


def _year(today: date) -> tuple[date, date]:
    """The last 12 whole months before this one."""
    first = today.replace(day=1)
    return first.replace(year=first.year - 1), first - timedelta(days=1)


def naive(engine, since: date, until: date) -> dict:
    """The index and the ratings per (item, option), in one statement over the raw tables."""
    with engine.connect() as conn:
        q, definition = conn.execute(
            text("SELECT id, definition FROM questionnaire_version WHERE active")
        ).one()
        pairs = [(c["code"], e["code"]) for e in definition["elements"] for c in e["criteria"]]
        items = [p["code"] for p in definition["profile"]]
        sql = NAIVE.format(
            criteria=", ".join(f"('{i}', '{e}')" for i, e in pairs),
            items=", ".join(f"('{i}')" for i in items),
        )
        conn.execute(text("SET jit = off"))
        start = datetime.combine(since, clock.min, ZONE).astimezone(UTC)
        end = datetime.combine(until + timedelta(days=1), clock.min, ZONE).astimezone(UTC)
        rows = conn.execute(text(sql), {"q": q, "start": start, "end": end})
        return {(item, option): (float(idx), n) for item, option, idx, n in rows}


def median_ms(job, repeat: int) -> float:
    job()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        job()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(app, engine, repeat: int) -> None:
    from survey import filters, periods, profiles, questionnaire
    from survey.extensions import db

    with app.app_context():
        today = periods.local_today(app.config["SURVEY_TIMEZONE"])
        since, until = _year(today)
        q = questionnaire.active().id
        whole = filters.Filters(since, until, q)
        cut = filters.Filters(since.replace(day=15), until.replace(day=14), q)

        def breakdown(f):
            def job():
                db.session.remove()
                return profiles.breakdown(f, "vi")

            return job

        busiest = db.session.execute(
            text(
                "SELECT service_id FROM response WHERE profile IS NOT NULL"
                " GROUP BY service_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar()
        procedure = filters.Filters(since, until, q, service=busiest)
        times = {
            "naive": median_ms(lambda: naive(engine, since, until), repeat),
            "breakdown (12 whole months)": median_ms(breakdown(whole), repeat),
            "breakdown (15th to 14th)": median_ms(breakdown(cut), repeat),
            "breakdown (busiest procedure, raw)": median_ms(breakdown(procedure), repeat),
        }
        for name, ms in times.items():
            ratio = times["naive"] / ms
            print(f"  {name:36s} {ms:9.1f} ms   naive / this: {ratio:7.1f}x")
        ours = {(i.code, g.code): g for i in profiles.breakdown(whole, "vi") for g in i.groups}
        theirs = naive(engine, since, until)
        key = ("ethnicity", "khmer")
        shown = ours[key].overall.index if key in ours and ours[key].overall else None
        print(f"  index of {key}: breakdown {shown}, naive {theirs.get(key)}")


def print_sizes(engine) -> None:
    tables = ("response", "answer", "rollup_month", "rollup_profile")
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}
    print("rows: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--points", type=int, default=100)
    args = parser.parse_args()
    name = f"survey_bench_profile_{uuid.uuid4().hex[:8]}"
    server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    folder = Path(tempfile.mkdtemp())
    os.environ.update(SURVEY_INSTANCE_PATH=str(folder / "instance"), SURVEY_DATABASE_URL=url)
    engine = create_engine(url)
    try:
        loaded = 0
        for size in (int(s) for s in args.sizes.split(",")):
            extra = ["--points", str(args.points)] if loaded == 0 and args.points else []
            _, seconds, _ = run(
                dict(os.environ),
                "seed-demo", "--responses", str(size - loaded), "--seed", str(size), *extra,
            )  # fmt: skip
            loaded = size
            vacuum(url)
            print(f"\n== {size} responses == (seed-demo with every rebuild: {seconds:.1f} s)")
            print_sizes(engine)
            from survey import create_app

            measure(create_app(), engine, args.repeat)
    finally:
        engine.dispose()
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
