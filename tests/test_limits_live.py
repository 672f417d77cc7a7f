"""Every limit holds across real processes: 2 gunicorn workers on the default SQLite install,
and 2 servers sharing Redis (DB 3, flushed before and after). The servers are started by the
bench's own helpers (bench/phone_abuse.py) on loopback ports 18620-18629.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
import redis

from bench.phone_abuse import REDIS_URL, Browser, count_flags, deployment, script, stop
from tests import servers
from tests.builders import response_body

TURN = itertools.count()
LIMITS = {"SURVEY_KIOSK_RATE_LIMIT": "10 per minute"}


# One deployment of each kind serves the module's tests: each test has addresses, a kiosk or a
# script of its own, so none spends another's budget.
@pytest.fixture(scope="module", params=["sqlite", "redis"])
def served(request, tmp_path_factory):
    kind = request.param
    if kind == "redis":
        servers.redis_or_skip(REDIS_URL)  # skipped without Redis, except under .ci/run
    ports = [18620, 18621] if kind == "sqlite" else [18622, 18623]
    found = deployment(kind, tmp_path_factory.mktemp(kind), ports, extra=LIMITS)
    yield kind, found
    stop(found.processes)
    if kind == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()


def kiosk_token(found) -> str:
    env = {**os.environ, **found.env}
    done = servers.cli("kiosk", "create", "--unit", found.unit, "--name", "Sảnh", env=env)
    return done.stdout.strip().splitlines()[-1]


def post_json(servers: list[int], path: str, body: dict, authorization: str) -> int:
    """POST JSON to the next server in turn."""
    conn = http.client.HTTPConnection("127.0.0.1", servers[next(TURN) % len(servers)], timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": authorization}
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def test_sign_in_is_limited_to_20_per_address_across_workers_and_servers(served):
    _kind, found = served
    browser = Browser("127.0.0.40", found.servers)
    page = browser.request("GET", "/admin/login")[1]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "email": "x@y.vn", "password": "wrong-password"}
    statuses = [browser.request("POST", "/admin/login", form)[0] for _ in range(24)]
    assert statuses == [400] * 20 + [429] * 4
    other = Browser("127.0.0.41", found.servers, cookies=dict(browser.cookies))
    assert other.request("POST", "/admin/login", form)[0] == 400  # another address is not held


def test_the_kiosk_limit_is_one_budget_whatever_the_spacing_of_the_header(served):
    _kind, found = served
    token = kiosk_token(found)
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

    def send(header: str) -> int:
        body = response_body(service=found.service, captured_at=at)
        return post_json(found.servers, "/api/v1/responses", body, header)

    statuses = [send(f"Bearer {token}") for _ in range(10)]
    statuses += [send(f"Bearer     {token}"), send(f"bearer {token}")]
    assert statuses == [201] * 10 + [429, 429]


def test_a_paced_script_gets_30_counted_across_workers_and_servers(served):
    kind, found = served
    out = script(
        found.servers,
        found.service,
        found.clock,
        address="127.0.0.43",
        keep_cookies=False,
        read=3.5,
        gap=2.5,
        attempts=45,
    )
    count_flags(found.database_url, out)
    assert (out.accepted, out.flags) == (45, {"": 30, "address": 15})
    if kind == "redis":
        assert redis.Redis.from_url(REDIS_URL).keys("survey:address:*")  # held in Redis
