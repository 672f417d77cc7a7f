"""What one script gets counted on the phone (QR) path, and whether 200 citizens behind one
address get through, against 2 gunicorn workers on SQLite and 2 servers sharing Redis (DB 3).

    python bench/phone_abuse.py [--only sqlite|redis]

Time is simulated: the servers read an offset clock (SURVEY_BENCH_CLOCK_FILE) that this script
moves on as people read and scripts pace themselves; Flask-Limiter's 429 ceilings run on real
time. Each scenario has its own loopback address (127.0.0.x) and starts two simulated hours
after the previous one. Prints a table; the tests assert.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.servers import Server, wait_ready  # noqa: E402, F401  (wait_ready: for the benches)

REDIS_URL = "redis://127.0.0.1:6379/3"
PORTS = range(18600, 18650)
PICK = random.Random(3)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class Clock:
    """The servers' offset clock: a file holding seconds to add to the wall clock.

    The clock keeps a target (simulated seconds since it started): after `advance(s)` the
    servers' time is the target, the real time the requests took included, so a scenario spans
    the simulated time it says. A citizen's reading time is added in full (`exact`).
    """

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.target = path, 0.0, 0.0
        self.start = time.monotonic()
        self._write()

    def advance(self, seconds: float, *, exact: bool = False) -> None:
        """Move the servers' clock on to the target plus `seconds` (`exact`: at least that)."""
        self.target += seconds
        wanted = self.target - (time.monotonic() - self.start)
        self.offset = max(self.offset + seconds if exact else self.offset, wanted)
        self._write()

    def _write(self) -> None:
        partial = self.path.with_suffix(".new")
        partial.write_text(repr(self.offset))
        os.replace(partial, self.path)  # a server never reads a half-written file


@dataclass
class Browser:
    """A phone browser on one address, talking to one or more servers (round robin)."""

    address: str
    servers: list[int]
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
        """Send one request on a fresh connection from this browser's address."""
        port = PICK.choice(self.servers)  # any server may answer any request
        conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=30, source_address=(self.address, 0)
        )
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=headers)
        reply = conn.getresponse()
        for name, value in reply.getheaders():
            if name.lower() == "set-cookie":
                key, _sep, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        text = reply.read().decode()
        conn.close()
        return reply.status, text


def rate(browser: Browser, service: str, clock: Clock, read_seconds: float) -> tuple[int, str]:
    """Open the question, read it for `read_seconds` (simulated), send a rating: (status, id)."""
    status, page = browser.request("GET", f"/vi/s/{service}?via=qr")
    if status != 200:
        return status, ""
    fields = dict(HIDDEN.findall(page))
    clock.advance(read_seconds, exact=True)
    status, _text = browser.request("POST", f"/vi/s/{service}", {**fields, "OV": "5"})
    return status, fields.get("rid", "")


@dataclass
class Outcome:
    """What the servers did with a scenario's ratings."""

    sent: int = 0
    accepted: int = 0
    refused: int = 0
    rids: list[str] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return self.flags.get("", 0)

    def add(self, status: int, rid: str) -> None:
        """Note one rating's reply: 303 accepted, 429 refused."""
        self.sent += 1
        self.accepted += status == 303
        self.refused += status == 429
        if status == 303:
            self.rids.append(rid)


def script(servers, service, clock, *, address, keep_cookies, read, gap, attempts=100) -> Outcome:
    """One script: `attempts` ratings, reading `read` s and waiting `gap` s between them."""
    out, browser = Outcome(), Browser(address, servers)
    for _ in range(attempts):
        if not keep_cookies:
            browser = Browser(address, servers)
        out.add(*rate(browser, service, clock, read))
        clock.advance(gap)
    return out


def crowd(servers, service, clock, *, address, people=200, hours=2.0, seed=8) -> Outcome:
    """`people` citizens behind one address, spread over `hours`, each reading 3-30 s once."""
    rng, out = random.Random(seed), Outcome()
    spacing = hours * 3600 / people
    for _ in range(people):
        read = rng.uniform(3.0, 30.0)
        out.add(*rate(Browser(address, servers), service, clock, read))
        clock.advance(max(spacing - read, 0))
    return out


def count_flags(database_url: str, out: Outcome) -> None:
    """Read back how each accepted rating was stored: counted ("") or flagged (its reason)."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT public_id, flag_reason FROM response")).all())
    engine.dispose()
    for rid in out.rids:  # a rid missing from the database would show as a "missing" flag
        reason = stored.get(rid, "missing") or ""
        out.flags[reason] = out.flags.get(reason, 0) + 1


SCENARIOS = (
    ("script, keeps its cookies, unpaced", {"keep_cookies": True, "read": 0.2, "gap": 0.3}),
    ("script, keeps its cookies, paced 6 s", {"keep_cookies": True, "read": 3.5, "gap": 2.5}),
    ("script, fresh session each time, unpaced", {"keep_cookies": False, "read": 0.2, "gap": 0.3}),
    (
        "script, fresh session each time, paced 6 s",
        {"keep_cookies": False, "read": 3.5, "gap": 2.5},
    ),
)


def run_all(servers: list[int], service: str, clock: Clock, database_url: str) -> list[tuple]:
    """Every scenario in turn, two simulated hours apart; one row of figures per scenario."""
    rows = []
    for number, (name, options) in enumerate(SCENARIOS, start=2):
        out = script(servers, service, clock, address=f"127.0.0.{number}", **options)
        count_flags(database_url, out)
        rows.append((name, out))
        clock.advance(2 * 3600)
    out = crowd(servers, service, clock, address="127.0.0.9")
    count_flags(database_url, out)
    rows.append(("200 citizens behind one address, 2 hours", out))
    return rows


def seed_history(env: dict) -> tuple[str, str, str]:
    """Set up the database; give a procedure 30 days of 30-60 phone ratings in its busy hours.

    Returns (service code, unit code, database URL)."""
    from sqlalchemy import insert, select

    from survey import create_app, first_run
    from survey.extensions import db
    from survey.models import QuestionnaireVersion, Response, Service, Unit

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        app = create_app()
    finally:  # leave the caller's environment as it was (the tests run in this process)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value
    with app.app_context():
        first_run.prepare()
        svc = db.session.scalar(select(Service).filter_by(active=True).order_by(Service.code))
        unit = db.session.scalar(select(Unit).order_by(Unit.id))
        version = db.session.scalar(select(QuestionnaireVersion).order_by(QuestionnaireVersion.id))
        rng, rows, today = random.Random(1), [], datetime.now(UTC).replace(minute=0, second=0)
        for day in range(1, 31):
            for hour in range(1, 10):  # 08:00-17:00 in Vietnam
                moment = today.replace(hour=hour) - timedelta(days=day)
                for n in range(rng.randint(30, 60)):
                    at = moment + timedelta(seconds=n * 50)
                    rows.append(_history_row(version.id, svc.id, unit.id, at))
        db.session.execute(insert(Response), rows)
        db.session.commit()
        found = (svc.code, unit.code, app.config["SQLALCHEMY_DATABASE_URI"])
        db.engine.dispose()
    return found


def _history_row(version_id: int, service_id: int, unit_id: int, at: datetime) -> dict:
    return {
        "public_id": str(uuid.uuid4()),
        "questionnaire_id": version_id,
        "service_id": service_id,
        "unit_id": unit_id,
        "channel": "qr",
        "locale": "vi",
        "captured_at": at,
        "received_at": at,
        "updated_at": at,
        "status": "complete",
    }


def start(ports: list[int], workers: int, env: dict) -> list[subprocess.Popen]:
    """`survey serve` on each port; wait until each answers /healthz."""
    env = {**os.environ, **env}
    return [Server(port, env, workers, log=Path(os.devnull)).start().process for port in ports]


def stop(processes: list[subprocess.Popen]) -> None:
    """Stop the servers this script started."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


@dataclass
class Deployment:
    """Servers started by this script, sharing one database and one rate-limit store."""

    servers: list[int]
    service: str
    unit: str
    clock: Clock
    database_url: str
    env: dict
    processes: list = field(default_factory=list)


def deployment(kind: str, folder: Path, ports: list[int], extra: dict | None = None) -> Deployment:
    """Start the `sqlite` (1 server, 2 workers) or `redis` (2 servers, 1 worker each) install."""
    clock = Clock(folder / "clock")
    env = {
        "SURVEY_INSTANCE_PATH": str(folder / "instance"),
        "SURVEY_BENCH_CLOCK_FILE": str(clock.path),
        "SURVEY_SECRET_KEY": uuid.uuid4().hex,
        "SURVEY_DATABASE_URL": "sqlite:///" + str(folder / "survey.db"),
        **(extra or {}),
    }
    if kind == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()  # DB 3 only: this script's own
        env["SURVEY_RATELIMIT_STORAGE_URL"] = REDIS_URL
    service, unit, url = seed_history(env)
    found = Deployment([], service, unit, clock, url, env)
    if kind == "sqlite":
        found.servers, found.processes = ports[:1], start(ports[:1], 2, env)
    else:  # each server its own instance folder: only the database and Redis are shared
        found.servers = ports[:2]
        for port in found.servers:
            own = {**env, "SURVEY_INSTANCE_PATH": str(folder / f"instance-{port}")}
            found.processes += start([port], 1, own)
    return found


def report(title: str, rows: list[tuple]) -> None:
    """Print one deployment's figures."""
    print(f"\n{title}")
    print(f"{'scenario':46} {'sent':>5} {'accepted':>8} {'429':>5} {'counted':>7}  flagged")
    for name, out in rows:
        flagged = ", ".join(f"{k} {v}" for k, v in sorted(out.flags.items()) if k) or "-"
        print(f"{name:46} {out.sent:5} {out.accepted:8} {out.refused:5} {out.counted:7}  {flagged}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("sqlite", "redis"))
    args = parser.parse_args()
    titles = {
        "sqlite": "Default install: SQLite, one server, 2 gunicorn workers (sqlitefile:// store)",
        "redis": f"Two servers (1 worker each) sharing Redis ({REDIS_URL}) and one database",
    }
    for number, kind in enumerate(("sqlite", "redis")):
        if args.only and kind != args.only:
            continue
        folder = Path(tempfile.mkdtemp(prefix=f"phone-{kind}-"))
        ports = list(PORTS)[10 + 4 * number : 14 + 4 * number]
        found = deployment(kind, folder, ports)
        try:
            rows = run_all(found.servers, found.service, found.clock, found.database_url)
        finally:
            stop(found.processes)
            if kind == "redis":
                redis.Redis.from_url(REDIS_URL).flushdb()
        report(titles[kind] + f", procedure {found.service}", rows)


if __name__ == "__main__":
    main()
