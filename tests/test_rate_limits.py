"""Rate limits keyed by device, not by address: a whole centre shares one public IP."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from survey.extensions import db, limiter
from survey.models import Response, utcnow
from tests import servers
from tests.builders import bearer, kiosk_token, response_body


@pytest.fixture(params=["memory://", "redis://127.0.0.1:6379/15"])
def limited_app(app, request):
    if request.param.startswith("redis"):
        servers.redis_or_skip(request.param).flushdb()  # skipped without Redis, but in .ci/run
    app.config.update(SURVEY_KIOSK_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=request.param)
    limiter.init_app(app)
    yield app, request.param
    if request.param.startswith("redis"):
        redis.Redis.from_url(request.param).flushdb()


def test_each_kiosk_has_its_own_budget_behind_one_address(limited_app):
    app, storage = limited_app
    with app.app_context():
        first = kiosk_token(counter=None, name="A")
        second = kiosk_token(counter=None, name="B")
    client = app.test_client()  # every request comes from the same address

    def send(token):
        return client.post(
            "/api/v1/responses", json=response_body(), headers=bearer(token)
        ).status_code

    assert [send(first) for _ in range(4)] == [201, 201, 201, 429]
    assert send(second) == 201  # the other kiosk is not punished for the first one
    if storage.startswith("redis"):
        keys = redis.Redis.from_url(storage).keys("*")
        assert any(b"device:" in key for key in keys)  # shared by every app server


def test_a_kiosk_past_its_budget_is_told_when_to_send_again(limited_app):
    """The 429 names the wait (the rest of the window: the kiosk's queue waits that long) in
    JSON, and a batch spends the same budget as single ratings."""
    app, _storage = limited_app
    with app.app_context():
        token = kiosk_token(counter=None, name="A")
    client = app.test_client()
    for _ in range(2):
        reply = client.post("/api/v1/responses", json=response_body(), headers=bearer(token))
        assert reply.status_code == 201
    batch = {"responses": [response_body()]}
    assert (
        client.post("/api/v1/responses/batch", json=batch, headers=bearer(token)).status_code == 200
    )
    refused = client.post("/api/v1/responses/batch", json=batch, headers=bearer(token))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # the window is a minute
    assert refused.json["errors"][0]["message"].endswith("Vui lòng chờ một phút rồi thử lại.")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 3


def test_the_bearer_header_is_parsed_once_so_spacing_makes_no_new_budget(limited_app):
    app, _storage = limited_app
    with app.app_context():
        token = kiosk_token(counter=None, name="A")
    client = app.test_client()

    def send(header):
        return client.post(
            "/api/v1/responses", json=response_body(), headers={"Authorization": header}
        )

    assert [send(f"Bearer {token}").status_code for _ in range(3)] == [201] * 3
    assert send(f"Bearer     {token}").status_code == 429
    assert send(f"bearer {token}").status_code == 429


def kiosk_sends(app, *, count: int, spacing: timedelta, same_answers: bool) -> list:
    """A kiosk sending `count` ratings at once, their capture times `spacing` apart in the past."""
    with app.app_context():
        token = kiosk_token(counter=None, name="K")
    client, ids = app.test_client(), []
    for n in range(count):
        item = {**response_body(), "answers": {"OV": 5 if same_answers else 1 + n % 5}}
        item["captured_at"] = (utcnow() - timedelta(days=1) + n * spacing).isoformat()
        reply = client.post("/api/v1/responses", json=item, headers=bearer(token))
        assert reply.status_code == 201
        ids.append(item["id"])
    with app.app_context():
        flags = dict(db.session.execute(select(Response.public_id, Response.flag_reason)).all())
    return [flags[i] for i in ids]


def test_a_kiosk_choosing_its_capture_times_cannot_outrun_its_receive_budget(app):
    app.config["SURVEY_KIOSK_RECEIVE_LIMIT"] = "5 per hour"
    flags = kiosk_sends(app, count=8, spacing=timedelta(minutes=10), same_answers=False)
    assert flags == [None] * 5 + ["burst"] * 3


def test_a_streak_received_at_once_is_flagged_whatever_its_capture_times(app):
    flags = kiosk_sends(app, count=8, spacing=timedelta(hours=1), same_answers=True)
    assert flags == [None] * 7 + ["streak"]


def test_the_sqlite_file_store_serves_the_limits_strategies(tmp_path):
    from limits import parse
    from limits.storage import storage_from_string
    from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

    store = storage_from_string(f"sqlitefile:///{tmp_path}/limits.db")
    again = storage_from_string(f"sqlitefile:///{tmp_path}/limits.db")  # another worker
    three = parse("3 per minute")
    for strategy in (FixedWindowRateLimiter, MovingWindowRateLimiter):
        first, second = strategy(store), strategy(again)
        hits = [(first if n % 2 else second).hit(three, strategy.__name__) for n in range(5)]
        assert hits == [True, True, True, False, False]
    assert store.check() and store.reset() >= 1
    assert FixedWindowRateLimiter(again).hit(three, "FixedWindowRateLimiter")


def test_the_sqlite_file_store_sweeps_keys_that_never_come_back(tmp_path, monkeypatch):
    from limits.storage import storage_from_string

    from survey import limitstore

    monkeypatch.setattr(limitstore, "SWEEP_EVERY", 3)
    store = storage_from_string(f"sqlitefile:///{tmp_path}/limits.db")
    store.incr("old-hour", 60, now=0)  # expired long ago
    store.acquire_entry("old-address", 30, 600, now=0)
    store.incr("a", 60)
    store.incr("b", 60)  # the third write sweeps
    conn = store._conn()
    assert conn.execute("SELECT key FROM counters ORDER BY key").fetchall() == [("a",), ("b",)]
    assert conn.execute("SELECT COUNT(*) FROM entries").fetchone() == (0,)


def test_the_check_before_every_request_goes_only_while_every_limit_is_a_routes(app, monkeypatch):
    from flask import Flask

    from survey import abuse
    from survey.extensions import limiter

    hook = limiter._check_request_limit
    assert hook not in app.before_request_funcs.get(None, [])  # the app's limits: routes' only
    for kind in ("_default_limits", "_application_limits", "_blueprint_limits"):
        other = Flask(__name__)
        other.before_request(hook)
        with monkeypatch.context() as patch:
            patch.setattr(limiter.limit_manager, kind, {"bp": "a limit"})
            abuse.route_limits_only(other)
        assert other.before_request_funcs[None] == [hook], kind
