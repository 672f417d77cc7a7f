"""The names of periods and channels as the pages, the reports and the exports write them."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from survey import periods
from survey.i18n import lazy_text as _l

PERIOD_LABELS = {
    "this-month": _l("This month"),
    "last-month": _l("Last month"),
    "this-quarter": _l("This quarter"),
    "last-quarter": _l("Last quarter"),
    "this-year": _l("This year"),
    "last-year": _l("Last year"),
    "custom": _l("Custom dates"),
}
# The name of a named period, by its kind (periods.label_parts).
NAMED_LABELS = {
    "Y": lambda n, roman, y: _l("Year %(year)s", year=y),
    "H": lambda n, roman, y: (
        _l("First half of %(year)s", year=y) if n == 1 else _l("Second half of %(year)s", year=y)
    ),
    "9M": lambda n, roman, y: _l("First nine months of %(year)s", year=y),
    "Q": lambda n, roman, y: _l("Quarter %(roman)s/%(year)s", roman=roman, number=n, year=y),
    "M": lambda n, roman, y: _l("Month %(month)s/%(year)s", month=str(n).zfill(2), year=y),
}
CHANNEL_LABELS = {
    "kiosk": _l("Kiosk"),
    "qr": _l("QR code on a phone"),
    "web": _l("Web"),
    "paper": _l("Paper form"),
}


def period_label(key: str) -> str:
    """A period's name as reports write it: "Quý III/2026", "6 tháng đầu năm 2026"; custom
    dates as "dd/mm/yyyy – dd/mm/yyyy"."""
    if ".." in key:
        since, until = (date.fromisoformat(part) for part in key.split(".."))
        return f"{since:%d/%m/%Y} – {until:%d/%m/%Y}"
    kind, number, year = periods.label_parts(key)
    roman = periods.ROMAN[number - 1] if kind == "Q" else ""
    return str(NAMED_LABELS[kind](number, roman, year))


def period_choices(today: date, cutoff: int | None) -> dict:
    """The period <select>: the relative periods, then each recent year's named ones."""
    recent = [(preset, PERIOD_LABELS[preset]) for preset in periods.PRESETS]
    named = periods.recent_keywords(today, cutoff)
    return {
        _("Recent"): recent,
        **{str(year): [(key, period_label(key)) for key in keys] for year, keys in named.items()},
    }
