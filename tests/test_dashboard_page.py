"""The dashboard as a director reads it: the period named with its dates, the four rankings
(small groups greyed and unranked), the year-over-year table of comparable groups with the
count of those left out, the wording of the headline and of its two n's, the target line of
the trend, and counters always named with their unit."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from survey import periods
from tests.builders import make_user, rate, sign_in
from tests.test_rankings import NOW
from tests.test_rankings import RATINGS as RANKED_RATINGS

# The ratings of tests/test_rankings.py, and a few that answer the general question only.
RATINGS = [*RANKED_RATINGS, ("HT-KETHON", "XA1", NOW, 5, None)]
Q3 = "/admin/?period=2026-Q3"


@pytest.fixture
def manager(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
    assert sign_in(client, "admin@ag.vn").status_code == 303
    return client


@pytest.fixture
def rated(app, manager):
    with app.app_context():
        for service, unit, when, count, value in RATINGS:
            for _ in range(count):
                answers = {"OV": 5} if value is None else {"OV": 5, "TC1": value}
                rate(service=service, unit=unit, answers=answers, captured_at=when)
    return manager


def _section(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    return page[start : page.index("</section>", start)]


def _ranking(page: str, kind: str) -> list[tuple[str, str, bool]]:
    """(rank, name, greyed) of each row of one ranking."""
    rows = re.findall(
        r'<tr( class="small-n")?><td class="num rank">(\d+|–)[^<]*'
        r'(?:<span[^>]*>[^<]*</span>)?</td>\s*<th scope="row">([^<]+)',
        _section(page, f"h-rank-{kind}"),
    )
    return [(rank, name.strip(), bool(grey)) for grey, rank, name in rows]


def test_procedures_are_ranked_best_first_and_small_ones_greyed_without_rank(rated):
    page = rated.get(Q3 + "&by=service").text
    assert _ranking(page, "service") == [
        ("1", "Đăng ký khai sinh", False),
        ("2", "Chứng thực bản sao từ bản chính", False),
        ("–", "Đăng ký kết hôn", True),
    ]
    small = _section(page, "h-rank-service").split("Đăng ký kết hôn")[1]
    assert small.startswith(' <span class="tag">ít dữ liệu</span>')


def test_units_agencies_and_fields_are_ranked_beside_procedures(rated):
    page = rated.get(Q3).text  # units first
    assert _ranking(page, "unit") == [
        ("1", "Điểm phục vụ xã Một", False),
        ("2", "Trung tâm Phục vụ hành chính công tỉnh", False),
    ]
    assert 'id="h-rank-agency"' not in page  # one ranking at a time: the tabs are links
    tabs = re.findall(r'<a href="([^"]+)"( aria-current="page")?>', _section(page, "h-ranked"))
    assert tabs[0] == ("/admin/?period=2026-Q3&amp;by=unit#h-ranked", ' aria-current="page"')
    assert ("/admin/?period=2026-Q3&amp;by=agency#h-ranked", "") in tabs
    page = rated.get(Q3 + "&by=agency").text
    assert _ranking(page, "agency") == [
        ("1", "Ủy ban nhân dân cấp xã", False),
        ("2", "Sở Tư pháp", False),
    ]
    page = rated.get(Q3 + "&by=field").text
    assert _ranking(page, "field") == [("1", "Hộ tịch", False), ("2", "Chứng thực", False)]
    page = rated.get(Q3 + "&by=nonsense").text  # unknown: the units
    assert _ranking(page, "unit")[0] == ("1", "Điểm phục vụ xã Một", False)
    unit = _section(rated.get(Q3).text, "h-rank-unit")
    # the commune: 100% of 45 against 80% of 75 (20 + 40 of 35 + 40) a year before
    assert "+20,0 điểm" in unit and "năm trước: n = 75" in unit


def test_the_year_over_year_table_compares_only_groups_with_30_answers_on_both_sides(rated):
    page = rated.get(Q3).text
    procedures = _section(rated.get(Q3 + "&by=service").text, "h-yoy-service")
    assert re.findall(r'<th scope="row">([^<]+)', procedures) == ["Đăng ký khai sinh"]
    assert "2 nhóm không đủ 30 ý kiến ở một trong hai kỳ nên không so sánh." in procedures
    units = _section(page, "h-yoy-unit")
    assert re.findall(r'<th scope="row">([^<]+)', units) == ["Điểm phục vụ xã Một"]
    assert "1 nhóm không đủ 30 ý kiến ở một trong hai kỳ nên không so sánh." in units
    total = _section(page, "h-yoy").split('<tr class="total">')[1].split("</tr>")[0]
    assert "(n = 85)" in total and "(n = 75)" in total


def test_the_headline_and_its_two_counts_are_worded_for_a_report(rated):
    page = rated.get(Q3).text
    assert "<h1>Chỉ số hài lòng về sự phục vụ (theo cách tiếp cận SIPAS)</h1>" in page
    assert "Hài lòng chung (câu hỏi tổng quát)" in page and "OV" not in page
    assert (
        "Chỉ số tính trên 85 phiếu có trả lời các tiêu chí chi tiết; tỷ lệ hài lòng chung "
        "tính trên 90 phiếu có trả lời câu hỏi tổng quát."
    ) in page


def test_the_trend_shows_n_per_month_and_the_target_only_when_one_is_set(app, rated):
    trend = _section(rated.get(Q3).text, "h-trend")
    assert 'class="n-label">85</text>' in trend  # August 2026: 85 rated the criteria
    assert 'class="target"' not in trend and "Mục tiêu" not in trend
    app.config["SURVEY_TARGET"] = 90.0
    trend = _section(rated.get(Q3).text, "h-trend")
    assert trend.count('class="target"') == 2  # the line and its legend
    assert "Mục tiêu: 90,0%" in trend and "SIPAS toàn quốc năm 2024: 83,94%" in trend


def test_every_counter_is_named_with_its_unit(rated):
    select = _section(rated.get(Q3).text.replace("</select>", "</section>"), "f-counter")
    assert re.findall(r"<option [^>]*>([^<]+)</option>", select)[1:] == [
        "Quầy 01 · Điểm phục vụ xã Một",
        "Quầy 01 – Tư pháp · Trung tâm Phục vụ hành chính công tỉnh",
    ]


def _last_quarter(today: date) -> tuple[int, date, date]:
    first_of_quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    until = first_of_quarter - timedelta(days=1)
    since = date(until.year, until.month - 2, 1)
    return (until.month // 3, since, until)


def test_last_quarter_names_its_quarter_and_dates(app, manager):
    with app.app_context():
        today = periods.local_today(app.config["SURVEY_TIMEZONE"])
    number, since, until = _last_quarter(today)
    page = manager.get("/admin/?period=last-quarter").text
    roman = ("I", "II", "III", "IV")[number - 1]
    assert f"Quý {roman}/{since.year} ({since:%d/%m/%Y} – {until:%d/%m/%Y})" in page, re.findall(
        r'<p class="lead period-name">.*?</p>', page
    )
    assert '<option selected value="last-quarter">Quý trước</option>' in page
    assert f'<optgroup label="{today.year - 1}">' in page
    assert 'placeholder="dd/mm/yyyy"' in page


def test_custom_dates_name_the_period_by_its_dates(manager):
    page = manager.get("/admin/?period=custom&from=01/02/2026&to=15/03/2026").text
    assert '<p class="lead period-name">01/02/2026 – 15/03/2026</p>' in page
