"""Kiosk devices and the write API: tokens, idempotency under concurrency, validation."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey import kiosks
from survey.extensions import db
from survey.models import Answer, KioskDevice, Response, utcnow
from tests.builders import bearer, response_body


@pytest.fixture
def device(app, runner):
    result = runner.invoke(
        args=["kiosk", "create", "--unit", "XA1", "--counter", "XA1-Q01", "--name", "Ki-ốt sảnh"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "/k/activate?token=" + lines[-1] in lines[1]
    return lines[-1]


def payload(**changes) -> dict:
    """A full rating: counter, Khmer, criteria answered and not, an expectation, a comment."""
    full = {
        "counter": "XA1-Q01",
        "locale": "km",
        "answers": {"OV": 5, "TC1": 4, "TT2": None},
        "expectations": {"1": 3},
        "comment": "ល្អ",
        "status": "complete",
    }
    return response_body(minutes_ago=3, **{**full, **changes})


def post(client, token, body, path="/api/v1/responses"):
    return client.post(path, json=body, headers=bearer(token))


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Response)),
            db.session.scalar(select(func.count()).select_from(Answer)),
        )


def test_create_then_duplicate(app, client, device):
    body = payload()
    first = post(client, device, body)
    assert first.status_code == 201 and first.get_json() == {"id": body["id"], "status": "created"}
    again = post(client, device, {**body, "answers": {"OV": 1}})
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert counts(app) == (1, 4)
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert (response.channel, response.unit.code, response.counter.code) == (
            "kiosk",
            "XA1",
            "XA1-Q01",
        )
        assert response.captured_at < response.received_at
        assert db.session.scalar(select(Answer.value).filter_by(item="OV")) == 5


def test_a_partial_response_is_completed_by_the_same_id(app, client, device):
    body = payload(answers={"OV": 4}, status="partial", comment=None)
    assert post(client, device, body).get_json()["status"] == "created"
    done = post(client, device, {**body, "answers": {"OV": 4, "CC1": 5}, "status": "complete"})
    assert done.get_json()["status"] == "updated"
    with app.app_context():
        assert db.session.scalar(select(Response.status)) == "complete"
    assert counts(app) == (1, 3)  # OV and EX1, then CC1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"answers": {"OV": 6}}, "answers.OV"),
        ({"answers": {"XX1": 3}}, "answers.XX1"),
        ({"expectations": {"1": 5}}, "answers.EX1"),
        ({"service": "CT-CU"}, "service"),
        ({"service": "NOPE"}, "service"),
        ({"counter": "CTR-Q01"}, "counter"),
        ({"id": "not-a-uuid"}, "id"),
        ({"captured_at": timedelta(minutes=6)}, "captured_at"),  # ahead of the server clock
        ({"captured_at": -timedelta(days=31)}, "captured_at"),
        ({"captured_at": "2025-01-01T10:00:00"}, "captured_at"),
        ({"comment": "x" * 10_000}, "comment"),
        ({"contact": {"phone": "0912345678", "consent": False}}, "contact"),
        ({"profile": {"gender": "robot"}}, "profile"),
    ],
)
def test_invalid_payloads_are_refused_whole(app, client, device, change, field):
    if isinstance(change.get("captured_at"), timedelta):  # relative to when the test runs
        change = {"captured_at": (utcnow() + change["captured_at"]).isoformat()}
    reply = post(client, device, payload(**change))
    assert reply.status_code == 422
    assert field in [e["field"] for e in reply.get_json()["errors"]]
    assert counts(app) == (0, 0)


def test_messages_follow_the_requests_language(client, device):
    reply = client.post(
        "/api/v1/responses?lang=vi",
        json=payload(service="NOPE"),
        headers=bearer(device),
    )
    assert reply.get_json()["errors"][0]["message"] == "Thủ tục không tồn tại hoặc đã ngừng."


def test_bad_token_and_revoked_kiosk_are_refused(app, client, device):
    assert post(client, "kd_wrong", payload()).status_code == 401
    with app.app_context():
        kiosks.revoke_kiosk(db.session.scalar(select(KioskDevice)), actor="test")
    reply = post(client, device, payload())
    assert reply.status_code == 401 and reply.get_json()["errors"]
    assert (
        client.post("/api/v1/kiosk/heartbeat", json={}, headers=bearer(device)).status_code == 401
    )
    assert counts(app) == (0, 0)


def test_batch_answers_per_item(app, client, device):
    good, bad = payload(), payload(answers={"OV": 9})
    reply = post(client, device, {"responses": [good, bad, good]}, "/api/v1/responses/batch")
    assert reply.status_code == 200
    assert [r["status"] for r in reply.get_json()["results"]] == ["created", "invalid", "duplicate"]
    assert counts(app)[0] == 1
    empty = post(client, device, {"responses": []}, "/api/v1/responses/batch")
    assert empty.status_code == 422


def test_heartbeat_records_queue_depth(app, client, device):
    reply = client.post(
        "/api/v1/kiosk/heartbeat",
        json={"app_version": "1.2", "queued": 3, "dead_letters": 1},
        headers=bearer(device),
    )
    assert reply.get_json()["counter"] == "XA1-Q01"
    with app.app_context():
        kiosk = db.session.scalar(select(KioskDevice))
        assert (kiosk.app_version, kiosk.queued, kiosk.dead_letters) == ("1.2", 3, 1)
        assert not kiosks.is_offline(kiosk, now=utcnow())


def test_ten_identical_posts_at_once_store_one_response(app, live_server, device):
    body = json.dumps(payload()).encode()
    results: list[int] = []

    def send():
        request = urllib.request.Request(
            live_server + "/api/v1/responses",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {device}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                results.append(reply.status)
        except urllib.error.HTTPError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] * 9 + [201]
    assert counts(app) == (1, 4)
