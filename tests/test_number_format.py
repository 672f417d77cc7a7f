"""Percentages and numbers on pages: the fast formatting gives exactly what Babel gives, in
every language, for ordinary figures and for the halves where rounding could differ."""

from __future__ import annotations

import random

import pytest
from flask_babel import force_locale, format_decimal, format_percent

from survey import i18n
from survey.config import LOCALES

VALUES = [0, 100, 87.5, 87.25, 87.35, 12.05, 12.15, 99.95, 0.05, -3.25, 66.66666666666667, 1500]


@pytest.mark.parametrize("locale", LOCALES)
def test_percentages_read_as_babel_writes_them(app, locale):
    rng = random.Random(7)
    values = VALUES + [rng.uniform(0, 100) for _ in range(2000)]
    values += [round(rng.uniform(0, 100), 2) for _ in range(2000)]
    with app.test_request_context(), force_locale(locale):
        for value in values:
            assert i18n.percent(value) == format_percent(value / 100, "#,##0.0%"), value


def test_a_vietnamese_percentage_has_a_decimal_comma(app):
    with app.test_request_context(), force_locale("vi"):
        assert i18n.percent(87.5) == "87,5%" and i18n.percent(None) == ""


@pytest.mark.parametrize("locale", LOCALES)
def test_counts_and_points_read_as_babel_writes_them(app, locale):
    rng = random.Random(8)
    counts = [0, 7, 999, 1000, 12345, 1234567, -4200] + [rng.randint(0, 10**7) for _ in range(500)]
    points = [0.05, 0.15, 2.25, 2.35, -1.25, 999.95, 12.0, 3] + [
        round(rng.uniform(-50, 50), 2) for _ in range(2000)
    ]
    with app.test_request_context(), force_locale(locale):
        for value in counts:
            assert i18n.decimal(value) == format_decimal(value), value
        for value in points:
            assert i18n.decimal(value, "#,##0.0") == format_decimal(value, "#,##0.0"), value
        assert i18n.decimal(1234.5) == format_decimal(1234.5)  # not a whole number: Babel's


def test_a_vietnamese_count_groups_with_dots(app):
    with app.test_request_context(), force_locale("vi"):
        assert i18n.decimal(1234567) == "1.234.567"
        assert i18n.decimal(2.25, "#,##0.0") == "2,2"
