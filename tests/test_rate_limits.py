"""Rate limits keyed by device, not by address: a whole centre shares one public IP."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis

from survey import kiosks
from survey.extensions import limiter
from survey.models import utcnow


def body() -> dict:
    return {
        "id": str(uuid.uuid4()),
        "service": "HT-KHAISINH",
        "answers": {"OV": 5},
        "captured_at": (utcnow() - timedelta(minutes=1)).isoformat(),
    }


@pytest.fixture(params=["memory://", "redis://127.0.0.1:6379/15"])
def limited_app(app, request):
    if request.param.startswith("redis"):
        redis.Redis.from_url(request.param).flushdb()
    app.config.update(SURVEY_KIOSK_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=request.param)
    limiter.init_app(app)
    yield app, request.param
    if request.param.startswith("redis"):
        redis.Redis.from_url(request.param).flushdb()


def test_each_kiosk_has_its_own_budget_behind_one_address(limited_app):
    app, storage = limited_app
    with app.app_context():
        first = kiosks.create_kiosk(unit="XA1", counter=None, name="A", actor="t")[1]
        second = kiosks.create_kiosk(unit="XA1", counter=None, name="B", actor="t")[1]
    client = app.test_client()  # every request comes from the same address

    def send(token):
        return client.post(
            "/api/v1/responses", json=body(), headers={"Authorization": f"Bearer {token}"}
        ).status_code

    assert [send(first) for _ in range(4)] == [201, 201, 201, 429]
    assert send(second) == 201  # the other kiosk is not punished for the first one
    if storage.startswith("redis"):
        keys = redis.Redis.from_url(storage).keys("*")
        assert any(b"device:" in key for key in keys)  # shared by every app server
