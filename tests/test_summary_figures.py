"""The dashboard and the summary API against an independent recomputation from raw answers.

The database holds `survey seed-demo --responses 20000`; the expected figures are computed
here, straight from the responses and answers and the definitions of SIPAS.md §4, without
the rollups and without survey.sipas.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from survey import accounts, questionnaire
from survey.extensions import db
from survey.models import Answer, Counter, Response, Service, Unit
from tests.builders import PASSWORD, api_json, bearer, make_user, rate, sign_in
from tests.conftest import _empty, build_app

NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
VN = timedelta(hours=7)


@pytest.fixture(scope="module")
def seeded(database_url, tmp_path_factory):
    app = build_app(database_url, tmp_path_factory.mktemp("seeded"))  # its own limits store
    _empty(app)
    with app.app_context():
        from survey import catalogue, demo

        questionnaire.ensure_default()
        catalogue.ensure_demo()
        demo.seed_responses(20000, seed=7, now=NOW)
        make_user("admin@ag.vn", "admin")
        make_user("longxuyen@ag.vn", "manager", ("AG-LONGXUYEN",))
        token = accounts.create_api_token(accounts.find_user("admin@ag.vn"), actor="test")
        raw = _raw()
    yield app, token, raw
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    _empty(app)


def _raw() -> list[dict]:
    """Every unflagged response with its context and answers."""
    answers = defaultdict(dict)
    for response_id, item, value in db.session.execute(
        select(Answer.response_id, Answer.item, Answer.value)
    ):
        answers[response_id][item] = value
    rows = db.session.execute(
        select(
            Response.id,
            Response.captured_at,
            Response.channel,
            Response.flag_reason,
            Service.code,
            Service.field_id,
            Service.agency_id,
            Unit.code,
            Unit.parent_id,
            Counter.code,
        )
        .join(Service, Service.id == Response.service_id)
        .join(Unit, Unit.id == Response.unit_id)
        .outerjoin(Counter, Counter.id == Response.counter_id)
    )
    return [
        {
            "day": (at.astimezone(UTC) + VN).date(),
            "channel": channel,
            "flagged": reason is not None,
            "service": service,
            "unit": unit,
            "counter": counter,
            "field": field_id,
            "agency": agency_id,
            "answers": answers[rid],
        }
        for rid, at, channel, reason, service, field_id, agency_id, unit, _parent, counter in rows
    ]


def expected(raw, q, *, since, until, keep=lambda r: True) -> dict:
    """SIPAS.md §4, computed directly."""
    chosen = [r for r in raw if not r["flagged"] and since <= r["day"] <= until and keep(r)]

    def share(values, good):
        valid = [v for v in values if v is not None]
        return (
            (100 * sum(v in good for v in valid) / len(valid), len(valid)) if valid else (None, 0)
        )

    criteria = {
        c: share([r["answers"][c] for r in chosen if c in r["answers"]], {4, 5}) for c in q.criteria
    }
    elements = {}
    for e in q.elements:
        parts = [criteria[c["code"]] for c in e["criteria"] if criteria[c["code"]][1]]
        elements[e["code"]] = (
            sum(p[0] for p in parts) / len(parts) if parts else None,
            max((p[1] for p in parts), default=0),
        )
    present = [v for v in elements.values() if v[0] is not None]
    overall = sum(v[0] for v in present) / len(present) if present else None
    ov = share([r["answers"].get("OV") for r in chosen], {4, 5})
    return {
        "responses": len(chosen),
        "overall": overall,
        "ov": ov,
        "elements": elements,
        "criteria": criteria,
    }


CASES = [
    ("2025-01-01", "2025-12-31", {}),
    ("2026-01-01", "2026-06-30", {"service": "HT-KHAISINH"}),
    ("2025-07-01", "2026-06-30", {"channel": "kiosk"}),
    ("2025-03-01", "2025-03-31", {"unit": "AG-TRITON"}),
    ("2024-12-01", "2026-11-30", {"field": "HOTICH", "channel": "qr"}),
]


def _keep(seeded_app, filters):
    with seeded_app.app_context():
        field_ids = {
            f: db.session.scalar(
                select(Service.field_id).join(Service.field).where(Service.field.has(code=f))
            )
            for f in [filters.get("field")]
            if f
        }

    def keep(r):
        return all(
            [
                "service" not in filters or r["service"] == filters["service"],
                "channel" not in filters or r["channel"] == filters["channel"],
                "unit" not in filters or r["unit"] == filters["unit"],
                "field" not in filters or r["field"] == field_ids[filters["field"]],
            ]
        )

    return keep


@pytest.mark.parametrize(("since", "until", "filters"), CASES)
def test_api_matches_a_recomputation(seeded, since, until, filters):
    app, token, raw = seeded
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    data = api_json(app, token, f"/api/v1/summary?from={since}&to={until}&{query}")
    with app.app_context():
        q = questionnaire.active()
    want = expected(
        raw,
        q,
        since=date.fromisoformat(since),
        until=date.fromisoformat(until),
        keep=_keep(app, filters),
    )
    assert want["responses"] > 30 and data["responses"] == want["responses"]
    assert data["overall"]["index"] == pytest.approx(want["overall"], abs=1e-3)
    assert data["overall_question"]["index"] == pytest.approx(want["ov"][0], abs=1e-3)
    assert data["overall_question"]["n"] == want["ov"][1]
    for code, (index, n) in want["elements"].items():
        assert data["elements"][code]["index"] == pytest.approx(index, abs=1e-3)
        assert data["elements"][code]["n"] == n
    for code, (index, n) in want["criteria"].items():
        assert (data["criteria"][code]["index"], data["criteria"][code]["n"]) == (
            pytest.approx(index, abs=1e-3),
            n,
        )
    lo, hi = data["overall"]["ci95"]
    assert lo < data["overall"]["index"] < hi


def test_api_groups_match_a_recomputation(seeded):
    app, token, raw = seeded
    data = api_json(app, token, "/api/v1/summary?from=2025-01-01&to=2025-12-31&group_by=service")
    with app.app_context():
        q = questionnaire.active()
    assert sum(g["responses"] for g in data["groups"]) == data["responses"]
    for group in data["groups"][:10]:
        want = expected(
            raw,
            q,
            since=date(2025, 1, 1),
            until=date(2025, 12, 31),
            keep=lambda r, code=group["key"]: r["service"] == code,
        )
        assert group["responses"] == want["responses"]
        assert group["overall"]["index"] == pytest.approx(want["overall"], abs=1e-3)


def _cards(page: str) -> list[str]:
    return re.findall(r'<p class="big">(.*?)</p>', page)


@pytest.mark.parametrize(("since", "until", "filters"), CASES[:3])
def test_dashboard_matches_a_recomputation(seeded, since, until, filters):
    app, _token, raw = seeded
    client = app.test_client()
    sign_in(client, "admin@ag.vn", PASSWORD)
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    page = client.get(f"/admin/?period=custom&from={since}&to={until}&{query}").text
    with app.app_context():
        q = questionnaire.active()
    want = expected(
        raw,
        q,
        since=date.fromisoformat(since),
        until=date.fromisoformat(until),
        keep=_keep(app, filters),
    )

    def vi(value: float) -> str:  # 87,5% in Vietnamese
        return f"{value:.1f}".replace(".", ",") + "%"

    shown = _cards(page)
    assert shown[0] == vi(want["overall"]) and shown[1] == vi(want["ov"][0])
    assert shown[2:7] == [vi(want["elements"][e["code"]][0]) for e in q.elements]
    assert f"{want['responses']:,}".replace(",", ".") in page


def test_a_manager_sees_only_their_service_point(seeded):
    app, _token, raw = seeded
    client = app.test_client()
    sign_in(client, "longxuyen@ag.vn", PASSWORD)
    page = client.get("/admin/?period=custom&from=2025-01-01&to=2025-12-31").text
    with app.app_context():
        q = questionnaire.active()
    want = expected(
        raw,
        q,
        since=date(2025, 1, 1),
        until=date(2025, 12, 31),
        keep=lambda r: r["unit"] == "AG-LONGXUYEN",
    )
    assert _cards(page)[0] == f"{want['overall']:.1f}".replace(".", ",") + "%"
    assert client.get("/admin/?period=this-year&unit=AG-TRITON").status_code == 403


def test_english_dashboard_formats_numbers_in_english(seeded):
    app, _token, raw = seeded
    client = app.test_client()
    sign_in(client, "admin@ag.vn", PASSWORD)
    client.get("/admin/language/en")
    page = client.get("/admin/?period=custom&from=2025-01-01&to=2025-12-31").text
    with app.app_context():
        q = questionnaire.active()
    want = expected(raw, q, since=date(2025, 1, 1), until=date(2025, 12, 31))
    assert '<html lang="en">' in page and _cards(page)[0] == f"{want['overall']:.1f}%"
    assert "Satisfaction index of the service (SIPAS approach)" in page


def test_a_period_with_no_data_says_so(seeded):
    app, token, _raw = seeded
    client = app.test_client()
    sign_in(client, "admin@ag.vn", PASSWORD)
    page = client.get("/admin/?period=custom&from=2019-01-01&to=2019-12-31").text
    assert "Chưa có dữ liệu cho kỳ và bộ lọc này" in page and not _cards(page)
    data = client.get(
        "/api/v1/summary?from=2019-01-01&to=2019-12-31",
        headers=bearer(token),
    ).get_json()
    assert data["responses"] == 0 and data["overall"]["index"] is None
    assert data["message"] == "Chưa có dữ liệu trong kỳ này."


@pytest.mark.parametrize(
    ("query", "field", "status"),
    [
        ("from=2025-06-01&to=2025-01-01", "from", 400),
        ("from=2025-02-30&to=2025-03-01", "from", 400),
        ("from=2025-01-01", "from", 400),
        ("from=2025-01-01&to=2025-12-31&service=NOPE", "service", 400),
        ("from=2025-01-01&to=2025-12-31&unit=NOPE", "unit", 400),
        ("from=2025-01-01&to=2025-12-31&group_by=week", "group_by", 400),
        ("from=2025-01-01&to=2025-12-31&channel=fax", "channel", 400),
    ],
)
def test_bad_summary_requests_get_a_clear_4xx(seeded, query, field, status):
    app, token, _raw = seeded
    reply = app.test_client().get(f"/api/v1/summary?{query}", headers=bearer(token))
    assert reply.status_code == status
    error = reply.get_json()["errors"][0]
    assert error["field"] == field and error["message"]
    client = app.test_client()
    sign_in(client, "admin@ag.vn", PASSWORD)
    page = client.get(f"/admin/?period=custom&{query}")
    if field != "group_by":
        assert page.status_code == 400 and "Có lỗi cần sửa" in page.text


def test_small_numbers_are_greyed_and_counters_hidden(seeded):
    app, token, _raw = seeded
    # Ten days: a procedure keeps to one or two counters of a unit, some with few ratings.
    data = api_json(
        app,
        token,
        "/api/v1/summary?from=2026-11-10&to=2026-11-20&group_by=counter&service=HT-KHAISINH",
    )
    hidden = [g for g in data["groups"] if g.get("hidden")]
    assert hidden and all(g["overall"] is None and g["responses"] < 5 for g in hidden)
    assert all(not g.get("hidden") for g in data["groups"] if g["responses"] >= 5)


def test_comments_follow_the_questionnaire_version_of_the_figures(app, client):
    """After a new questionnaire version, the figures count only its answers; so do the comments."""
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        for _ in range(5):
            rate(answers={"OV": 2}, comment="Ý kiến của phiếu cũ")
        data = questionnaire.load_file(questionnaire.DATA_DIR / "sipas-2024.json")
        questionnaire.install({**data, "code": "sipas-2025"})
        for _ in range(5):
            rate(answers={"OV": 5}, comment="Ý kiến của phiếu mới")
    sign_in(client, "admin@ag.vn")
    page = client.get("/admin/?period=this-year").text
    assert "Có 5 phiếu trả lời trong kỳ này." in page  # the figures: the new version only
    assert "Ý kiến của phiếu mới" in page and "Ý kiến của phiếu cũ" not in page
    low = client.get("/admin/?period=this-year&low=1").text
    assert "Ý kiến của phiếu cũ" not in low
