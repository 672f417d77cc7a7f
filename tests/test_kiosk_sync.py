"""The kiosk write API keeps its promises: a definite status per item, one transaction per
write, no 500 for odd input, and a kiosk writes only its own ratings (issue 8)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from survey import accounts, questionnaire, responses, rollups, submission_write
from survey.extensions import db
from survey.models import KioskDevice, Response
from tests import test_kiosk_api as kiosk_api
from tests.builders import bearer, make_user
from tests.test_kiosk_api import counts, payload, post

device = kiosk_api.device  # the fixture: a kiosk at XA1, counter XA1-Q01

BATCH = "/api/v1/responses/batch"


def send_raw(client, token, body: str, path="/api/v1/responses"):
    return client.post(
        path,
        data=body.encode("utf-8", "surrogatepass"),
        content_type="application/json",
        headers=bearer(token),
    )


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+07:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-07:00",
        "9999-12-31T23:59:59.999999+00:00",
    ],
)
def test_capture_time_at_the_calendars_ends_is_refused(app, client, device, moment):
    reply = post(client, device, payload(captured_at=moment))
    assert reply.status_code == 422
    assert [e["field"] for e in reply.get_json()["errors"]] == ["captured_at"]
    batch = post(client, device, {"responses": [payload(captured_at=moment)]}, BATCH)
    assert batch.status_code == 200 and batch.get_json()["results"][0]["status"] == "invalid"
    assert counts(app) == (0, 0)


@pytest.mark.parametrize(
    "path", ["/api/v1/responses", BATCH, "/api/v1/kiosk/heartbeat", "/api/v1/visit-codes"]
)
def test_deeply_nested_json_is_a_400(app, client, device, path):
    if path == "/api/v1/visit-codes":
        with app.app_context():
            device = accounts.create_api_token(make_user("admin@ag.vn", "admin"), actor="t")
    reply = send_raw(client, device, "[" * 10_000 + "]" * 10_000, path)
    assert reply.status_code == 400
    assert reply.get_json()["errors"][0]["message"]
    nested = send_raw(client, device, json.dumps({"responses": [[[[[[[[[]]]]]]]]]}), path)
    assert nested.status_code == 400


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"comment": "ch\\ud800ào"', "comment"),
        ('"comment": "a\\u0000b"', "comment"),
        ('"service": "\\udfff"', "service"),
        ('"answers": {"OV\\ud83d": 5}', "answers"),
        ('"profile": {"gender": "\\u0000"}', "profile"),
    ],
)
def test_lone_surrogates_and_nul_are_refused_with_a_clear_message(app, client, device, raw, field):
    body = json.dumps(payload(comment=None, profile=None))[:-1] + ", " + raw + "}"
    reply = send_raw(client, device, body)
    assert reply.status_code == 422
    error = reply.get_json()["errors"][0]
    assert error["field"] == field
    assert error["message"] == "Văn bản có ký tự không lưu được (ký tự NUL hoặc surrogate đơn lẻ)."
    assert counts(app) == (0, 0)
    good = payload()
    batch = send_raw(
        client, device, '{"responses": [' + body + ", " + json.dumps(good) + "]}", BATCH
    )
    assert [r["status"] for r in batch.get_json()["results"]] == ["invalid", "created"]
    assert counts(app)[0] == 1


def test_heartbeat_and_visit_codes_refuse_unstorable_text(client, device):
    reply = send_raw(client, device, '{"app_version": "1\\ud800"}', "/api/v1/kiosk/heartbeat")
    assert reply.status_code == 422
    assert client.get("/api/v1/summary?from=2026-01-01&to=2026-01-31&unit=%00").status_code == 400


def _phone_rating(unit_code: str, counter: str | None, channel: str = "qr") -> str:
    """A partial rating started on a phone (or another device) at `unit_code`."""
    from survey import catalogue

    rid = str(uuid.uuid4())
    responses.start_response(
        public_id=rid,
        questionnaire=questionnaire.active(),
        service=catalogue.find_service("HT-KHAISINH"),
        unit=catalogue.find_unit(unit_code),
        counter=catalogue.find_counter(counter),
        channel=channel,
        locale="vi",
        answers={"OV": 2},
    )
    return rid


@pytest.mark.parametrize(
    ("unit", "counter", "channel"),
    [("CTR", "CTR-Q01", "qr"), ("XA1", "XA1-Q01", "qr"), ("CTR", "CTR-Q01", "kiosk")],
)
def test_a_kiosk_cannot_complete_a_rating_it_does_not_own(
    app, client, device, unit, counter, channel
):
    with app.app_context():
        rid = _phone_rating(unit, counter, channel)
    body = payload(id=rid, answers={"OV": 5, "TC1": 5}, comment="không phải của tôi")
    reply = post(client, device, body)
    assert reply.status_code == 422
    assert reply.get_json()["errors"][0]["field"] == "id"
    batch = post(client, device, {"responses": [body]}, BATCH).get_json()["results"]
    assert batch[0]["status"] == "invalid"
    with app.app_context():
        stored = db.session.scalar(select(Response))
        assert (stored.status, stored.comment, len(stored.answers)) == ("partial", None, 1)


def test_a_kiosk_completes_its_own_units_kiosk_rating(app, client, device):
    with app.app_context():
        rid = _phone_rating("XA1", "XA1-Q01", "kiosk")  # started on the kiosk's pages
    reply = post(client, device, payload(id=rid, answers={"OV": 2, "TC1": 4}))
    assert reply.get_json()["status"] == "updated"


@pytest.fixture
def commits(app):
    seen: list[int] = []

    def count(_session):
        seen.append(1)

    event.listen(Session, "after_commit", count)
    yield seen
    event.remove(Session, "after_commit", count)


def test_an_api_write_is_one_transaction(app, client, device, commits):
    reply = post(client, device, payload())
    assert reply.status_code == 201
    # Response, answers, rollups and the kiosk's last rating together: on PostgreSQL one
    # statement, a transaction of its own on the request's autocommit connection (no session
    # commit); elsewhere one commit of the session.
    postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    assert len(commits) == (0 if postgresql else 1)
    partial = payload(status="partial", answers={"OV": 4}, comment=None)
    post(client, device, partial)
    commits.clear()
    post(client, device, {**partial, "answers": {"TC1": 3}, "status": "complete"})
    assert len(commits) == 1
    with app.app_context():
        assert rollups.stored() == rollups.recompute()


def test_a_failure_half_way_stores_nothing_and_rejects_the_item(app, client, device, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    # SQLite: the kiosk's last rating time, the response and its answers are written, then its
    # counts fail. PostgreSQL writes all of them in one statement, which fails.
    monkeypatch.setattr(submission_write.rollups, "count_new", broken)
    monkeypatch.setattr(submission_write.rollup_write, "insert_counted", broken)
    reply = post(client, device, {"responses": [payload()]}, BATCH)
    result = reply.get_json()["results"][0]
    assert result["status"] == "rejected" and result["errors"][0]["message"]
    assert counts(app) == (0, 0)  # not the response without its counts
    with app.app_context():
        assert rollups.stored() == rollups.recompute() == {}
        assert db.session.scalar(select(KioskDevice.last_rating_at)) is None


def test_a_database_outage_answers_503_with_retry_after(app, client, device, monkeypatch):
    def away(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(submission_write, "record_submission", away)
    reply = post(client, device, {"responses": [payload(), payload()]}, BATCH)
    assert reply.status_code == 503
    assert int(reply.headers["Retry-After"]) > 0
    assert reply.get_json()["errors"][0]["message"]
    single = post(client, device, payload())
    assert single.status_code == 503 and single.headers["Retry-After"]


def test_every_write_gives_its_connections_back_to_the_pool(app, client, device):
    partial = payload(status="partial", answers={"OV": 4}, comment=None)
    for body in (payload(), partial, {**partial, "status": "complete"}, partial):
        assert post(client, device, body).status_code in (200, 201)
    assert post(client, device, {"responses": [payload(), partial]}, BATCH).status_code == 200
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
