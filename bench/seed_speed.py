"""How fast `survey seed-demo` fills a fresh PostgreSQL database, and how much memory it takes.

    python bench/seed_speed.py [--responses 100000] [--points 100] [--baseline 10000]
                               [--skip-rebuild] [--server postgresql+psycopg://postgres@127.0.0.1]

Creates a database, sets it up as `survey serve` does, adds the demo commune points, then runs
the bulk load (`demo.load`) and `rollups.rebuild()` each in a process of its own, so that each
one's peak RSS is its own; drops the database. The baseline, in another fresh database, is the
former write path (every row kept in a list, inserted 2000 at a time through SQLAlchemy, ids
read back by public id) for --baseline responses. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def _app(url: str):
    os.environ["SURVEY_INSTANCE_PATH"] = tempfile.mkdtemp()
    os.environ["SURVEY_DATABASE_URL"] = url
    from survey import create_app

    return create_app()


def legacy_load(n: int) -> None:
    """The former write path, fed with the same generator."""
    from sqlalchemy import insert, select

    from survey import demo
    from survey.demo_store import RESPONSE_COLUMNS
    from survey.extensions import db
    from survey.models import Answer, Response

    generator = demo.Generator(1, NOW)
    rows, answers = generator.chunk(list(range(n)))  # all rows at once, as before
    pending = [dict(zip(RESPONSE_COLUMNS[1:], row[1:], strict=True)) for row in rows]
    by_fake = _by_response(answers)
    for start in range(0, n, 2000):
        chunk = pending[start : start + 2000]
        db.session.execute(insert(Response), chunk)
        ids = dict(
            db.session.execute(
                select(Response.public_id, Response.id).where(
                    Response.public_id.in_([row["public_id"] for row in chunk])
                )
            ).all()
        )
        db.session.execute(
            insert(Answer),
            [
                {"response_id": ids[row["public_id"]], "item": item, "value": value}
                for i, row in enumerate(chunk, start)
                for item, value in by_fake[i]
            ],
        )
    db.session.commit()


def _by_response(answers):
    out: dict[int, list] = {}
    for rid, item, value in answers:
        out.setdefault(rid, []).append((item, value))
    return out


def phase(name: str, url: str, n: int, points: int) -> dict:
    """Run one phase in this process; return its figures."""
    from sqlalchemy import func, select

    from survey import demo, first_run, province, rollups
    from survey.extensions import db
    from survey.models import Answer, Response

    app = _app(url)
    with app.app_context():
        start = time.perf_counter()
        if name == "prepare":
            first_run.prepare()
            province.add_points(points)
        elif name == "load":
            demo.load(n, seed=1, now=NOW)
        elif name == "baseline":
            legacy_load(n)
        elif name == "rebuild":
            rollups.rebuild()
        seconds = time.perf_counter() - start
        counts = (
            db.session.scalar(select(func.count(Response.id))),
            db.session.scalar(select(func.count(Answer.id))),
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return {"seconds": seconds, "peak_mb": peak, "responses": counts[0], "answers": counts[1]}


def run(name: str, url: str, n: int, points: int) -> dict:
    args = [sys.executable, __file__, "--phase", name, "--url", url]
    args += ["--responses", str(n), "--points", str(points)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def fresh_database(server: str, label: str):
    name = f"gen_seed_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def report(label: str, n: int, figures: dict) -> None:
    rate = n / figures["seconds"] if figures["seconds"] else 0
    print(
        f"{label:<26} {figures['seconds']:8.1f} s {rate:10.0f} responses/s "
        f"peak RSS {figures['peak_mb']:6d} MB  (rows now: {figures['responses']} responses, "
        f"{figures['answers']} answers)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=100000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--baseline", type=int, default=10000, help="0: no baseline")
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.url, args.responses, args.points)))
        return
    n = args.responses
    print(f"PostgreSQL, {n} responses, {args.points} demo commune points", flush=True)
    url, drop = fresh_database(args.server, "new")
    try:
        report("prepare (migrate, points)", 0, run("prepare", url, 0, args.points))
        report(f"load {n}", n, run("load", url, n, args.points))
        if not args.skip_rebuild:
            report("rollups.rebuild()", n, run("rebuild", url, n, args.points))
    finally:
        drop()
    if args.baseline:
        url, drop = fresh_database(args.server, "old")
        try:
            run("prepare", url, 0, args.points)
            report(
                f"baseline: former load {args.baseline}",
                args.baseline,
                run("baseline", url, args.baseline, args.points),
            )
        finally:
            drop()


if __name__ == "__main__":
    main()
