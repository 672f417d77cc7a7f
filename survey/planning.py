"""Survey planning: the dossiers (hồ sơ) each unit handled per procedure, and the sample each
procedure needs (SIPAS.md §6).

Dossiers come from the one-stop software's CSV (read and checked by survey.dossier_file) or are
typed by a manager for a whole period. Importing the same file again replaces its rows (one row
per day, unit and procedure). A period typed by hand is stored on the period's first day with
the source "manual" and replaces every row of that unit and procedure inside the period, so the
period's total is the number typed.

The sample a procedure needs for a ±5% margin at 95% is Yamane's n = N / (1 + N·e²), rounded
up (N = 1,200 → 300); a procedure whose ratings fall short of it is flagged "mẫu chưa đủ" and
left out of the rankings (survey.rankings).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction

from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from survey import audit, catalogue, periods, rollup_query
from survey.dossier_file import DossierRow, parse
from survey.extensions import db
from survey.filters import Filters, context_conditions
from survey.models import DossierCount, Service, Unit

MARGIN = Fraction(1, 20)  # ±5 points, about 95% confidence
KINDS = ("unit", "agency", "field", "service")  # the groups rankings check against dossiers


def sample_needed(dossiers: int, margin: Fraction = MARGIN) -> int:
    """Yamane's sample for `dossiers` handled: ceil(N / (1 + N·e²)), exact (N = 1,200 → 300)."""
    if dossiers <= 0:
        return 0
    return math.ceil(Fraction(dossiers) / (1 + dossiers * margin * margin))


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
