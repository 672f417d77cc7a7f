"""Demo data: a synthetic province loaded in bulk (survey/demo.py, survey/province.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from survey import catalogue, demo, province, rollups
from survey.extensions import db
from survey.models import Answer, Counter, Response, Unit
from tests.conftest import PG_URL, build_app

NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def province_app(app):
    """The test app with the bundled An Giang catalogue and five demo commune points."""
    with app.app_context():
        catalogue.import_csv(catalogue.DEMO_FILE.read_bytes())
        province.add_points(5)
    return app


def _ratings() -> list[tuple]:
    """Every response's content (not its ids) with its answers, in order of capture."""
    answers = defaultdict(list)
    for rid, item, value in db.session.execute(
        select(Answer.response_id, Answer.item, Answer.value).order_by(Answer.id)
    ):
        answers[rid].append((item, value))
    rows = db.session.execute(
        select(Response).order_by(Response.captured_at, Response.id)
    ).scalars()
    return [
        (
            r.service_id,
            r.unit_id,
            r.counter_id,
            r.channel,
            r.locale,
            r.captured_at,
            r.status,
            r.flag_reason,
            r.comment,
            r.profile,
            tuple(answers[r.id]),
        )
        for r in rows
    ]


def test_load_writes_responses_with_their_answers(province_app):
    with province_app.app_context():
        assert demo.load(1500, seed=3, now=NOW, chunk=400) == 1500
        assert db.session.scalar(select(func.count(Response.id))) == 1500
        orphans = select(func.count(Answer.id)).where(
            Answer.response_id.not_in(select(Response.id))
        )
        assert db.session.scalar(orphans) == 0
        ratings = _ratings()
        assert all(r[-1][0][0] == "OV" for r in ratings)  # the overall question, always first
        partial = [r for r in ratings if r[6] == "partial"]
        complete = [r for r in ratings if r[6] == "complete"]
        assert 80 < len(partial) < 230
        assert max(len(r[-1]) for r in partial) < max(len(r[-1]) for r in complete)
        assert 5 < sum(r[7] == "burst" for r in ratings) < 40
        assert {r[3] for r in ratings} == {"kiosk", "qr", "web", "paper"}
        assert {r[4] for r in ratings} == {"vi", "km", "en"}
        profiles = [r[9] for r in ratings if r[9]]
        assert profiles and all(
            set(p)
            <= {"respondent_type", "gender", "age_band", "ethnicity", "education", "occupation"}
            for p in profiles
        )
        assert 100 < sum(r[8] is not None for r in ratings) < 220  # about one in ten comments


def test_every_rating_falls_within_opening_hours_local_time(province_app):
    with province_app.app_context():
        demo.load(2000, seed=4, now=NOW)
        moments = db.session.scalars(select(Response.captured_at)).all()
    assert all(m < NOW for m in moments)
    saturdays = 0
    for moment in moments:
        local = moment.astimezone(LOCAL)
        assert local.weekday() != 6, local
        morning = time(7) <= local.time() < time(11, 30)
        afternoon = time(13, 30) <= local.time() < time(17)
        assert morning or (afternoon and local.weekday() != 5), local
        saturdays += local.weekday() == 5
    assert 0 < saturdays < len(moments) * 0.1
    by_month = defaultdict(int)
    for moment in moments:
        by_month[moment.astimezone(LOCAL).strftime("%Y-%m")] += 1
    assert by_month["2025-12"] > by_month["2026-02"]  # busy before year end, quiet at Tết


def test_each_service_is_handled_at_one_or_two_counters_of_its_unit(province_app):
    with province_app.app_context():
        demo.load(3000, seed=5, now=NOW)
        rows = db.session.execute(
            select(
                Response.unit_id, Response.service_id, Response.counter_id, Counter.unit_id
            ).outerjoin(Counter, Counter.id == Response.counter_id)
        ).all()
        points = set(db.session.scalars(select(Unit.id).where(Unit.code.like("DEMO-XA-%"))))
    desks = defaultdict(set)
    for unit, service, counter, counter_unit in rows:
        assert counter is None or counter_unit == unit
        if counter is not None:
            desks[unit, service].add(counter)
    assert desks and max(len(c) for c in desks.values()) <= 2
    served = defaultdict(set)
    for unit, service, _counter, _ in rows:
        served[unit].add(service)
    assert points <= set(served)  # the demo points are rated too, each for fewer procedures
    assert max(len(served[p]) for p in points) < max(len(s) for s in served.values())


def test_the_same_seed_and_moment_give_the_same_ratings(province_app):
    with province_app.app_context():
        demo.load(400, seed=9, now=NOW, chunk=150)
        first = _ratings()
        db.session.execute(Answer.__table__.delete())
        db.session.execute(Response.__table__.delete())
        db.session.commit()
        demo.load(400, seed=9, now=NOW)
        assert _ratings() == first
        db.session.execute(Answer.__table__.delete())
        db.session.execute(Response.__table__.delete())
        db.session.commit()
        demo.load(400, seed=10, now=NOW)
        assert _ratings() != first


def test_demo_points_are_added_once(province_app):
    with province_app.app_context():
        assert province.add_points(5) == {}
        added = province.add_points(7)
        assert list(added) == ["DEMO-XA-006", "DEMO-XA-007"]
        assert all(1 <= n <= 3 for n in added.values())
        assert db.session.scalar(select(func.count(Unit.id)).where(Unit.code.like("DEMO-%"))) == 7


@pytest.fixture
def fresh_url(tmp_path):
    """An empty database: no tables at all."""
    if not PG_URL:
        yield "sqlite:///" + str(tmp_path / "fresh.db")
        return
    server = make_url(PG_URL)
    name = f"survey_test_fresh_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_seed_demo_sets_up_a_fresh_instance_and_adds_up(fresh_url, tmp_path):
    app = build_app(fresh_url, tmp_path / "instance")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--responses", "300", "--points", "4"])
    assert first.exit_code == 0, first.output
    assert "First administrator: admin@localhost" in first.output
    assert "Added 4 demo commune service points (DEMO-XA-001…DEMO-XA-004)" in first.output
    again = runner.invoke(args=["seed-demo", "--responses", "200", "--points", "4"])
    assert again.exit_code == 0, again.output
    assert "demo commune service points" not in again.output  # already there
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 500
        assert db.session.scalar(select(func.count(func.distinct(Response.public_id)))) == 500
        counted = rollups.counted()
        unflagged = select(func.count(Response.id)).where(Response.flag_reason.is_(None))
        assert counted == db.session.scalar(unflagged)
        db.session.remove()
        db.engine.dispose()
