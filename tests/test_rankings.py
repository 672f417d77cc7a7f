"""Rankings of units, agencies, lĩnh vực and procedures with the change against the same period
a year before: n < 30 unranked and listed last, and a year-over-year table of comparable
groups only, saying how many were left out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from survey import rankings
from survey.filters import SummaryFilterForm
from tests.builders import rate

NOW, BEFORE = datetime(2026, 8, 10, 3, tzinfo=UTC), datetime(2025, 8, 10, 3, tzinfo=UTC)
# (procedure, unit, when, how many, TC1 answer)
RATINGS = [
    ("CT-BANSAO", "CTR", NOW, 30, 5),
    ("CT-BANSAO", "CTR", NOW, 10, 2),  # 75% of 40
    ("HT-KHAISINH", "XA1", NOW, 35, 5),  # 100% of 35
    ("HT-KETHON", "XA1", NOW, 10, 5),  # too few to rank
    ("HT-KHAISINH", "XA1", BEFORE, 20, 5),
    ("HT-KHAISINH", "XA1", BEFORE, 15, 2),  # 57.1% of 35
    ("HT-KETHON", "XA1", BEFORE, 40, 4),
]


@pytest.fixture
def ranked(app):
    with app.app_context():
        for service, unit, when, count, value in RATINGS:
            for _ in range(count):
                rate(service=service, unit=unit, answers={"OV": 5, "TC1": value}, captured_at=when)
    with app.test_request_context("/admin/?period=2026-Q3&lang=vi"):
        filters = SummaryFilterForm.from_query().resolve(visible=None, today=NOW.date())
        yield rankings.rankings(filters, locale="vi")


def _table(rows):
    return [
        (r.key, r.rank, r.now.n, None if r.now.index is None else round(r.now.index, 1))
        for r in rows
    ]


def test_procedures_are_ranked_best_first_and_small_ones_last_unranked(ranked):
    assert _table(ranked["service"]) == [
        ("HT-KHAISINH", 1, 35, 100.0),
        ("CT-BANSAO", 2, 40, 75.0),
        ("HT-KETHON", None, 10, 100.0),
    ]


def test_agencies_fields_and_units_are_ranked_from_their_procedures(ranked):
    assert _table(ranked["agency"]) == [("UBNDXA", 1, 45, 100.0), ("STP", 2, 40, 75.0)]
    assert _table(ranked["field"]) == [("HOTICH", 1, 45, 100.0), ("CHUNGTHUC", 2, 40, 75.0)]
    assert _table(ranked["unit"]) == [("XA1", 1, 45, 100.0), ("CTR", 2, 40, 75.0)]


def test_each_group_carries_its_change_against_the_year_before(ranked):
    birth = ranked["service"][0]
    assert birth.before.n == 35 and round(birth.change, 1) == round(100 - 100 * 20 / 35, 1)
    assert birth.differs is True
    assert ranked["service"][1].before.n == 0 and ranked["service"][1].change is None


def test_the_year_over_year_table_keeps_groups_with_30_answers_on_both_sides(ranked):
    table = rankings.compare(ranked["service"])
    assert [r.key for r in table.rows] == ["HT-KHAISINH"]
    assert table.left_out == 2  # CT-BANSAO had none a year before, HT-KETHON has 10 now
    units = rankings.compare(ranked["unit"])
    assert [r.key for r in units.rows] == ["XA1"] and units.left_out == 1
