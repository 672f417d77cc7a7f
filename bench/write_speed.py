"""The kiosk write path against its floor, on PostgreSQL: `python bench/write_speed.py`.

The floor is an app written here: it takes the same JSON body as POST /api/v1/responses and
inserts one response and its answers in one plain SQL transaction, served by gunicorn with the
settings of `survey serve` (2 sync workers). Both run on one database created for the run (and
dropped after), which first holds a province's history (`survey seed-demo`, --history ratings:
the tables, their indexes and the planner's statistics are a running province's, not an empty
database's). 16 client connections (keep-alive) post ratings in interleaved rounds, one kiosk
each, at as many service points, each rating naming one of the province's procedures at random
(--one-place: every kiosk at one point rating one procedure, so that every rating updates the
same four rollup rows, thousands of times a second). Printed: throughput and p50/p99 latency of
each, the ratio, and the rows counted after (0 lost: every acknowledged id stored; 0
duplicated: one row per id).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import servers  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# --- The floor: the same JSON, one plain SQL transaction -----------------------------------

_floor_conn = None
RESPONSE_SQL = (
    "INSERT INTO response (public_id, questionnaire_id, service_id, unit_id, channel, locale,"
    " captured_at, received_at, updated_at, status, comment)"
    " VALUES (%s, %s, %s, %s, 'api', %s, %s, now(), now(), %s, %s) RETURNING id"
)


def floor(environ, start_response):
    """WSGI app: store the posted rating with one INSERT for the response, one for its answers."""
    global _floor_conn
    import psycopg

    if _floor_conn is None:
        _floor_conn = psycopg.connect(os.environ["FLOOR_DATABASE_URL"])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = json.loads(environ["wsgi.input"].read(length))
    q_id, service_id, unit_id = json.loads(os.environ["FLOOR_IDS"])
    answers = {**data["answers"], **{f"EX{k}": v for k, v in data.get("expectations", {}).items()}}
    with _floor_conn.transaction(), _floor_conn.cursor() as cur:
        cur.execute(
            RESPONSE_SQL,
            (data["id"], q_id, service_id, unit_id, data.get("locale", "vi"),
             data["captured_at"], data.get("status", "complete"), data.get("comment")),
        )  # fmt: skip
        rid = cur.fetchone()[0]
        cur.executemany(
            "INSERT INTO answer (response_id, item, value) VALUES (%s, %s, %s)",
            [(rid, item, value) for item, value in answers.items()],
        )
    body = json.dumps({"id": data["id"], "status": "created"}).encode()
    start_response("201 Created", [("Content-Type", "application/json")])
    return [body]


# The kiosks, one per service point (all at the first with --one-place), the procedures the
# ratings name, and the ids the floor stores (printed as JSON).
SETUP = """
import json, sys
from sqlalchemy import select
from survey import create_app, first_run, kiosks
from survey.extensions import db
from survey.models import QuestionnaireVersion, Service, Unit
app = create_app()
with app.app_context():
    first_run.prepare()
    units = db.session.scalars(select(Unit).order_by(Unit.id)).all()
    services = db.session.scalars(select(Service).filter_by(active=True).order_by(Service.id)).all()
    q = db.session.scalar(select(QuestionnaireVersion).filter_by(active=True))
    one_place = sys.argv[2] == "1"
    places = [units[0] if one_place else units[i % len(units)] for i in range(int(sys.argv[1]))]
    tokens = [kiosks.create_kiosk(unit=unit.code, counter=None, name=f"bench {i}", actor="bench")[1]
              for i, unit in enumerate(places)]
    codes = [services[0].code] if one_place else [s.code for s in services]
    print(json.dumps({"services": codes, "tokens": tokens, "units": len(set(places)),
                      "ids": [q.id, services[0].id, units[0].id]}))
"""


# --- The load ------------------------------------------------------------------------------


class Load:
    """What one round of clients sent and saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.acknowledged: set[str] = set()
        self.errors = 0


def _body(services: list[str], sequence: int) -> dict:
    # A kiosk rates at most every 6 s of capture time: no "burst" flag, every rating counts.
    moment = datetime.now(UTC) - timedelta(seconds=6 * sequence + 60)
    return {
        "id": str(uuid.uuid4()),
        "service": random.choice(services),
        "captured_at": moment.isoformat(),
        "locale": "vi",
        "answers": {"OV": random.randint(1, 5), "TC1": random.randint(1, 5), "TT2": None},
        "expectations": {"1": random.randint(1, 4)},
        "comment": random.choice([None, "Cán bộ hướng dẫn tận tình."]),
        "status": "complete",
    }


def _client(port, path, token, services, counter, stop_at, load: Load) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    while time.monotonic() < stop_at:
        counter[0] += 1
        body = _body(services, counter[0])
        began = time.perf_counter()
        try:
            conn.request("POST", path, body=json.dumps(body), headers=headers)
            reply = conn.getresponse()
            reply.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with load.lock:
                load.errors += 1
            continue
        took = time.perf_counter() - began
        with load.lock:
            if reply.status == 201:
                load.latencies.append(took)
                load.acknowledged.add(body["id"])
            else:
                load.errors += 1
    conn.close()


def _round(port, path, tokens, services, counters, seconds) -> tuple[Load, float]:
    load, began = Load(), time.monotonic()
    threads = [
        threading.Thread(
            target=_client,
            args=(port, path, token, services, counters[i], began + seconds, load),
        )
        for i, token in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return load, time.monotonic() - began


def _stats(loads: list[tuple[Load, float]]) -> dict:
    latencies = sorted(x for load, _ in loads for x in load.latencies)
    per_round = [len(load.latencies) / took for load, took in loads]
    return {
        "rps": statistics.median(per_round),
        "p50": latencies[len(latencies) // 2] * 1000 if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan"),
        "errors": sum(load.errors for load, _ in loads),
        "acknowledged": set().union(*(load.acknowledged for load, _ in loads)),
    }


# --- Setup, run, count ---------------------------------------------------------------------


def _database(pg_server: str):
    name = f"survey_writebench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, make_url(pg_server).set(database=name)


def _floor_server(folder: Path, url, ids, workers: int) -> tuple[subprocess.Popen, int]:
    port = servers.free_port()
    env = {**os.environ, "FLOOR_DATABASE_URL": url.set(drivername="postgresql")
           .render_as_string(hide_password=False), "FLOOR_IDS": json.dumps(ids)}  # fmt: skip
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
               f"127.0.0.1:{port}", "--access-logfile", "-", "bench.write_speed:floor"]  # fmt: skip
    log = (folder / "floor.log").open("w")
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/")
            conn.getresponse()
            return process, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the floor app did not start")


def _history(env: dict, args) -> None:
    """A province's past ratings in the database (and service points enough for the kiosks)."""
    if not args.history:
        return
    points = 0 if args.one_place else args.connections
    began = time.monotonic()
    subprocess.run(
        [*servers.SURVEY, "seed-demo", "--responses", str(args.history), "--points", str(points)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    print(f"history: {args.history} ratings loaded in {time.monotonic() - began:.0f} s", flush=True)


def _analyze(url) -> None:
    """The planner's statistics of the ratings, as autovacuum keeps them in a running province,
    before each round of both apps: a round stores in seconds more ratings than the tables held
    (a kiosk's whole day many times over), and a plan made for the table as it was reads all of
    a kiosk's new ratings for its streak check, where the index gives the last seven."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE response, answer, kiosk_device"))
    engine.dispose()


def _count(url, acknowledged: set[str]) -> tuple[int, int]:
    """Lost (acknowledged, not stored) and duplicated (rows beyond one per id)."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        per_id = dict(
            conn.execute(text("SELECT public_id, count(*) FROM response GROUP BY 1")).all()
        )
        in_step = conn.execute(
            text(
                "SELECT (SELECT coalesce(sum(responses), 0) FROM rollup_day"
                " WHERE channel = 'kiosk') = (SELECT count(*) FROM response"
                " WHERE flag_reason IS NULL AND channel = 'kiosk')"
            )
        ).scalar()
    engine.dispose()
    if not in_step:
        print("rollups NOT in step with the kiosk responses")
    return len(acknowledged - per_id.keys()), sum(n - 1 for n in per_id.values())


def run(args) -> None:
    folder = Path(tempfile.mkdtemp(prefix="survey-writebench-"))
    admin, name, url = _database(args.pg_server)
    env = servers.server_env(
        folder,
        SURVEY_DATABASE_URL=url.render_as_string(hide_password=False),
        SURVEY_KIOSK_RATE_LIMIT="1000000 per minute",
        SURVEY_KIOSK_RECEIVE_LIMIT="1000000 per hour",
    )
    app = floor_process = None
    try:
        _history(env, args)
        setup = subprocess.run(
            [sys.executable, "-c", SETUP, str(args.connections), str(int(args.one_place))],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        made = json.loads(setup.stdout.splitlines()[-1])
        print(f"{len(made['tokens'])} kiosks at {made['units']} service points, ratings naming "
              f"{len(made['services'])} procedures", flush=True)  # fmt: skip
        app = servers.Server(servers.free_port(), env, args.workers, folder / "server.log").start()
        floor_process, floor_port = _floor_server(folder, url, made["ids"], args.workers)
        targets = {
            "kiosk": (app.port, "/api/v1/responses", [[0] for _ in made["tokens"]], []),
            "floor": (floor_port, "/", [[0] for _ in made["tokens"]], []),
        }
        for number in range(args.rounds):
            for label, (port, path, counters, loads) in targets.items():
                _analyze(url)
                loads.append(
                    _round(port, path, made["tokens"], made["services"], counters, args.seconds)
                )
                print(f"round {number + 1} {label}: {len(loads[-1][0].latencies)} ratings",
                      flush=True)  # fmt: skip
        _report(targets, url)
    finally:
        if app is not None:
            app.stop()
        if floor_process is not None:
            floor_process.terminate()
            floor_process.wait(20)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _report(targets: dict, url) -> None:
    stats = {label: _stats(loads) for label, (*_, loads) in targets.items()}
    for label, s in stats.items():
        print(f"{label:6} {s['rps']:7.1f} ratings/s  p50 {s['p50']:6.1f} ms  "
              f"p99 {s['p99']:6.1f} ms  errors {s['errors']}")  # fmt: skip
    ratio = stats["kiosk"]["rps"] / stats["floor"]["rps"]
    acknowledged = stats["kiosk"]["acknowledged"] | stats["floor"]["acknowledged"]
    lost, duplicated = _count(url, acknowledged)
    met = ratio >= 0.5 and stats["kiosk"]["p99"] < 100 and lost == duplicated == 0
    print(f"ratio kiosk/floor throughput: {ratio:.3f}  (target >= 0.5, kiosk p99 < 100 ms, "
          f"0 lost, 0 duplicated: {'met' if met else 'NOT met'})")  # fmt: skip
    print(f"acknowledged {len(acknowledged)}: {lost} lost, {duplicated} duplicated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-server", default=os.environ.get("SURVEY_BENCH_PG", PG_SERVER))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each app")
    parser.add_argument("--history", type=int, default=100_000, help="past ratings loaded first")
    parser.add_argument("--one-place", action="store_true", help="every kiosk at one point")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
