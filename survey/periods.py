"""Reporting periods: presets in the centre's local time, and custom dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PRESETS = ("this-month", "last-month", "this-quarter", "this-year", "last-year", "custom")


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # inclusive
    preset: str

    def months(self) -> list[tuple[int, int]]:
        """The (year, month) pairs the period touches."""
        months, year, month = [], self.since.year, self.since.month
        while (year, month) <= (self.until.year, self.until.month):
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


class PeriodError(ValueError):
    """A period that cannot be used; `field` names the parameter."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field, self.message = field, message


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


def preset_period(preset: str, today: date) -> Period:
    """The dates of a preset period around `today`."""
    y, m = today.year, today.month
    if preset == "last-month":
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        return Period(date(y, m, 1), _month_end(y, m), preset)
    if preset == "this-quarter":
        first = 3 * ((m - 1) // 3) + 1
        return Period(date(y, first, 1), _month_end(y, first + 2), preset)
    if preset == "this-year":
        return Period(date(y, 1, 1), date(y, 12, 31), preset)
    if preset == "last-year":
        return Period(date(y - 1, 1, 1), date(y - 1, 12, 31), preset)
    return Period(date(y, m, 1), _month_end(y, m), "this-month")


def parse_date(value: str, field: str, message) -> date:
    """A YYYY-MM-DD date, or PeriodError."""
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise PeriodError(field, message) from exc
