"""Two `survey serve` servers behind nginx, sharing PostgreSQL and Redis: what holds across them.

    python bench/two_servers.py [--pg-server URL] [--redis-url redis://127.0.0.1:6379/5]

Creates its own PostgreSQL database (dropped afterwards), uses one Redis database (flushed before
and after; not DB 3, which the tests use), runs `survey db upgrade`, then starts server A and
server B (`survey serve`, 1 worker each, own instance folders, one secret key) and nginx on a
loopback port with TLS (a throwaway self-signed certificate), an upstream block shaped like
deploy/nginx/survey.conf's and the shipped deploy/nginx/survey-proxy.conf included as it is. A
third server C runs with another secret key, outside the balancer, to show what a mismatched key
breaks. Each check goes through the balancer and straight to the servers; the script prints
every check with its figures and exits 1 when one fails. Run it from the repository's root as
`python -m bench.two_servers` or `python bench/two_servers.py`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from bench.cluster import (  # noqa: E402
    PORTS,
    SEEN,
    Browser,
    Cluster,
    cli,
    kiosk,
    post_rating,
    prepare,
    rate_phone,
    sign_in,
    start_nginx,
)
from bench.phone_abuse import stop  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/5"
RESULTS: list[bool] = []


def check(name: str, ok: bool, figures: str) -> None:
    """Print one check and remember whether it held."""
    RESULTS.append(bool(ok))
    print(f"  {'ok  ' if ok else 'FAIL'} {name}: {figures}")


def check_sessions(cluster: Cluster) -> Browser:
    """A manager signed in through the balancer is signed in on A, B and C only with one key."""
    print("\nManager sessions (server-side rows in the database, cookie signed by the secret key)")
    manager = Browser("127.0.0.62")
    status = sign_in(manager, "LB", cluster.password)
    check("sign in through the balancer", status == 303, f"POST /admin/login -> {status}")
    route = ["A", "B", "LB", "LB", "LB", "LB"]
    statuses = [manager.request(to, "GET", "/admin/").status for to in route]
    check(
        "the dashboard opens on A, B and 4 times through the balancer",
        statuses == [200] * 6,
        " ".join(f"{to}:{s}" for to, s in zip(route, statuses, strict=True)),
    )
    page = manager.request("B", "GET", "/admin/")
    out = manager.request("B", "POST", "/admin/logout", form=page.hidden()).status
    after = [manager.request(to, "GET", "/admin/").status for to in ("A", "LB", "LB")]
    check(
        "signing out on B ends the session on A and behind the balancer",
        out == 303 and after == [302, 302, 302],
        f"POST /admin/logout on B -> {out}; then GET /admin/ on A, LB, LB -> {after}",
    )
    sign_in(manager, "A", cluster.password)
    return manager


def check_edge() -> None:
    """What nginx's headers change: HTTPS seen through the balancer only, unknown hosts refused."""
    print("\nThe proxy headers (SURVEY_PROXY_FIX_X_FOR=1, _X_PROTO=1, SURVEY_TRUSTED_HOSTS)")
    through = Browser("127.0.0.65").request("LB", "GET", "/admin/login")
    direct = Browser("127.0.0.65").request("A", "GET", "/admin/login")
    hsts = ["strict-transport-security" in r.headers for r in (through, direct)]
    check(
        "HSTS through the balancer (X-Forwarded-Proto: https), not on A's plain http",
        hsts == [True, False],
        f"balancer {hsts[0]}, A direct {hsts[1]}",
    )
    cookie = through.headers.get("set-cookie", "")
    check(
        "the session cookie is __Host-session and Secure (SURVEY_PUBLIC_URL is https://)",
        cookie.startswith("__Host-session=") and "Secure" in cookie,
        cookie.split("=", 1)[0] + (", Secure" if "Secure" in cookie else ""),
    )
    forged = {"Host": "evil.example"}
    statuses = [
        Browser("127.0.0.65").request(to, "GET", "/vi/", headers=forged).status
        for to in ("LB", "B")
    ]
    check("a forged Host is refused", statuses == [400, 400], f"LB:{statuses[0]} B:{statuses[1]}")


def check_signin_limit(cluster: Cluster) -> None:
    """20 failed sign-ins per address in 10 minutes, counted in Redis whatever server answers."""
    print("\nSign-in limit (SURVEY_SIGNIN_RATE_LIMIT=20 per 10 minutes per address, in Redis)")
    guesser = Browser("127.0.0.61")
    form = {**guesser.request("A", "GET", "/admin/login").hidden(), "email": "x@bench.vn"}
    form["password"] = "wrong-password"
    route = ["A"] * 7 + ["B"] * 7 + ["LB"] * 6
    statuses = [guesser.request(to, "POST", "/admin/login", form=form).status for to in route]
    check(
        "20 wrong passwords: 7 on A, 7 on B, 6 through the balancer",
        statuses == [400] * 20,
        f"{Counter(statuses)}",
    )
    forged = {"X-Forwarded-For": "203.0.113.9"}
    more = [guesser.request(to, "POST", "/admin/login", form=form).status for to in ("A", "B")]
    more.append(guesser.request("LB", "POST", "/admin/login", form=form, headers=forged).status)
    check(
        "the 21st and later are refused on A, on B and through the balancer (with a forged "
        "X-Forwarded-For)",
        more == [429, 429, 429],
        f"A:{more[0]} B:{more[1]} LB:{more[2]}",
    )
    other = Browser("127.0.0.63", cookies=dict(guesser.cookies))
    status = other.request("LB", "POST", "/admin/login", form=form).status
    check("another address through the balancer is not held", status == 400, f"-> {status}")
    keys = redis.Redis.from_url(cluster.redis_url).keys("*")
    check("the counters live in Redis", bool(keys), f"{len(keys)} keys in {cluster.redis_url}")


def check_visit_code(cluster: Cluster) -> str:
    """A visit code used on A is refused on B and through the balancer; returns an unused one."""
    print(
        "\nVisit codes (one rating per receipt; signed with the secret key, used in the database)"
    )
    minted = cli(cluster.env, "visit-codes", "mint", "--service", cluster.service, "--count", "2")
    code, spare = (line.rsplit("/", 1)[1] for line in minted.split())
    early = Browser("127.0.0.70")
    opened = early.request("B", "GET", f"/v/{code}").status
    citizen = Browser("127.0.0.71")
    first = citizen.request("A", "GET", f"/v/{code}").status
    status, rid = rate_phone(citizen, "A", cluster.service)
    check("the code opens and rates on A", (first, status) == (302, 303), f"{first}, {status}")
    again = [Browser("127.0.0.72").request(to, "GET", f"/v/{code}").status for to in ("B", "LB")]
    check(
        "the used code shows 'already rated' on B and through the balancer",
        again == [200, 200],
        f"B:{again[0]} LB:{again[1]} (an unused code redirects: 302)",
    )
    late = rate_phone(early, "B", cluster.service)[0]
    check(
        "a phone that opened the code on B before it was used is refused on B",
        (opened, late) == (302, 409),
        f"opened {opened}, rating {late}",
    )
    flags = cluster.sql("SELECT flag_reason FROM response WHERE public_id = :rid", rid=rid)
    check("the rating made on A is stored once, counted", flags == (None,), f"flag_reason {flags}")
    return spare


def check_kiosk(cluster: Cluster) -> Browser:
    """A kiosk activated through A rates on B and reports through the balancer."""
    print("\nKiosk (credential in an HttpOnly cookie; device state in the database)")
    token = kiosk(cluster, "Sảnh A")
    device = Browser("127.0.0.80")
    page = device.request("A", "GET", f"/k/activate?token={token}")
    done = device.request("A", "POST", "/k/activate", form=page.hidden()).status
    check("activated on A", done == 303 and "kiosk_device" in device.cookies, f"POST -> {done}")
    attract = device.request("B", "GET", "/k/").status
    form = device.request("B", "GET", f"/k/vi/s/{cluster.service}").hidden()
    rated = device.request("B", "POST", f"/k/vi/s/{cluster.service}", form={**form, "OV": "4"})
    row = cluster.sql(
        "SELECT r.channel, k.name FROM response r JOIN kiosk_device k ON k.id = r.kiosk_id"
        " WHERE r.public_id = :rid",
        rid=form.get("rid", ""),
    )
    check(
        "B shows the kiosk's attract screen and stores its rating as that kiosk's",
        attract == 200 and rated.status == 303 and tuple(row or ()) == ("kiosk", "Sảnh A"),
        f"GET /k/ -> {attract}, POST -> {rated.status}, stored as {tuple(row or ())}",
    )
    beat = {"app_version": "bench-two-servers", "queued": 2, "dead_letters": 0}
    status = device.request("LB", "POST", "/api/v1/kiosk/heartbeat", body=beat).status
    seen = cluster.sql("SELECT app_version, queued FROM kiosk_device WHERE name = 'Sảnh A'")
    check(
        "its heartbeat through the balancer reaches /admin/kiosks",
        status == 200 and tuple(seen) == ("bench-two-servers", 2),
        f"-> {status}, stored {tuple(seen)}",
    )
    return device


def check_summary(cluster: Cluster) -> str:
    """A rating posted to A is counted at once in B's summary and behind the balancer."""
    print("\nSummaries (rollups updated in the rating's own transaction)")
    token = kiosk(cluster, "Quầy 2")
    seeded = [
        post_rating(to, token, cluster.service, minutes_ago=50 - 5 * n, value=3 + n % 3)
        for n, to in enumerate(["LB", "A", "B", "LB", "LB"])
    ]
    before = {to: cluster.summary(to) for to in ("A", "B", "LB")}
    status = post_rating("A", token, cluster.service, minutes_ago=1, value=5)
    after = {to: cluster.summary(to) for to in ("A", "B", "LB")}
    check(
        "5 kiosk ratings through the balancer, A and B are stored",
        seeded == [201] * 5,
        f"{seeded}",
    )
    check(
        "one more posted to A counts in the summary of B, of A and behind the balancer",
        status == 201 and all(after[to] == before[to] + 1 for to in after),
        f"POST to A -> {status}; responses before {before}, after {after}",
    )
    return token


def check_other_key(cluster: Cluster, manager: Browser, device: Browser, spare: str) -> None:
    """Server C shares the database and Redis but not the secret key."""
    print("\nServer C: same database and Redis, ANOTHER secret key (a configuration mistake)")
    cluster.serve("C", SURVEY_SECRET_KEY=uuid.uuid4().hex)
    status = manager.request("C", "GET", "/admin/").status
    check(
        "the manager signed in on A is signed out on C", status == 302, f"GET /admin/ -> {status}"
    )
    stranger = Browser("127.0.0.64")
    form = {**stranger.request("A", "GET", "/admin/login").hidden(), "email": "x@bench.vn"}
    reply = stranger.request("C", "POST", "/admin/login", form={**form, "password": "x" * 9})
    check(
        "a form from A posted to C is refused as expired (CSRF token signed with A's key)",
        reply.status == 400 and "Trang đã hết hạn" in reply.text,
        f"-> {reply.status}",
    )
    status = Browser("127.0.0.73").request("C", "GET", f"/v/{spare}").status
    check(
        "an unused visit code is unknown on C (its signature fails)", status == 404, f"-> {status}"
    )
    citizen = Browser("127.0.0.74")
    rid = rate_phone(citizen, "A", cluster.service, "4")[1]
    status = citizen.request("C", "GET", f"/vi/r/{rid}/more").status
    check("a citizen's next page on C after rating on A is 404", status == 404, f"-> {status}")
    kept = (device.request("C", "GET", "/k/").status, cluster.summary("C") > 0)
    check(
        "unaffected: kiosk cookies and API tokens (stored as SHA-256, not signed)",
        kept == (200, True),
        f"kiosk /k/ -> {kept[0]}, summary API answers: {kept[1]}",
    )
    cluster.halt("C")


def check_rolling_restart(cluster: Cluster, token: str) -> None:
    """Server A stops for an upgrade: the balancer sends everything to B; A comes back."""
    print("\nOne server at a time (an upgrade): A stopped, then started again")
    cluster.halt("A")
    before = SEEN.copy()
    pages = [Browser("127.0.0.91").request("LB", "GET", "/vi/").status for _ in range(10)]
    status = post_rating("LB", token, cluster.service, minutes_ago=0.5, value=4)
    served = SEEN - before
    check(
        "with A down, 10 pages and a kiosk rating through the balancer all succeed",
        pages == [200] * 10 and status == 201,
        f"pages {Counter(pages)}, rating {status}, answered by {dict(served)}",
    )
    cluster.serve("A")
    before, waited = SEEN.copy(), time.monotonic()
    while "A" not in SEEN - before and time.monotonic() - waited < 30:
        Browser("127.0.0.92").request("LB", "GET", "/healthz")
        time.sleep(0.5)
    served = SEEN - before
    check(
        "A back: the balancer sends to it again once fail_timeout (10 s) has passed",
        "A" in served,
        f"{time.monotonic() - waited:.1f} s after A answered; meanwhile {dict(served)}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pg-server", default=os.environ.get("SURVEY_TEST_DATABASE_URL") or PG_SERVER
    )
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    if args.redis_url.rstrip("/").endswith("/3"):
        raise SystemExit("Redis DB 3 belongs to the tests: choose another")
    folder = Path(tempfile.mkdtemp(prefix="two-servers-"))
    name = f"survey_two_servers_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(args.pg_server).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.pg_server).set(database=name).render_as_string(hide_password=False)
    store = redis.Redis.from_url(args.redis_url)
    store.flushdb()
    env = {
        "SURVEY_DATABASE_URL": url,
        "SURVEY_SECRET_KEY": uuid.uuid4().hex,
        "SURVEY_RATELIMIT_STORAGE_URL": args.redis_url,
        "SURVEY_PUBLIC_URL": f"https://localhost:{PORTS['LB']}",
        "SURVEY_TRUSTED_HOSTS": "localhost,127.0.0.1",
        "SURVEY_PROXY_FIX_X_FOR": "1",
        "SURVEY_PROXY_FIX_X_PROTO": "1",
        "SURVEY_INSTANCE_PATH": str(folder / "instance-cli"),
    }
    cluster, nginx = Cluster(env, folder, url, args.redis_url), None
    print(
        f"PostgreSQL database {name}, Redis {args.redis_url}, nginx https://localhost:{PORTS['LB']}"
    )
    print(
        f"servers A :{PORTS['A']} and B :{PORTS['B']} (1 worker each), C :{PORTS['C']} (other key)"
    )
    try:
        prepare(cluster)
        nginx = start_nginx(folder / "nginx")
        check_edge()
        manager = check_sessions(cluster)
        check_signin_limit(cluster)
        spare = check_visit_code(cluster)
        device = check_kiosk(cluster)
        token = check_summary(cluster)
        check_other_key(cluster, manager, device, spare)
        check_rolling_restart(cluster, token)
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGTERM)
            nginx.wait(timeout=10)
        stop(list(cluster.processes.values()))
        store.flushdb()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    through = sum(SEEN.values())
    print(f"\nThrough the balancer: {through} requests, answered by {dict(sorted(SEEN.items()))}")
    print(f"{sum(RESULTS)} of {len(RESULTS)} checks held")
    sys.exit(0 if all(RESULTS) else 1)


if __name__ == "__main__":
    main()
