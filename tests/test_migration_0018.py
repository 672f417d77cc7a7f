"""Migration 0018 upgrades a database at 0017 whose comments were tagged: each response gets its
topics as bits, the rollups count them per topic (a flagged rating's are not counted), the
dashboard's figures then read them, and the downgrade drops the columns and keeps the tags."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from survey import rollups
from survey.extensions import db
from tests.test_migration_0004 import empty_database  # noqa: F401  (a fixture)
from tests.test_migration_0017 import CAPTURED, app_at_0016  # noqa: F401  (the fixture)

DAY, MONTH = "2026-03-02", "2026-03-01"  # CAPTURED, in Vietnam
ROLLUPS = {  # the rows of the four responses counted at 0017 (the fifth is flagged)
    "rollup_day": ("day, questionnaire_id, unit_id, service_id, counter_id, channel", DAY),
    "rollup_month": ("month, questionnaire_id, unit_id, service_id", MONTH),
    "rollup_unit_month": ("month, questionnaire_id, unit_id", MONTH),
    "rollup_service_month": ("month, questionnaire_id, service_id, channel", MONTH),
}


def _fill_0017(conn) -> None:
    """A flagged fifth rating with a comment, and the four counted ones in the rollups."""
    q, unit, service = conn.execute(
        text("SELECT questionnaire_id, unit_id, service_id FROM response WHERE id = 1")
    ).one()
    conn.execute(
        text(
            "INSERT INTO response (id, public_id, questionnaire_id, service_id, unit_id, "
            "channel, locale, captured_at, received_at, updated_at, status, comment, "
            "flag_reason) VALUES (5, '00000000-0000-4000-8000-000000000005', :q, :s, :u, "
            "'qr', 'vi', :at, :at, :at, 'complete', 'Chờ lâu', 'burst')"
        ),
        {"q": q, "s": service, "u": unit, "at": CAPTURED},
    )
    conn.execute(  # what the tagging of 0017 gives it
        text(
            "INSERT INTO comment_topic (response_id, topic, source, tagged_at) "
            "VALUES (5, 'thoi_gian_cho', 'auto', :at)"
        ),
        {"at": CAPTURED},
    )
    context = {"questionnaire_id": q, "unit_id": unit, "service_id": service}
    context |= {"counter_id": 0, "channel": "qr"}
    for table, (key, first) in ROLLUPS.items():
        names = key.split(", ")
        values = ", ".join(f":{n}" for n in names)
        conn.execute(
            text(f"INSERT INTO {table} ({key}, responses, comments) VALUES ({values}, 4, 3)"),
            {**context, names[0]: first},
        )


def test_0018_counts_the_tagged_topics_in_every_rollup(app_at_0016):  # noqa: F811
    with app_at_0016.app_context():
        upgrade(revision="0017")
        with db.engine.begin() as conn:
            _fill_0017(conn)
        upgrade(revision="0018")
        with db.engine.connect() as conn:
            bits = conn.execute(text("SELECT id, topics FROM response ORDER BY id")).all()
            # 1: waiting time (bit 1) and attitude (2); 2: no comment; 3: about nothing;
            # 4: fees (4); 5: waiting time, flagged
            assert [tuple(b) for b in bits] == [(1, 3), (2, None), (3, 0), (4, 4), (5, 1)]
            for table in ROLLUPS:
                row = conn.execute(
                    text(
                        f"SELECT t_thoi_gian_cho, t_thai_do, t_phi_le_phi, t_huong_dan FROM {table}"
                    )
                ).one()
                assert tuple(row) == (1, 1, 1, None), table
        assert rollups.stored() == rollups.recompute()
        db.session.remove()  # its transaction would hold the tables the downgrade alters
        downgrade(revision="0017")
        columns = {c["name"] for c in inspect(db.engine).get_columns("rollup_month")}
        assert "t_thai_do" not in columns
        assert "topics" not in {c["name"] for c in inspect(db.engine).get_columns("response")}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM comment_topic")).scalar() == 5
