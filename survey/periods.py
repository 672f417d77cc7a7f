"""Reporting periods as Vietnamese reports name them, in the centre's local time.

A period is named by a keyword, the same on pages, in the API and on the command line:

    this-month  last-month  this-quarter  last-quarter  this-year  last-year   (around today)
    2026  2026-H1  2026-H2  2026-9M  2026-Q3  2026-M07                         (named)
    custom                                                                     (from/to dates)

Periods are calendar-based by default. With a reporting cut-off day C (SURVEY_REPORT_CUTOFF,
Nghị định 09/2019/NĐ-CP uses 15), a reporting month M runs from day C of the month before to day
C − 1 of M; quarters, half-years and years are made of those months, and today belongs to the
reporting month that holds it (with C = 15, 20 November falls in December's period).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

RELATIVE = (
    "this-month",
    "last-month",
    "this-quarter",
    "last-quarter",
    "this-year",
    "last-year",
)
PRESETS = (*RELATIVE, "custom")
NAMED = re.compile(r"^(?P<year>\d{4})(?:-(?P<part>H[12]|9M|Q[1-4]|M(?:0[1-9]|1[0-2])))?$")
ROMAN = ("I", "II", "III", "IV")
Month = tuple[int, int]  # (year, month)


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # inclusive
    preset: str  # the keyword asked for: a relative one, "custom", or a named one
    key: str = ""  # the named period it resolved to ("2026-Q3"), or "from..to" for custom dates

    def months(self) -> list[tuple[int, int]]:
        """The (year, month) pairs the period touches."""
        months, year, month = [], self.since.year, self.since.month
        while (year, month) <= (self.until.year, self.until.month):
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


def minus_year(day: date) -> date:
    """The same day a year earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def local_today(timezone: str) -> date:
    """Today's date in the centre's time zone."""
    return datetime.now(ZoneInfo(timezone)).date()


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _shift(month: Month, by: int) -> Month:
    index = month[0] * 12 + month[1] - 1 + by
    return index // 12, index % 12 + 1


def _span(first: Month, last: Month, cutoff: int | None) -> tuple[date, date]:
    """The days of reporting months `first` to `last`."""
    if not cutoff or cutoff == 1:
        return date(*first, 1), _month_end(*last)
    before = _shift(first, -1)
    return date(*before, cutoff), date(*last, cutoff - 1)


def reporting_month(day: date, cutoff: int | None = None) -> Month:
    """The reporting month that holds `day`."""
    if cutoff and cutoff > 1 and day.day >= cutoff:
        return _shift((day.year, day.month), 1)
    return day.year, day.month


def _named_months(year: int, part: str | None) -> tuple[Month, Month]:
    """The first and last month of a named period."""
    if part is None:
        return (year, 1), (year, 12)
    if part[0] == "M":
        return (year, int(part[1:])), (year, int(part[1:]))
    if part[0] == "Q":
        first = 3 * int(part[1]) - 2
        return (year, first), (year, first + 2)
    if part == "9M":
        return (year, 1), (year, 9)
    return ((year, 1), (year, 6)) if part == "H1" else ((year, 7), (year, 12))


def _relative_key(keyword: str, today: date, cutoff: int | None) -> str:
    """The named period a relative keyword stands for today ("last-quarter" → "2026-Q3")."""
    year, month = reporting_month(today, cutoff)
    quarter = (month - 1) // 3 + 1
    if keyword == "this-month":
        return f"{year}-M{month:02d}"
    if keyword == "last-month":
        return "{}-M{:02d}".format(*_shift((year, month), -1))
    if keyword == "this-quarter":
        return f"{year}-Q{quarter}"
    if keyword == "last-quarter":
        return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    return str(year if keyword == "this-year" else year - 1)


def named_period(keyword: str, today: date, cutoff: int | None = None) -> Period | None:
    """The period a keyword names (relative or named), or None when it names none."""
    key = _relative_key(keyword, today, cutoff) if keyword in RELATIVE else keyword
    match = NAMED.match(key or "")
    if match is None:
        return None
    first, last = _named_months(int(match["year"]), match["part"])
    try:
        since, until = _span(first, last, cutoff)
    except ValueError:  # before year 1
        return None
    return Period(since, until, keyword, key)


def preset_period(preset: str, today: date, cutoff: int | None = None) -> Period:
    """The dates of a keyword around `today`; this month for an unknown one."""
    return named_period(preset, today, cutoff) or named_period("this-month", today, cutoff)


def custom_period(since: date, until: date) -> Period:
    return Period(since, until, "custom", f"{since.isoformat()}..{until.isoformat()}")


def recent_keywords(today: date, cutoff: int | None = None) -> dict[int, list[str]]:
    """The named periods a page offers, per year: this year's (up to the current month) and
    last year's months, quarters, half-years, nine months and the year itself."""
    year, month = reporting_month(today, cutoff)
    offered = {}
    for y in (year, year - 1):
        last = month if y == year else 12
        months = [f"{y}-M{m:02d}" for m in range(1, last + 1)]
        quarters = [f"{y}-Q{q}" for q in range(1, (last - 1) // 3 + 2)]
        parts = [f"{y}-H1"] + ([f"{y}-9M", f"{y}-H2"] if last > 6 else [])
        offered[y] = [*months, *quarters, *parts, str(y)]
    return offered


def label_parts(key: str) -> tuple[str, int, int]:
    """(kind, number, year) of a named period key: ("Q", 3, 2026) for "2026-Q3"; the kind is
    "Y", "H", "9M", "Q" or "M"."""
    match = NAMED.match(key)
    if match is None:
        raise ValueError(key)
    part, year = match["part"], int(match["year"])
    if part is None:
        return "Y", 0, year
    if part == "9M":
        return "9M", 9, year
    return part[0], int(part[1:]), year


def parse_local_date(value: str | None) -> date | None:
    """A date as typed on a page: dd/mm/yyyy (also d/m/yyyy, with - or . between); an ISO
    date from an older link is read too. None when it is neither."""
    text = (value or "").strip()
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None
