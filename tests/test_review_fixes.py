"""Hardening: wrong types never give a 500, a kiosk forgets the last citizen, small counters
stay hidden behind any filter, sessions are stored hashed."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Response, UserSession
from tests.builders import bearer, kiosk_token, make_user, rate, response_body, sign_in


@pytest.fixture
def token(app):
    with app.app_context():
        return kiosk_token(name="K")


def body(**changes) -> dict:
    return response_body(ov=4, **changes)


@pytest.mark.parametrize(
    "change",
    [
        {"answers": [5]},
        {"expectations": "ab"},
        {"comment": 5},
        {"counter": ["x"]},
        {"profile": {"gender": ["female"]}},
        {"service": 7},
        {"captured_at": 12},
    ],
)
def test_wrong_types_are_a_422_not_a_500(client, token, change):
    reply = client.post("/api/v1/responses", json=body(**change), headers=bearer(token))
    assert reply.status_code == 422 and reply.get_json()["errors"]


def test_a_bad_batch_item_does_not_block_the_others(app, client, token):
    items = [body(), body(answers=[1]), body()]
    reply = client.post(
        "/api/v1/responses/batch",
        json={"responses": items},
        headers=bearer(token),
    )
    assert [r["status"] for r in reply.get_json()["results"]] == ["created", "invalid", "created"]
    list_body = client.post("/api/v1/responses/batch", json=[1, 2], headers=bearer(token))
    assert list_body.status_code == 422


@pytest.mark.parametrize("data", [{"queued": "abc"}, {"queued": 10**30}, [1], {"queued": -1}])
def test_bad_heartbeats_are_refused(client, token, data):
    reply = client.post("/api/v1/kiosk/heartbeat", json=data, headers=bearer(token))
    assert reply.status_code == 422


def test_a_queued_comment_completes_the_partial_response(app, client, token):
    first = body(status="partial")
    client.post("/api/v1/responses", json=first, headers=bearer(token))
    done = client.post(
        "/api/v1/responses",
        json={**first, "answers": {}, "comment": "Tốt", "status": "complete"},
        headers=bearer(token),
    )
    assert done.get_json()["status"] == "updated"
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert (response.status, response.comment) == ("complete", "Tốt")
    empty_new = client.post("/api/v1/responses", json=body(answers={}), headers=bearer(token))
    assert empty_new.status_code == 422


def test_the_kiosk_forgets_the_last_citizen_at_the_start(app, token):
    client = app.test_client()
    client.post("/k/activate", data={"token": token})
    page = client.get("/k/vi/s/HT-KHAISINH").text
    rid = page.split('name="rid" value="')[1].split('"')[0]
    client.post("/k/vi/s/HT-KHAISINH", data={"rid": rid, "OV": "5"})
    assert client.get(f"/k/vi/r/{rid}/tc").status_code == 200
    client.get("/k/")  # the thank-you page, or the reset, goes back to the start
    assert client.get(f"/k/vi/r/{rid}/tc").status_code == 404


def test_a_counter_with_few_ratings_stays_hidden_behind_a_filter(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        rate(counter="XA1-Q01", answers={"OV": 1}, comment="Chị Lan ở quầy 1")
        from survey import accounts

        api = accounts.create_api_token(accounts.find_user("admin@ag.vn"), actor="t")
    data = client.get(
        "/api/v1/summary?from=2020-01-01&to=2030-12-31&counter=XA1-Q01",
        headers=bearer(api),
    ).get_json()
    assert data["hidden"] is True and data["overall"] is None and data["responses"] == 0
    sign_in(client, "admin@ag.vn")
    page = client.get("/admin/?period=this-year&counter=XA1-Q01").text
    assert "Chị Lan" not in page
    assert "ít hơn 5 đánh giá" in page


def test_sessions_are_stored_hashed(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
    sign_in(client, "admin@ag.vn")
    cookie = client.get_cookie("session").value
    token = app.session_interface.get_signing_serializer(app).loads(cookie)["_user_id"]
    with app.app_context():
        stored = db.session.scalars(select(UserSession.token)).all()
    assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored
