"""The rollups always equal a recomputation from the raw answers and the comments' topics."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from survey import flags, questionnaire, responses, rollups, topics
from survey.extensions import db
from survey.models import (
    CHANNELS,
    Counter,
    Response,
    Service,
    Unit,
    rollup_day,
    rollup_month,
    utcnow,
)
from tests import servers

# A comment about no topic, about one, and about two (survey/data/topics.toml).
COMMENTS = ["ý kiến", "Chờ lâu quá", "cán bộ thái độ ko tốt, lệ phí cao"]


def _context():
    services = list(db.session.scalars(select(Service).filter_by(active=True)))
    counters = [None, *db.session.scalars(select(Counter))]
    return services, counters, db.session.scalar(select(Unit).filter_by(code="CTR"))


@pytest.mark.parametrize("seed", [1, 2025, 77])
def test_random_writes_updates_and_flags_keep_rollups_in_step(app, seed):
    rng = random.Random(seed)
    with app.app_context():
        q = questionnaire.active()
        services, counters, unit = _context()
        started: list[Response] = []
        items = list(q.criteria) + q.expectation_codes
        for step in range(150):
            action = rng.random()
            if action < 0.35 or not started:
                counter = rng.choice(counters)
                moment = datetime(2025, 1, 31, 16, 0, tzinfo=UTC) + timedelta(
                    hours=rng.randint(0, 48)
                )
                result = responses.start_response(
                    public_id=str(uuid.uuid4()),
                    questionnaire=q,
                    service=rng.choice(services),
                    unit=counter.unit if counter else unit,
                    counter=counter,
                    channel=rng.choice(CHANNELS),
                    locale="vi",
                    captured_at=moment,
                    answers={"OV": rng.choice([1, 2, 3, 4, 5, None])},
                )
                started.append(result.response)
            elif action < 0.68:
                target = rng.choice(started)
                chosen = rng.sample(items, rng.randint(1, 6))
                responses.save_answers(
                    target,
                    {
                        code: rng.choice([None, *range(1, responses.scale_size(q, code) + 1)])
                        for code in chosen
                    },
                )
            elif action < 0.76:
                responses.finish_response(rng.choice(started), comment=rng.choice(COMMENTS))
            elif action < 0.80:
                topics.tag_new(now=datetime(2025, 2, 3, tzinfo=UTC))
                db.session.expire_all()  # tagged in a transaction of its own
            elif action < 0.84:
                commented = [r for r in started if r.comment]
                if commented:
                    picked = rng.sample(topics.TOPICS, rng.randint(0, 3))
                    topics.correct(rng.choice(commented), picked, actor="t", now=utcnow())
                    db.session.commit()
            elif action < 0.87:
                db.session.delete(started.pop(rng.randrange(len(started))))
                db.session.commit()
            else:
                target = rng.choice(started)
                if target.flag_reason and rng.random() < 0.5:
                    decision = rng.choice(["confirm", "clear"])
                    flags.review_flag(target.public_id, decision=decision, visible=None, actor="t")
                else:
                    flags.set_flag(target, rng.choice([None, "burst", "streak"]))
            assert rollups.stored() == rollups.recompute(), f"step {step}"
        assert rollups.counted() == len([r for r in started if r.flag_reason is None])


def test_a_late_evening_rating_belongs_to_the_local_day(app):
    with app.app_context():
        q = questionnaire.active()
        services, _, unit = _context()
        responses.start_response(
            public_id=str(uuid.uuid4()),
            questionnaire=q,
            service=services[0],
            unit=unit,
            counter=None,
            channel="web",
            locale="vi",
            captured_at=datetime(2025, 1, 31, 16, 30, tzinfo=UTC),  # 23:30 in Vietnam
            answers={"OV": 5},
        )
        days = set(db.session.scalars(select(rollup_day.c.day)))
        months = set(db.session.scalars(select(rollup_month.c.month)))
    assert days == {date(2025, 1, 31)} and months == {date(2025, 1, 1)}


def test_rebuild_command_repairs_the_rollups(app, runner, client):
    fields = client.get("/vi/s/HT-KHAISINH")
    assert fields.status_code == 200
    with app.app_context():
        q = questionnaire.active()
        services, _, unit = _context()
        for value in (5, 4, 1):
            responses.start_response(
                public_id=str(uuid.uuid4()),
                questionnaire=q,
                service=services[0],
                unit=unit,
                counter=None,
                channel="web",
                locale="vi",
                answers={"OV": value},
            )
        expected = rollups.recompute()
        db.session.execute(update(rollup_day).values(responses=rollup_day.c.responses + 7))
        db.session.execute(update(rollup_month).values(n0=5))
        db.session.commit()
        assert rollups.stored() != expected
    result = runner.invoke(args=["rollup", "rebuild"])
    assert result.exit_code == 0 and "rows" in result.output
    with app.app_context():
        assert rollups.stored() == expected


def test_importing_rollups_attaches_no_listener(tmp_path):
    """The factory attaches the listener (rollups.init_app); importing the module does not."""
    probe = (
        "from sqlalchemy import event; from sqlalchemy.orm import Session; "
        "from survey import rollups; "
        "print(event.contains(Session, 'after_flush', rollups._keep_in_step)); "
        "from survey import create_app; create_app({'SECRET_KEY': 'x', "
        "'SQLALCHEMY_DATABASE_URI': 'sqlite://'}); "
        "print(event.contains(Session, 'after_flush', rollups._keep_in_step))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=servers.server_env(tmp_path),  # its instance folder (secret key) in tmp_path
    ).stdout.split()
    assert found == ["False", "True"]
