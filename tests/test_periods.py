"""Reporting periods as reports name them: every keyword, the same in the API and on the
dashboard, a quarter against the same quarter a year before, the reporting cut-off
(SURVEY_REPORT_CUTOFF), and custom dates typed as dd/mm/yyyy on pages and ISO in the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from survey import accounts, dashboard, periods
from survey.filters import SummaryFilterForm
from survey.period_labels import period_label
from tests.builders import PASSWORD, api_json, bearer, make_user, rate, sign_in
from tests.conftest import build_app

TODAY = date(2026, 11, 20)
PER_DAY = 5
CALENDAR = {
    "this-month": ("2026-11-01", "2026-11-30", "2026-M11"),
    "last-month": ("2026-10-01", "2026-10-31", "2026-M10"),
    "this-quarter": ("2026-10-01", "2026-12-31", "2026-Q4"),
    "last-quarter": ("2026-07-01", "2026-09-30", "2026-Q3"),
    "this-year": ("2026-01-01", "2026-12-31", "2026"),
    "last-year": ("2025-01-01", "2025-12-31", "2025"),
    "2026": ("2026-01-01", "2026-12-31", "2026"),
    "2026-H1": ("2026-01-01", "2026-06-30", "2026-H1"),
    "2026-H2": ("2026-07-01", "2026-12-31", "2026-H2"),
    "2026-9M": ("2026-01-01", "2026-09-30", "2026-9M"),
    "2026-Q3": ("2026-07-01", "2026-09-30", "2026-Q3"),
    "2026-M07": ("2026-07-01", "2026-07-31", "2026-M07"),
    "2024-M02": ("2024-02-01", "2024-02-29", "2024-M02"),
}
# Nghị định 09/2019: a reporting month runs from the 15th of the month before to the 14th;
# 20 November already belongs to December's period.
CUTOFF_15 = {
    "this-month": ("2026-11-15", "2026-12-14", "2026-M12"),
    "last-month": ("2026-10-15", "2026-11-14", "2026-M11"),
    "last-quarter": ("2026-06-15", "2026-09-14", "2026-Q3"),
    "this-year": ("2025-12-15", "2026-12-14", "2026"),
    "2026-H1": ("2025-12-15", "2026-06-14", "2026-H1"),
    "2026-9M": ("2025-12-15", "2026-09-14", "2026-9M"),
    "2026-Q1": ("2025-12-15", "2026-03-14", "2026-Q1"),
}


@pytest.mark.parametrize(("keyword", "want"), CALENDAR.items())
def test_each_keyword_names_its_calendar_days(keyword, want):
    period = periods.named_period(keyword, TODAY)
    assert (period.since.isoformat(), period.until.isoformat(), period.key) == want


@pytest.mark.parametrize(("keyword", "want"), CUTOFF_15.items())
def test_each_keyword_with_the_reporting_cut_off(keyword, want):
    period = periods.named_period(keyword, TODAY, cutoff=15)
    assert (period.since.isoformat(), period.until.isoformat(), period.key) == want


@pytest.mark.parametrize(
    "keyword", ["2026-Q5", "2026-M13", "2026-M7", "26", "next-year", "", "0000"]
)
def test_what_names_no_period(keyword):
    assert periods.named_period(keyword, TODAY) is None


def test_last_quarter_in_january_is_the_fourth_of_the_year_before():
    assert periods.named_period("last-quarter", date(2027, 1, 3)).key == "2026-Q4"


@pytest.mark.parametrize(
    ("key", "vi"),
    [
        ("2026-Q3", "Quý III/2026"),
        ("2026-H1", "6 tháng đầu năm 2026"),
        ("2026-9M", "9 tháng đầu năm 2026"),
        ("2026-M07", "Tháng 07/2026"),
        ("2025", "Năm 2025"),
        ("2026-01-05..2026-02-10", "05/01/2026 – 10/02/2026"),
    ],
)
def test_periods_are_named_as_vietnamese_reports_name_them(app, key, vi):
    with app.test_request_context("/?lang=vi"):
        assert period_label(key) == vi


def _at(day: str) -> datetime:
    """Noon, local time, of a day (as UTC)."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC) + timedelta(hours=5)


@pytest.fixture
def rated(app):
    """Ratings on known days: PER_DAY on each of these days (a figure of fewer than 5
    ratings is never shown), all answers 5."""
    days = ["2025-08-10", "2025-08-11", "2026-06-20", "2026-07-01", "2026-08-10", "2026-09-30"]
    with app.app_context():
        for day in days:
            for _ in range(PER_DAY):
                rate(answers={"OV": 5, "TC1": 5}, captured_at=_at(day))
        make_user("admin@ag.vn", "admin")
        token = accounts.create_api_token(accounts.find_user("admin@ag.vn"), actor="test")
    return app, token


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("period=2026-Q3", 3),
        ("period=2026-M07", 1),
        ("period=2026-H1", 1),
        ("period=2026-9M", 4),
        ("period=2026", 4),
        ("period=2025-Q3", 2),
        ("period=custom&from=2026-06-20&to=2026-07-01", 2),
    ],
)
def test_the_api_counts_the_ratings_of_each_period(rated, query, count):
    app, token = rated
    assert api_json(app, token, f"/api/v1/summary?{query}")["responses"] == count * PER_DAY


def test_relative_keywords_follow_today(rated):
    app, token = rated
    with app.app_context():
        today = periods.local_today(app.config["SURVEY_TIMEZONE"])
        key = periods.named_period("last-year", today).key
    by_keyword = api_json(app, token, "/api/v1/summary?period=last-year")
    by_name = api_json(app, token, f"/api/v1/summary?period={key}")
    assert by_keyword["responses"] == by_name["responses"]
    assert by_keyword["period"] == by_name["period"]


def test_a_quarter_is_compared_with_the_same_quarter_a_year_before(rated):
    app, _token = rated
    with app.test_request_context("/admin/?period=2026-Q3"):
        filters = SummaryFilterForm.from_query().resolve(visible=None, today=TODAY)
        board = dashboard.build_dashboard(filters, locale="vi", with_comments=False)
    assert (filters.since, filters.until, filters.period) == (
        date(2026, 7, 1),
        date(2026, 9, 30),
        "2026-Q3",
    )
    assert board.summary.figures.responses == 3 * PER_DAY
    assert board.overall_change.before.n == 2 * PER_DAY  # 10 and 11 August 2025


def test_the_cut_off_moves_a_rating_into_the_next_quarter(database_url, tmp_path, rated):
    _app, _token = rated
    cut = build_app(database_url, tmp_path / "cut", SURVEY_REPORT_CUTOFF=15)
    with cut.app_context():
        token = accounts.create_api_token(accounts.find_user("admin@ag.vn"), actor="test")
    # 20 June 2026 is in Q3 from 15 June; 30 September is already in Q4.
    assert api_json(cut, token, "/api/v1/summary?period=2026-Q3")["responses"] == 3 * PER_DAY
    assert api_json(cut, token, "/api/v1/summary?period=2026-Q2")["responses"] == 0
    calendar = api_json(_app, _token, "/api/v1/summary?period=2026-Q2")
    assert calendar["responses"] == PER_DAY and calendar["period"] == "2026-Q2"


def test_pages_take_dates_as_day_month_year(rated):
    app, _token = rated
    client = app.test_client()
    sign_in(client, "admin@ag.vn", PASSWORD)
    page = client.get("/admin/?period=custom&from=20/06/2026&to=01/07/2026")
    assert page.status_code == 200 and "20/06/2026" in page.text
    wrong = client.get("/admin/?period=custom&from=06/20/2026&to=07/01/2026")
    assert wrong.status_code == 400 and "dd/mm/yyyy" in wrong.text


def test_the_api_keeps_iso_dates_and_refuses_unknown_periods(rated):
    app, token = rated
    client = app.test_client()
    local = client.get("/api/v1/summary?from=20/06/2026&to=01/07/2026", headers=bearer(token))
    assert local.status_code == 400 and "YYYY-MM-DD" in local.get_json()["errors"][0]["message"]
    unknown = client.get("/api/v1/summary?period=2026-Q5", headers=bearer(token))
    assert unknown.status_code == 400
    assert unknown.get_json()["errors"][0]["field"] == "period"
