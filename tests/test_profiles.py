"""The respondent profile: its optional page, rollup_profile kept in step, and the breakdown
"who is satisfied" with the suppression of groups below 5 ratings."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from survey import accounts, filters, flags, profiles, questionnaire, responses, rollups
from survey.extensions import db
from survey.models import CHANNELS, Counter, Response, Service, Unit, rollup_profile
from tests.builders import PASSWORD, bearer, make_user, rate, response_body, sign_in
from tests.test_journey import start
from tests.test_kiosk_api import device  # noqa: F401  (the fixture: a kiosk at XA1)

PROFILE = {"gender": "female", "ethnicity": "khmer", "age_band": "35-49"}


def _sent(client, lang: str = "vi") -> str:
    """A rating sent with its comment: the browser is on the profile page; its id."""
    rid, _ = start(client, lang=lang)
    reply = client.post(f"/{lang}/r/{rid}/comment", data={"comment": "Tốt"})
    assert reply.status_code == 303 and reply.headers["Location"] == f"/{lang}/r/{rid}/about-you"
    with client.application.app_context():  # answered at once: a manager clears the flag
        flags.set_flag(db.session.scalar(select(Response).filter_by(public_id=rid)), None)
    return rid


def _stored(app, rid: str) -> Response:
    with app.app_context():
        return db.session.scalar(select(Response).filter_by(public_id=rid))


def _in_step(app) -> None:
    with app.app_context():
        assert rollups.stored() == rollups.recompute()


def _profile_responses(item: str) -> int:
    """The responses rollup_profile counts under `item`, every option together."""
    query = select(func.coalesce(func.sum(rollup_profile.c.responses), 0)).where(
        rollup_profile.c.item == item
    )
    return db.session.scalar(query)


# --- The page ------------------------------------------------------------------------------


def test_the_profile_page_is_optional_and_skipping_stores_nothing(app, client):
    rid = _sent(client)
    page = client.get(f"/vi/r/{rid}/about-you").text
    assert "(không bắt buộc)" in page and "Bỏ qua" in page
    assert page.count("<fieldset") == page.count("<legend") == 6  # one radio group per item
    assert "Dân tộc" in page and "Khmer" in page and "required" not in page
    reply = client.post(f"/vi/r/{rid}/about-you", data={"action": "skip", "gender": "male"})
    assert reply.headers["Location"] == f"/vi/r/{rid}/thank-you"
    assert _stored(app, rid).profile is None
    # Sending with nothing chosen is a skip too.
    assert client.post(f"/vi/r/{rid}/about-you", data={"action": "save"}).status_code == 303
    assert _stored(app, rid).profile is None
    _in_step(app)


def test_saving_the_profile_twice_counts_it_once(app, client):
    rid = _sent(client)
    for _ in range(2):  # a second POST (a reload, the back button) changes nothing
        reply = client.post(f"/vi/r/{rid}/about-you", data={"action": "save", **PROFILE})
        assert reply.headers["Location"] == f"/vi/r/{rid}/thank-you"
    assert _stored(app, rid).profile == PROFILE
    with app.app_context():
        assert _profile_responses("ethnicity") == _profile_responses("gender") == 1
    _in_step(app)
    # A changed answer moves the count from one option to the other.
    changed = {**PROFILE, "gender": "male"}
    client.post(f"/vi/r/{rid}/about-you", data={"action": "save", **changed})
    with app.app_context():
        genders = dict(
            db.session.execute(
                select(rollup_profile.c.option, rollup_profile.c.responses).where(
                    rollup_profile.c.item == "gender"
                )
            ).all()
        )
    assert {k: v for k, v in genders.items() if v} == {"male": 1}
    assert "checked" in client.get(f"/vi/r/{rid}/about-you").text  # shown as chosen
    _in_step(app)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["(optional)", "Skip", "Ethnic group", "Age"]),
        ("km", ["ជនជាតិ", "ភេទ", "អាយុ"]),
        ("vi", ["Giới tính", "Độ tuổi", "Nghề nghiệp"]),
    ],
)
def test_the_profile_page_in_each_language(client, lang, words):
    rid = _sent(client, lang)
    page = client.get(f"/{lang}/r/{rid}/about-you")
    assert page.status_code == 200 and f'lang="{lang}"' in page.text
    for word in words:
        assert word in page.text


def test_an_unknown_option_is_refused_with_the_page_again(app, client):
    rid = _sent(client)
    reply = client.post(f"/vi/r/{rid}/about-you", data={"action": "save", "gender": "robot"})
    assert reply.status_code == 400 and "error-summary" in reply.text
    assert _stored(app, rid).profile is None


def test_the_profile_page_of_an_unsent_rating_goes_back_to_more(client):
    rid, _ = start(client)
    assert client.get(f"/vi/r/{rid}/about-you").headers["Location"] == f"/vi/r/{rid}/more"


# --- The rollup on every write path ----------------------------------------------------------


def _context():
    services = list(db.session.scalars(select(Service).filter_by(active=True)))
    counters = [None, *db.session.scalars(select(Counter))]
    return services, counters, db.session.scalar(select(Unit).filter_by(code="CTR"))


def _random_profile(rng, q) -> dict[str, str] | None:
    entries = rng.sample(q.data["profile"], rng.randint(0, len(q.data["profile"])))
    chosen = {e["code"]: rng.choice(e["options"])["code"] for e in entries}
    return chosen or None


@pytest.mark.parametrize("seed", [3, 2026])
def test_writes_profile_updates_flags_and_deletions_keep_rollup_profile_in_step(app, seed):
    rng = random.Random(seed)
    with app.app_context():
        q = questionnaire.active()
        services, counters, unit = _context()
        started: list[Response] = []
        for step in range(80):
            action = rng.random()
            if action < 0.35 or not started:
                counter = rng.choice(counters)
                result = responses.start_response(
                    public_id=str(uuid.uuid4()),
                    questionnaire=q,
                    service=rng.choice(services),
                    unit=counter.unit if counter else unit,
                    counter=counter,
                    channel=rng.choice(CHANNELS),
                    locale="vi",
                    # Across a month's end in local time: rows of two months.
                    captured_at=datetime(2025, 1, 31, 15, 0, tzinfo=UTC)
                    + timedelta(hours=rng.randint(0, 4)),
                    answers={"OV": rng.choice([1, 2, 3, 4, 5, None])},
                )
                started.append(result.response)
            elif action < 0.55:
                target = rng.choice(started)
                responses.save_answers(target, {"TC1": rng.choice([None, 1, 4, 5])})
            elif action < 0.65:
                responses.finish_response(rng.choice(started), comment="ý kiến")
            elif action < 0.8:
                rng.choice(started).profile = _random_profile(rng, q)
                db.session.commit()
            elif action < 0.85:
                db.session.delete(started.pop(rng.randrange(len(started))))
                db.session.commit()
            else:
                flags.set_flag(rng.choice(started), rng.choice([None, "burst", "streak"]))
            assert rollups.stored() == rollups.recompute(), f"step {step}"
        assert any(r.profile for r in started)
        expected = rollups.stored()
        rollups.rebuild()  # the set-based rebuild gives the same rows
        assert rollups.stored() == expected


def test_a_kiosk_rating_with_a_profile_and_a_profile_queued_alone(app, client, device):  # noqa: F811
    body = response_body(
        answers={"OV": 4, "TC1": 5}, comment="Tốt", profile=PROFILE, minutes_ago=40
    )
    assert client.post("/api/v1/responses", json=body, headers=bearer(device)).status_code == 201
    _in_step(app)
    # Offline on the profile page: the kiosk queues the profile of a rating already sent.
    sent = response_body(answers={"OV": 5}, minutes_ago=20)
    client.post("/api/v1/responses", json=sent, headers=bearer(device))
    queued = {**sent, "answers": {}, "profile": {"gender": "male"}}
    batch = {"responses": [queued]}
    reply = client.post("/api/v1/responses/batch", json=batch, headers=bearer(device))
    assert reply.get_json()["results"][0]["status"] == "updated"
    again = client.post("/api/v1/responses/batch", json=batch, headers=bearer(device))
    assert again.get_json()["results"][0]["status"] == "duplicate"
    assert _stored(app, sent["id"]).profile == {"gender": "male"}
    with app.app_context():
        assert _profile_responses("gender") == 2
    _in_step(app)


# --- The breakdown -----------------------------------------------------------------------------


def _rate_with(profile: dict, ov: int, *, at: datetime, unit: str = "CTR") -> None:
    response = rate(answers={"OV": ov, "TC1": ov, "TT1": ov}, captured_at=at, unit=unit)
    response.profile = profile
    db.session.commit()


@pytest.fixture
def rated(app):
    """In March 2026: 30 men (all satisfied), 4 women, 6 of ethnicity "hoa" (one dissatisfied)."""
    with app.app_context():
        at = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
        for n in range(30):
            _rate_with({"gender": "male"}, 5, at=at + timedelta(hours=n))
        for _ in range(4):
            _rate_with({"gender": "female", "ethnicity": "khmer"}, 4, at=at)
        for n in range(6):
            _rate_with({"ethnicity": "hoa"}, 1 if n == 0 else 5, at=at + timedelta(days=n))
        make_user("admin@ag.vn", "admin")
        make_user("xa1@ag.vn", "manager", ("XA1",))
    return app


def _groups(items) -> dict:
    return {(i.code, g.code): g for i in items for g in i.groups}


def test_groups_below_5_are_hidden_and_below_30_greyed(rated):
    with rated.app_context():
        period = filters.everything(date(2026, 3, 1), date(2026, 3, 31))
        groups = _groups(profiles.breakdown(period, "vi"))
    men, women = groups[("gender", "male")], groups[("gender", "female")]
    assert (men.responses, men.overall.n, men.overall.index, men.small) == (30, 30, 100.0, False)
    assert women.hidden and women.responses is None and women.overall is None
    assert groups[("ethnicity", "khmer")].hidden
    hoa = groups[("ethnicity", "hoa")]
    assert (hoa.responses, hoa.small) == (6, True) and hoa.overall.ci95 is not None


def test_partial_months_add_the_edge_days_from_the_responses(rated):
    with rated.app_context():
        q = questionnaire.active().id
        # 11 March to 30 April: the edge days of March, read from the raw responses.
        edge = filters.Filters(date(2026, 3, 11), date(2026, 4, 30), q)
        counts = profiles.count_options(edge)
        raw = profiles._raw(edge, [(edge.since, edge.until)])
        whole = profiles.count_options(filters.Filters(date(2026, 2, 1), date(2026, 3, 31), q))
    assert counts == raw and counts[("gender", "male")][0] == 30 - 14  # 11 March 00:00 on
    assert whole[("gender", "male")][0] == 30


def test_the_breakdown_follows_the_scope_and_filters(rated):
    with rated.app_context():
        CTR = db.session.scalar(select(Unit.id).filter_by(code="CTR"))
        q = questionnaire.active().id
        other = filters.Filters(date(2026, 3, 1), date(2026, 3, 31), q, units=frozenset({-1}))
        assert all(not i.groups for i in profiles.breakdown(other, "vi"))
        own = filters.Filters(date(2026, 3, 1), date(2026, 3, 31), q, units=frozenset({CTR}))
        assert _groups(profiles.breakdown(own, "vi"))[("gender", "male")].responses == 30
        kiosk = filters.Filters(date(2026, 3, 1), date(2026, 3, 31), q, channel="kiosk")
        assert all(not i.groups for i in profiles.breakdown(kiosk, "vi"))
        # A procedure (not kept in rollup_profile) is counted from the raw responses.
        birth = db.session.scalar(select(Service.id).filter_by(code="HT-KHAISINH"))
        other = db.session.scalar(select(Service.id).filter_by(code="HT-KETHON"))
        for service, men in ((birth, 30), (other, None)):
            chosen = filters.Filters(date(2026, 3, 1), date(2026, 3, 31), q, service=service)
            found = _groups(profiles.breakdown(chosen, "vi")).get(("gender", "male"))
            assert (found.responses if found else None) == men


def test_the_dashboard_section_who_is_satisfied(rated, client):
    sign_in(client, "admin@ag.vn", PASSWORD)
    page = client.get("/admin/?period=2026-M03").text
    assert "Ai hài lòng?" in page and "Dân tộc" in page
    section = page[page.index('id="h-profile"') :]
    assert "—" in section and "dưới 5" in section  # women: no figure and no count
    assert "100" in section


def test_the_profile_api(rated, client):
    with rated.app_context():
        token = accounts.create_api_token(accounts.find_user("admin@ag.vn"), actor="t")
        manager = accounts.create_api_token(accounts.find_user("xa1@ag.vn"), actor="t")
    reply = client.get("/api/v1/profile?period=2026-M03&lang=en", headers=bearer(token))
    data = reply.get_json()
    assert reply.status_code == 200 and data["from"] == "2026-03-01"
    gender = next(i for i in data["items"] if i["key"] == "gender")
    assert gender["label"] == "Gender"
    men, women = gender["groups"]
    assert men["responses"] == 30 and men["overall"]["n"] == 30 and len(men["overall"]["ci95"]) == 2
    assert women == {"key": "female", "label": "Female", "hidden": True}
    # A manager of a commune sees only the ratings of that commune: none here.
    theirs = client.get("/api/v1/profile?period=2026-M03", headers=bearer(manager)).get_json()
    assert all(not i["groups"] for i in theirs["items"])
    assert client.get("/api/v1/profile?period=2026-M03").status_code == 401
    forbidden = client.get("/api/v1/profile?period=2026-M03&unit=CTR", headers=bearer(manager))
    assert forbidden.status_code == 403
