"""Property tests of the validation the pages and the API share (survey/responses.py and
survey/submissions.py): for any input, no exception but Invalid escapes (so no 500), a refused
input stores nothing, and an accepted one stores exactly one response, rollups in step."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from survey import catalogue, kiosks, questionnaire, rollups, submission_write, submissions
from survey.extensions import db
from survey.models import Answer, Response, utcnow
from survey.responses import Invalid
from tests.builders import bearer, kiosk_token

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Text with control characters, NUL, lone surrogates and Khmer/Vietnamese letters.
TEXT = st.text(st.characters(categories=["Cc", "Cs", "Lo", "Ll", "Nd", "Zs", "Mn"]), max_size=12)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True), TEXT)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
CODES = ["OV", "TC1", "TC2", "TT1", "CC1", "XX9", "", "EX1"]
ANSWERS = st.dictionaries(
    st.sampled_from(CODES) | TEXT,
    st.integers(0, 6) | st.none() | st.sampled_from(["3", "na", "", "4.0"]) | JSON,
    max_size=4,
)


def _moment(minutes: int) -> str:
    return (utcnow() + timedelta(minutes=minutes)).isoformat()


def _mostly(good, bad):
    """Good values three times in four, so that accepted payloads are common too."""
    return st.integers(0, 3).flatmap(lambda n: bad if n == 3 else good)


PAYLOADS = st.fixed_dictionaries(
    {
        "id": _mostly(st.uuids().map(str), JSON),
        "service": _mostly(st.sampled_from(["HT-KHAISINH", "CT-BANSAO"]), JSON | st.just("CT-CU")),
        "captured_at": _mostly(
            st.integers(-40_000, 4).map(_moment),
            st.sampled_from(["0001-01-01T00:00:00+07:00", "9999-12-31T23:59:59-07:00", "x"]) | JSON,
        ),
        "answers": _mostly(
            st.fixed_dictionaries({"OV": st.integers(1, 5)}, optional={"TC1": st.integers(1, 5)}),
            ANSWERS | JSON,
        ),
    },
    optional={
        "counter": _mostly(st.sampled_from(["XA1-Q01", None]), st.just("CTR-Q01") | JSON),
        "locale": _mostly(st.sampled_from(["vi", "en", "km"]), st.just("fr") | JSON),
        "expectations": _mostly(
            st.dictionaries(st.sampled_from(["1", "2"]), st.integers(1, 4)),
            st.dictionaries(st.sampled_from(["1", "9"]), st.integers(0, 5)) | JSON,
        ),
        "comment": _mostly(st.text("abc ànhểល្អ\n", max_size=30) | st.none(), TEXT | JSON),
        "status": _mostly(st.sampled_from(["partial", "complete"]), st.just("other") | JSON),
        "profile": _mostly(st.none(), st.dictionaries(st.sampled_from(["gender", "x"]), TEXT)),
        "contact": _mostly(st.none(), st.fixed_dictionaries({"phone": TEXT}) | JSON),
    },
)
BODIES = _mostly(PAYLOADS, JSON)


def stored() -> tuple[int, int, int]:
    count = db.session.scalar
    return (
        count(select(func.count()).select_from(Response)),
        count(select(func.count()).select_from(Response).filter_by(status="complete")),
        count(select(func.count()).select_from(Answer)),
    )


@pytest.fixture
def kiosk(app):
    """A kiosk's token."""
    with app.app_context():
        _device, token = kiosks.create_kiosk(unit="XA1", counter="XA1-Q01", name="k", actor="t")
        return token


def test_any_api_payload_is_refused_whole_or_stored_once(app, kiosk):
    with app.app_context(), app.test_request_context():
        q = questionnaire.active()
        unit = catalogue.find_unit("XA1")

        # About one body in six is stored: 100 examples make the write path run often.
        @settings(SETTINGS, max_examples=100)
        @given(data=BODIES)
        def check(data):
            device = kiosks.device_for_write(kiosk, service_code=None, public_id=None)[0]
            before = stored()
            known = isinstance(data, dict) and submissions.find_response(str(data.get("id")))
            try:
                sub = submissions.check_submission(q, data, unit=unit)
            except Invalid as exc:
                assert exc.errors and all(str(e.message) for e in exc.errors)
                assert stored() == before
                return
            status = submission_write.record_submission(
                q, sub, unit=unit, channel="kiosk", kiosk=device
            )
            after = stored()
            if known:
                assert status in ("duplicate", "updated") and after[0] == before[0]
                return
            seen.append(status)
            assert status == "created" and after[0] == before[0] + 1
            assert after[1] == before[1] + (1 if sub.complete else 0)
            assert after[2] == before[2] + len(sub.answers)

        seen: list[str] = []
        check()
        assert len(seen) >= 5  # the write path ran, not only the refusals
        assert rollups.stored() == rollups.recompute()


def test_any_json_body_gets_a_4xx_or_is_stored(app, client, kiosk):
    with app.app_context():
        token = kiosk_token(counter=None, name="k2")
    headers = bearer(token)

    @SETTINGS
    @given(data=BODIES, batch=st.booleans())
    def check(data, batch):
        with app.app_context():
            before = stored()
        body = json.dumps({"responses": [data]} if batch else data).encode("utf-8", "surrogatepass")
        path = "/api/v1/responses/batch" if batch else "/api/v1/responses"
        reply = client.post(path, data=body, content_type="application/json", headers=headers)
        assert reply.status_code < 500, reply.text
        result = reply.get_json()
        status = result["results"][0]["status"] if batch and reply.status_code == 200 else None
        with app.app_context():
            after = stored()
        if reply.status_code >= 400 or status in ("invalid", "rejected", "duplicate"):
            assert after == before
        elif reply.status_code == 201 or status == "created":
            assert after[0] == before[0] + 1

    check()


# A form is bytes: a browser cannot send a lone surrogate (bad UTF-8 is refused at the edge).
FORM_TEXT = st.text(st.characters(categories=["Cc", "Lo", "Ll", "Nd", "Zs", "Mn"]), max_size=12)
FORM = st.dictionaries(
    st.sampled_from(["OV", "rid", "counter", "unit", "via", "TC1", "XX1", "comment"]) | FORM_TEXT,
    FORM_TEXT | st.sampled_from(["1", "5", "6", "na", "", str(uuid.uuid4())]),
    max_size=5,
)


def test_any_phone_form_gets_a_4xx_or_stores_one_response(app, client):
    @SETTINGS
    @given(form=FORM, final=FORM)
    def check(form, final):
        with app.app_context():
            before = stored()
        reply = client.post("/vi/s/HT-KHAISINH", data=form)
        assert reply.status_code < 500, reply.text
        with app.app_context():
            after = stored()
        if reply.status_code != 303:
            assert after == before
            return
        rid = re.search(r"/r/([0-9a-f-]{36})/", reply.headers["Location"])
        if rid is None or after[0] == before[0]:  # the same rid again: not a second response
            return
        assert after[0] == before[0] + 1 and after[1] == before[1]
        done = client.post(f"/vi/r/{rid.group(1)}/comment", data=final)
        assert done.status_code < 500, done.text
        with app.app_context():
            finished = stored()
        assert finished[0] == after[0]
        assert finished[1] == after[1] + (1 if done.status_code == 303 else 0)

    check()
