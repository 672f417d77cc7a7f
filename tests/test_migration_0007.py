"""Migration 0007 converts the rollups of a database filled by the previous release (at 0006):
a row per (day, context, item, value) becomes a row per day and context, and per month and
procedure, with the counts as columns; the figures do not move, and the downgrade converts
back."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from survey import filters, questionnaire, rollups, summary
from survey.extensions import db
from survey.models import Counter as CounterRow
from survey.models import Service, Unit
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)
from tests.test_migration_0005 import daily_rollup

INSERT_RESPONSE = (
    "INSERT INTO response (id, public_id, questionnaire_id, service_id, unit_id, counter_id, "
    "channel, locale, captured_at, received_at, updated_at, status, flag_reason, "
    "contact_consent) VALUES (:id, :public_id, :q, :service, :unit, :counter, :channel, 'vi', "
    ":at, :at, :at, 'complete', :flag, false)"
)
INSERT_ROLLUP = (
    "INSERT INTO daily_rollup (day, questionnaire_id, unit_id, service_id, counter_id, channel, "
    "item, value, count) VALUES (:day, :q, :unit, :service, :counter, :channel, :item, :value, "
    ":count)"
)


def _fill_release_0006(conn, q, services: list[int], places: list[tuple[int, int | None]]):
    """Ratings over two months as the previous release stored them, with the rollups it kept
    (responses under item "*", "not applicable" under value 0, flagged ratings not counted)."""
    rng, rollup = random.Random(7), Counter()
    items = [q.overall_code, *list(q.criteria)[:4], *q.expectation_codes[:2]]
    for n in range(1, 61):
        unit, counter = rng.choice(places)
        row = {
            "id": n,
            "public_id": f"00000000-0000-4000-8000-{n:012d}",
            "q": q.id,
            "service": rng.choice(services),
            "unit": unit,
            "counter": counter,
            "channel": rng.choice(["kiosk", "qr", "web"]),
            # 02:00 UTC is 09:00 in Vietnam: the local day is the UTC date.
            "at": datetime(2026, 1, 20, 2, 0, tzinfo=UTC) + timedelta(days=rng.randint(0, 25)),
            "flag": "burst" if n % 9 == 0 else None,
        }
        conn.execute(text(INSERT_RESPONSE), row)
        answers = {item: rng.choice([None, 1, 2, 3, 4]) for item in items}
        for item, value in answers.items():
            conn.execute(
                text("INSERT INTO answer (response_id, item, value) VALUES (:r, :i, :v)"),
                {"r": n, "i": item, "v": value},
            )
        if row["flag"] is None:
            context = (row["at"].date(), q.id, unit, row["service"], counter or 0, row["channel"])
            rollup[(*context, "*", 0)] += 1
            rollup.update((*context, item, value or 0) for item, value in answers.items())
    for key, count in rollup.items():
        names = ("day", "q", "unit", "service", "counter", "channel", "item", "value")
        conn.execute(text(INSERT_ROLLUP), dict(zip(names, key, strict=True)) | {"count": count})
    return rollup


@pytest.fixture
def release_app(empty_database, tmp_path):  # noqa: F811
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0006")
        questionnaire.ensure_default()
        make_catalogue()
        q = questionnaire.active()
        services = list(db.session.scalars(select(Service.id)))
        places = [(c.unit_id, c.id) for c in db.session.scalars(select(CounterRow))]
        places += [(u, None) for u in db.session.scalars(select(Unit.id))]
        db.session.remove()
        with db.engine.begin() as conn:
            app.config["RELEASE_ROLLUP"] = _fill_release_0006(conn, q, services, places)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_0007_converts_the_rollups_and_keeps_every_figure(release_app):
    app = release_app
    with app.app_context():
        old = daily_rollup()
        assert old == app.config["RELEASE_ROLLUP"] and any(k[7] == 0 for k in old)
        upgrade()
        assert rollups.stored() == rollups.recompute()
        counted = sum(n for k, n in old.items() if k[6] == "*")
        assert rollups.counted() == counted == 60 - 60 // 9
        months = {key[1] for key in rollups.stored() if key[0] == "month"}
        assert months == {date(2026, 1, 1), date(2026, 2, 1)}
        # The figures read from the converted rollups are those of the old rows.
        q = questionnaire.active()
        period = filters.everything(date(2026, 1, 1), date(2026, 2, 28))
        figures = summary.build_summary(period).figures
        items: dict[str, Counter] = {}
        for key, n in old.items():
            if key[6] != "*":
                items.setdefault(key[6], Counter())[key[7]] += n
        expected = summary.figures_from(q, {rollups.RESPONSES: Counter({0: counted}), **items})
        assert figures == expected and figures.responses == counted
        db.session.remove()
        downgrade(revision="0006")
        # Back: every row but "not applicable", which no figure reads.
        assert daily_rollup() == Counter({k: n for k, n in old.items() if k[6] == "*" or k[7]})
