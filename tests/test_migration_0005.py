"""Migration 0005 upgrades a database filled by the previous release (at 0004).

The previous release kept a suspect rating's flag as one string: its reason, with ";confirmed"
once a manager confirmed it; clearing set it to NULL. Its rollups counted exactly the ratings
whose string was NULL. After the upgrade every rating must keep its meaning (counted, awaiting
review, confirmed) and its effect on the figures.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from survey import flags, questionnaire, rollups
from survey.extensions import db
from survey.models import Service, Unit
from tests.builders import make_catalogue
from tests.conftest import build_app
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)

REASONS = ("burst", "streak", "fast", "address", "surge")
# Every value the previous release could write: NULL (never flagged, or flagged and cleared:
# the two look the same), each reason awaiting review and each reason confirmed.
OLD_FLAGS = [None, None, *REASONS, *(f"{r};confirmed" for r in REASONS)]
CHANNELS = ("kiosk", "qr", "web")
ITEMS = ("OV", "TT1", "TT2")


def _rows() -> list[dict]:
    """Two ratings per old value, on different days, channels and answers."""
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam: the local day is the date
    rows = []
    for n, old in enumerate(OLD_FLAGS * 2):
        rows.append(
            {
                "id": n + 1,
                "public_id": f"00000000-0000-4000-8000-{n + 1:012d}",
                "flags": old,
                "channel": CHANNELS[n % 3],
                "captured_at": start + timedelta(days=n % 4, minutes=n),
                "answers": {
                    item: (n + i) % 5 + 1 if (n + i) % 4 else None for i, item in enumerate(ITEMS)
                },
                "comment": f"ý kiến {n}" if n % 2 else None,
            }
        )
    return rows


def _fill_release_0004(conn, service: int, unit: int, q: int) -> Counter:
    """Responses, answers and a used visit code as the previous release stored them, with the
    rollups it kept; returns the counted responses per day, as that release counted them."""
    rollup: Counter = Counter()
    for row in _rows():
        conn.execute(
            text(
                "INSERT INTO response (id, public_id, questionnaire_id, service_id, unit_id, "
                "channel, locale, captured_at, received_at, updated_at, status, flags, comment, "
                "contact_consent) VALUES (:id, :public_id, :q, :service, :unit, :channel, 'vi', "
                ":captured_at, :captured_at, :captured_at, 'complete', :flags, :comment, false)"
            ),
            {**row, "q": q, "service": service, "unit": unit},
        )
        for item, value in row["answers"].items():
            conn.execute(
                text("INSERT INTO answer (response_id, item, value) VALUES (:r, :item, :value)"),
                {"r": row["id"], "item": item, "value": value},
            )
        if row["flags"] is None:  # the previous release counted exactly these
            context = (row["captured_at"].date(), q, unit, service, 0, row["channel"])
            rollup[(*context, "*", 0)] += 1
            rollup.update((*context, item, value or 0) for item, value in row["answers"].items())
    for key, count in rollup.items():
        conn.execute(
            text(
                "INSERT INTO daily_rollup (day, questionnaire_id, unit_id, service_id, "
                "counter_id, channel, item, value, count) VALUES (:day, :q, :unit, :service, "
                ":counter, :channel, :item, :value, :count)"
            ),
            dict(
                zip(
                    ("day", "q", "unit", "service", "counter", "channel", "item", "value"),
                    key,
                    strict=True,
                )
            )
            | {"count": count},
        )
    conn.execute(
        text(
            "INSERT INTO visit_code (code_hash, service_id, created_at, used_at, response_id) "
            "VALUES (:hash, :service, :at, :at, 3)"
        ),
        {"hash": "0" * 64, "service": service, "at": datetime(2026, 3, 2, tzinfo=UTC)},
    )
    return rollup


def daily_rollup() -> Counter:
    """The rollups as releases up to 0006 kept them (a row per day, context, item and value)."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM daily_rollup WHERE count != 0")).mappings()
        names = ("questionnaire_id", "unit_id", "service_id", "counter_id", "channel")
        return Counter(
            {
                (
                    date.fromisoformat(str(r["day"])),
                    *(r[n] for n in names),
                    r["item"],
                    r["value"],
                ): r["count"]
                for r in rows
            }
        )


def _counted_per_day(counts: Counter) -> dict:
    return {key[0]: n for key, n in counts.items() if key[6] == "*" and n}


@pytest.fixture
def release_app(empty_database, tmp_path):  # noqa: F811
    """An app on a database at revision 0004, filled as the previous release would."""
    app = build_app(empty_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0004")
        questionnaire.ensure_default()
        make_catalogue()
        service = db.session.scalar(select(Service.id).order_by(Service.id))
        unit = db.session.scalar(select(Unit.id).filter_by(code="CTR"))
        q = questionnaire.active().id
        db.session.remove()
        with db.engine.begin() as conn:
            app.config["RELEASE_ROLLUP"] = _fill_release_0004(conn, service, unit, q)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _columns(conn, *names: str) -> dict:
    query = f"SELECT public_id, {', '.join(names)} FROM response"
    return {row[0]: tuple(row[1:]) for row in conn.execute(text(query))}


def test_0005_keeps_every_flag_and_its_effect_on_the_figures(release_app):
    app = release_app
    with app.app_context():
        before = daily_rollup()
        assert before == app.config["RELEASE_ROLLUP"]
        upgrade(revision="0005")
        with db.engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            converted = _columns(conn, "flag_reason", "flag_review")
            answers = conn.execute(text("SELECT count(*) FROM answer")).scalar()
            visit = conn.execute(text("SELECT response_id FROM visit_code")).scalar()
        assert revision == "0005"
        assert "flags" not in {c["name"] for c in inspect(db.engine).get_columns("response")}
        # Each row keeps its meaning: counted, awaiting review, or confirmed ...
        for row in _rows():
            reason, _sep, state = (row["flags"] or "").partition(";")
            expected = (reason or None, "confirmed" if state else None)
            assert converted[row["public_id"]] == expected, row["flags"]
        # ... nothing that refers to a response is lost when SQLite rebuilds the table ...
        assert answers == sum(len(r["answers"]) for r in _rows()) and visit == 3
        # ... and the figures are the same: what the new columns count is what was counted,
        # in the rollups of 0005 and in those that replace them (0007).
        assert daily_rollup() == before
        upgrade()
        assert rollups.recompute() == rollups.stored()
        assert rollups.counted() == sum(_counted_per_day(before).values())
        assert sum(_counted_per_day(before).values()) == OLD_FLAGS.count(None) * 2
        listed = {
            f.public_id: (f.reason, f.confirmed) for f in flags.flagged(visible=None, locale="vi")
        }
        assert listed == {
            r["public_id"]: (r["flags"].partition(";")[0], r["flags"].endswith(";confirmed"))
            for r in _rows()
            if r["flags"]
        }


def test_0005_rollups_follow_reviews_of_migrated_flags_and_the_downgrade_restores_them(
    release_app,
):
    app = release_app
    rows = _rows()
    pending = next(r["public_id"] for r in rows if r["flags"] == "fast")
    confirmed = next(r["public_id"] for r in rows if r["flags"] == "streak;confirmed")
    with app.app_context():
        upgrade()
        counted = rollups.counted()
        assert flags.review_flag(pending, decision="confirm", visible=None, actor="a@ag.vn")
        assert flags.review_flag(confirmed, decision="clear", visible=None, actor="a@ag.vn")
        assert rollups.stored() == rollups.recompute()
        assert rollups.counted() == counted + 1
        with db.engine.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(text("UPDATE response SET flag_review = 'confirmed' WHERE id = 1"))
        db.session.remove()
        downgrade(revision="0004")
        with db.engine.connect() as conn:
            restored = _columns(conn, "flags")
            answers = conn.execute(text("SELECT count(*) FROM answer")).scalar()
        assert "flag_reason" not in {c["name"] for c in inspect(db.engine).get_columns("response")}
        assert answers == sum(len(r["answers"]) for r in rows)
        assert restored == {
            r["public_id"]: (
                "fast;confirmed"
                if r["public_id"] == pending
                else None
                if r["public_id"] == confirmed
                else r["flags"],
            )
            for r in rows
        }
