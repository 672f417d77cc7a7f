"""The one-stop software's dossier file (survey.planning stores what it reads).

One row per day, unit and procedure: `date,unit,service,dossiers`, or the Vietnamese header
`ngày;đơn vị;thủ tục;số hồ sơ`. A file is checked whole before anything is written: one bad
line and nothing is stored, every bad line is reported.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from survey import catalogue, periods
from survey.catalogue_rules import FileRefused
from survey.extensions import db
from survey.filters import FIRST_DAY, LAST_DAY
from survey.i18n import lazy_text as _l
from survey.models import Service, Unit

MAX_DOSSIERS = 1_000_000  # per row: far past any real day or period
UPLOAD_LIMIT = 2 * 1024 * 1024  # bytes of an uploaded file (about 50,000 lines)
COLUMNS = ("date", "unit", "service", "dossiers")
# Header names accepted for each column, compared without case and diacritics (catalogue.fold).
HEADER_NAMES = {
    "date": {"date", "day", "ngay"},
    "unit": {"unit", "don vi", "ma don vi"},
    "service": {"service", "procedure", "thu tuc", "ma thu tuc"},
    "dossiers": {"dossiers", "so ho so", "ho so", "so luong ho so"},
}


@dataclass(frozen=True)
class LineError:
    line: int
    reason: object  # a lazy translated text

    def __str__(self) -> str:
        return _("Line %(line)s: %(reason)s", line=self.line, reason=self.reason)


class DossierError(FileRefused):
    """A dossier file refused whole."""


@dataclass(frozen=True)
class DossierRow:
    day: date
    unit_id: int
    service_id: int
    dossiers: int


def decode_text(data: bytes | str, refused: type[FileRefused] = FileRefused) -> str:
    """An uploaded file's text (UTF-8, a BOM dropped); `refused` when it is not UTF-8."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refused([LineError(1, _l("The file is not UTF-8 text."))]) from exc


def _columns(header: list[str]) -> dict[str, int]:
    """The position of each column in the header row; DossierError when one is missing."""
    found = {}
    for position, name in enumerate(header):
        text = " ".join(catalogue.fold(name).split())
        for column, names in HEADER_NAMES.items():
            if text in names and column not in found:
                found[column] = position
    if len(found) < len(COLUMNS):
        expected = _l(
            "The first line must name the columns: date, unit, service, dossiers "
            "(or: ngày, đơn vị, thủ tục, số hồ sơ)."
        )
        raise DossierError([LineError(1, expected)])
    return found


def _codes() -> tuple[dict[str, int], dict[str, int]]:
    """Unit ids by code; procedure ids by code and by national code."""
    units = dict(db.session.execute(select(Unit.code, Unit.id)).all())
    services = {}
    for code, national, service_id in db.session.execute(
        select(Service.code, Service.national_code, Service.id)
    ):
        services[code] = service_id
        if national:
            services.setdefault(national, service_id)
    return units, services


def _count(text: str) -> int | object:
    """The number of dossiers in a cell, or why it is not one."""
    if not re.fullmatch(r"-?[0-9]+", text):
        return _l("The number of dossiers must be a whole number, not “%(value)s”.", value=text)
    value = int(text)
    if value < 0:
        return _l("The number of dossiers must not be negative (%(value)s).", value=text)
    if value > MAX_DOSSIERS:
        return _l("The number of dossiers is too large (%(value)s).", value=text)
    return value


def _row(cells: dict[str, str], units: dict, services: dict) -> DossierRow | object:
    """A checked row, or why it cannot be imported."""
    day = periods.parse_local_date(cells["date"])
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        return _l("The date “%(value)s” is not a date dd/mm/yyyy.", value=cells["date"])
    if cells["unit"] not in units:
        return _l("There is no unit with the code %(code)s.", code=cells["unit"])
    if cells["service"] not in services:
        return _l("There is no procedure with the code %(code)s.", code=cells["service"])
    count = _count(cells["dossiers"])
    if not isinstance(count, int):
        return count
    return DossierRow(day, units[cells["unit"]], services[cells["service"]], count)


def parse(data: bytes | str) -> list[DossierRow]:
    """Check a whole dossier CSV (`,` or `;` between fields, a header row) and return its rows;
    raise DossierError listing every bad line otherwise."""
    text = decode_text(data, DossierError)
    first = text.split("\n", 1)[0]
    reader = csv.reader(
        io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ","
    )
    columns = _columns(next(reader, []))
    units, services = _codes()
    rows, errors, seen = [], [], {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        if len(cells) <= max(columns.values()):
            errors.append(LineError(line, _l("This line has too few fields.")))
            continue
        row = _row({name: cells[i].strip() for name, i in columns.items()}, units, services)
        key = (row.day, row.unit_id, row.service_id) if isinstance(row, DossierRow) else None
        if key in seen:
            row = _l("The same date, unit and procedure are on line %(line)s.", line=seen[key])
        if not isinstance(row, DossierRow):
            errors.append(LineError(line, row))
            continue
        seen[key] = line
        rows.append(row)
    if errors:
        raise DossierError(errors)
    return rows
