"""Survey planning: the dossiers (hồ sơ) each unit handled per procedure, and the sample each
procedure needs (SIPAS.md §6).

Dossiers come from the one-stop software's CSV (one row per day, unit and procedure: `date,
unit,service,dossiers`, or the Vietnamese header `ngày;đơn vị;thủ tục;số hồ sơ`) or are typed
by a manager for a whole period. A file is checked whole before anything is written: one bad
line and nothing is stored, every bad line is reported; importing the same file again replaces
its rows (one row per day, unit and procedure). A period typed by hand is stored on the
period's first day with the source "manual" and replaces every row of that unit and procedure
inside the period, so the period's total is the number typed.

The sample a procedure needs for a ±5% margin at 95% is Yamane's n = N / (1 + N·e²), rounded
up (N = 1,200 → 300); a procedure whose ratings fall short of it is flagged "mẫu chưa đủ" and
left out of the rankings (survey.rankings).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from survey import audit, catalogue, periods, rollup_query
from survey.catalogue_rules import FileRefused
from survey.extensions import db
from survey.filters import FIRST_DAY, LAST_DAY, Filters, context_conditions
from survey.i18n import lazy_text as _l
from survey.models import DossierCount, Service, Unit

MARGIN = Fraction(1, 20)  # ±5 points, about 95% confidence
MAX_DOSSIERS = 1_000_000  # per row: far past any real day or period
UPLOAD_LIMIT = 2 * 1024 * 1024  # bytes of an uploaded file (about 50,000 lines)
KINDS = ("unit", "agency", "field", "service")  # the groups rankings check against dossiers
COLUMNS = ("date", "unit", "service", "dossiers")
# Header names accepted for each column, compared without case and diacritics (catalogue.fold).
HEADER_NAMES = {
    "date": {"date", "day", "ngay"},
    "unit": {"unit", "don vi", "ma don vi"},
    "service": {"service", "procedure", "thu tuc", "ma thu tuc"},
    "dossiers": {"dossiers", "so ho so", "ho so", "so luong ho so"},
}


def sample_needed(dossiers: int, margin: Fraction = MARGIN) -> int:
    """Yamane's sample for `dossiers` handled: ceil(N / (1 + N·e²)), exact (N = 1,200 → 300)."""
    if dossiers <= 0:
        return 0
    return math.ceil(Fraction(dossiers) / (1 + dossiers * margin * margin))


# --- Reading a file --------------------------------------------------------------------------


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


# --- Storing ---------------------------------------------------------------------------------


class OutsideScope(PermissionError):
    """Dossiers of a unit the account may not see."""


@dataclass(frozen=True)
class Imported:
    rows: int
    added: int
    replaced: int
    since: date | None
    until: date | None


def _existing(rows: list[DossierRow]) -> dict[tuple, DossierCount]:
    """The stored rows that `rows` will replace, by (day, unit, procedure)."""
    query = select(DossierCount).where(
        DossierCount.day.between(min(r.day for r in rows), max(r.day for r in rows)),
        DossierCount.unit_id.in_({r.unit_id for r in rows}),
        DossierCount.service_id.in_({r.service_id for r in rows}),
    )
    return {(d.day, d.unit_id, d.service_id): d for d in db.session.scalars(query)}


def import_csv(
    data: bytes | str, *, actor: str, name: str = "", visible: set[int] | None = None
) -> Imported:
    """Check and store a dossier CSV in one transaction, replacing the rows of the same day, unit
    and procedure; audited. DossierError for bad lines, OutsideScope when a line names a unit
    outside `visible` (None: every unit); nothing is stored then."""
    rows = parse(data)
    if visible is not None and any(r.unit_id not in visible for r in rows):
        raise OutsideScope(name)
    stored = _existing(rows) if rows else {}
    for row in rows:
        found = stored.get((row.day, row.unit_id, row.service_id))
        if found is None:
            found = DossierCount(day=row.day, unit_id=row.unit_id, service_id=row.service_id)
            db.session.add(found)
        found.dossiers, found.source, found.updated_by = row.dossiers, "import", actor
    result = Imported(
        len(rows),
        len(rows) - len(stored),
        len(stored),
        min((r.day for r in rows), default=None),
        max((r.day for r in rows), default=None),
    )
    detail = {"rows": result.rows, "added": result.added, "replaced": result.replaced}
    if rows:
        detail |= {"from": result.since.isoformat(), "to": result.until.isoformat()}
    audit.record("dossiers.import", actor=actor, target=name or None, detail=detail)
    return result


def enter(
    period: periods.Period, *, unit: Unit, service: Service, dossiers: int, actor: str
) -> DossierCount:
    """Store `dossiers` handled in `period` by hand: one row on the period's first day (source
    "manual") that replaces every row of the unit and procedure inside the period; audited."""
    db.session.execute(
        delete(DossierCount).where(
            DossierCount.unit_id == unit.id,
            DossierCount.service_id == service.id,
            DossierCount.day.between(period.since, period.until),
        )
    )
    row = DossierCount(
        day=period.since,
        unit_id=unit.id,
        service_id=service.id,
        dossiers=dossiers,
        source="manual",
        updated_by=actor,
    )
    db.session.add(row)
    audit.record(
        "dossiers.entry",
        actor=actor,
        target=f"{unit.code}/{service.code}",
        detail={"period": period.key, "dossiers": dossiers},
    )
    return row


# --- The plan of a period --------------------------------------------------------------------


def _population(filters: Filters) -> Filters:
    """The filters dossiers can follow: they have no counter and no channel."""
    return replace(filters, counter=None, channel=None)


def dossier_sums(filters: Filters) -> dict[tuple[int, int], int]:
    """The dossiers handled in the period of `filters`, per (unit id, procedure id)."""
    query = (
        select(DossierCount.unit_id, DossierCount.service_id, func.sum(DossierCount.dossiers))
        .where(
            DossierCount.day.between(filters.since, filters.until),
            *context_conditions(_population(filters), DossierCount),
        )
        .group_by(DossierCount.unit_id, DossierCount.service_id)
    )
    return {(unit, service): int(total) for unit, service, total in db.session.execute(query)}


def dossier_totals(filters: Filters) -> dict[str, dict[str, int]]:
    """The dossiers handled in the period of `filters`, per kind of group ("unit", "agency",
    "field", "service") and group code: what survey.rankings checks each sample against."""
    sums = dossier_sums(filters)
    totals: dict[str, dict[str, int]] = {kind: defaultdict(int) for kind in KINDS}
    if not sums:
        return {kind: {} for kind in totals}
    units = dict(db.session.execute(select(Unit.id, Unit.code)).all())
    query = select(Service).options(joinedload(Service.agency), joinedload(Service.field))
    services = {s.id: s for s in db.session.scalars(query)}
    for (unit_id, service_id), count in sums.items():
        service = services[service_id]
        totals["unit"][units[unit_id]] += count
        totals["service"][service.code] += count
        totals["agency"][service.agency.code] += count
        totals["field"][service.field.code] += count
    return {kind: dict(codes) for kind, codes in totals.items()}


@dataclass(frozen=True)
class PlanRow:
    """A procedure's (or unit's) dossiers N, ratings n and the sample it needs."""

    key: str
    label: str
    dossiers: int | None  # None: no dossiers recorded
    ratings: int

    @property
    def hidden(self) -> bool:
        """1–4 ratings: the count is not shown (summary.py's rule)."""
        return 0 < self.ratings < 5

    @property
    def needed(self) -> int | None:
        """The sample its dossiers need (None: no dossiers recorded)."""
        return None if self.dossiers is None else sample_needed(self.dossiers)

    @property
    def rate(self) -> float | None:
        """Ratings per 100 dossiers (the response rate)."""
        return 100 * self.ratings / self.dossiers if self.dossiers else None

    @property
    def progress(self) -> float | None:
        """How far the ratings are toward the sample needed, 0–100."""
        if not self.needed:
            return None
        return min(100.0, 100 * self.ratings / self.needed)

    @property
    def short(self) -> bool:
        """Fewer ratings than the sample its dossiers need: "mẫu chưa đủ"."""
        return bool(self.needed) and self.ratings < self.needed


@dataclass(frozen=True)
class Plan:
    filters: Filters
    services: list[PlanRow]
    units: list[PlanRow]
    total: PlanRow

    @property
    def short(self) -> list[PlanRow]:
        """The procedures flagged "mẫu chưa đủ"."""
        return [row for row in self.services if row.short]


def _ratings(filters: Filters, group_by: str) -> dict[int, int]:
    """The ratings in the period of `filters` per procedure or unit id."""
    rows = rollup_query.fetch(filters, [(filters.since, filters.until)], group_by)
    grouped = rollup_query.tally(rows, filters.since, filters.until, lambda row: row.key)
    return {key[0]: counts[0] for key, counts in grouped.items()}


def _rows(model, dossiers: dict[int, int], ratings: dict[int, int], locale: str) -> list[PlanRow]:
    """One row per procedure or unit with dossiers or ratings, by name."""
    ids = set(dossiers) | set(ratings)
    found = db.session.scalars(select(model).where(model.id.in_(ids))) if ids else []
    rows = [
        PlanRow(item.code, item.name_in(locale), dossiers.get(item.id), ratings.get(item.id, 0))
        for item in found
    ]
    return sorted(rows, key=lambda row: catalogue.fold(row.label))


def build_plan(filters: Filters, *, locale: str) -> Plan:
    """The planning table of `filters`: per procedure and per unit, the dossiers N, the ratings
    n, the response rate, the sample needed and whether it falls short."""
    filters = _population(filters)
    sums = dossier_sums(filters)
    by_service: dict[int, int] = defaultdict(int)
    by_unit: dict[int, int] = defaultdict(int)
    for (unit_id, service_id), count in sums.items():
        by_service[service_id] += count
        by_unit[unit_id] += count
    service_ratings = _ratings(filters, "service")
    total = PlanRow("*", "", sum(sums.values()) if sums else None, sum(service_ratings.values()))
    return Plan(
        filters,
        _rows(Service, by_service, service_ratings, locale),
        _rows(Unit, by_unit, _ratings(filters, "unit"), locale),
        total,
    )
