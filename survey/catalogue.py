"""The catalogue of units, counters, agencies, fields and services, and its CSV import.

One CSV row per entity (`kind,code,parent,name_vi,name_en,name_km,national_code,field,agency,
active`). A file is checked whole before anything is written (survey/catalogue_rules.py, whose
rules the web forms share): one bad line and nothing is imported, and every bad line is
reported with its number and reason.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from flask import current_app
from sqlalchemy import Select, bindparam, false, func, select
from sqlalchemy.orm import aliased, joinedload

from survey.catalogue_rules import (  # noqa: F401 (callers read them as catalogue.X)
    HEADER,
    KINDS,
    NATIONAL_RE,
    CatalogueError,
    LineError,
    parse,
)
from survey.extensions import db
from survey.models import Agency, Counter, Field, Service, Unit, rollup_day

DEMO_FILE = Path(__file__).resolve().parent / "data" / "catalogue-an-giang.csv"


def apply_row(row: dict[str, str], cache: dict[tuple[str, str], object]) -> None:
    """Create or update the entity of a checked row (its code names it); `cache` holds the
    entities of the rows applied before it, not yet flushed."""
    model = KINDS[row["kind"]]
    entity = db.session.scalar(select(model).filter_by(code=row["code"])) or model(code=row["code"])
    entity.name_vi, entity.name_en, entity.name_km = row["name_vi"], row["name_en"], row["name_km"]

    def ref(kind: str, code: str):
        return cache.get((kind, code)) or db.session.scalar(
            select(KINDS[kind]).filter_by(code=code)
        )

    if model is Unit:
        entity.parent = ref("unit", row["parent"]) if row["parent"] else None
    elif model is Counter:
        entity.unit = ref("unit", row["parent"])
    elif model is Service:
        entity.national_code = row["national_code"] or None
        entity.field = ref("field", row["field"])
        entity.agency = ref("agency", row["agency"])
        entity.active = row["active"] != "0"
    db.session.add(entity)
    cache[(row["kind"], row["code"])] = entity


def import_csv(data: bytes | str) -> int:
    """Import a catalogue CSV in one transaction; return the number of rows imported."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CatalogueError([LineError(1, "the file is not UTF-8 text")]) from exc
    rows = parse(data)
    cache: dict[tuple[str, str], object] = {}
    for row in rows:
        apply_row(row, cache)
    db.session.commit()
    return len(rows)


def ensure_demo() -> int:
    """Load the demo catalogue when no service exists yet; return rows imported."""
    if db.session.scalar(select(func.count()).select_from(Service)):
        return 0
    return import_csv(DEMO_FILE.read_bytes())


def find_code(kind: str, code: str):
    """Return the unit, counter, agency, field or service (`kind`) with `code`, or None."""
    return db.session.scalar(select(KINDS[kind]).filter_by(code=code))


def find_service(code: str) -> Service | None:
    """Return the active service with `code`, or None."""
    return db.session.scalar(select(Service).filter_by(code=code, active=True))


def find_counter(code: str | None) -> Counter | None:
    """Return the counter with `code`, or None."""
    return code and db.session.scalar(select(Counter).filter_by(code=code)) or None


def find_unit(code: str | None) -> Unit | None:
    """Return the unit with `code`, or None."""
    return code and db.session.scalar(select(Unit).filter_by(code=code)) or None


# The question page's one read: the service and the place its QR code names (the default unit
# is SURVEY_DEFAULT_UNIT, else the first centre). Each statement is built once; a request only
# binds its codes.
_ROOT = aliased(Unit)
_FIRST_ROOT = select(func.min(_ROOT.id)).where(_ROOT.parent_id.is_(None)).scalar_subquery()


@cache
def _service_at(place: str, also: tuple = ()) -> Select:
    """find_service_at's statement for a link naming a counter, a unit, or no place."""
    counter_on, unit_on = {
        "counter": (Counter.code == bindparam("counter"), Unit.id == Counter.unit_id),
        "unit": (false(), Unit.code == bindparam("unit")),
        "none": (false(), Unit.id == _FIRST_ROOT),
    }[place]
    return (
        select(Service, Counter, Unit, *also)
        .select_from(Service)
        .outerjoin(Counter, counter_on)
        .outerjoin(Unit, unit_on)
        .where(Service.code == bindparam("service"), Service.active.is_(True))
    )


def find_service_at(code: str, *, counter: str | None, unit: str | None, also: tuple = ()) -> tuple:
    """The active service `code` and the place a QR code names, in one statement: the counter
    `counter` and its unit, else the unit `unit`, else the default unit (None: not found).
    `also`: more columns the same statement reads (module constants); their values follow."""
    unit = unit or current_app.config["SURVEY_DEFAULT_UNIT"]
    query = _service_at("counter" if counter else "unit" if unit else "none", also)
    row = db.session.execute(query, {"service": code, "counter": counter, "unit": unit}).first()
    return tuple(row) if row else (None,) * (3 + len(also))


def filter_choices(*, visible: set[int] | None, locale: str) -> dict[str, list[tuple[str, str]]]:
    """(code, name) choices of each dashboard filter, limited to the units one may see."""

    def names(model, query=None) -> list[tuple[str, str]]:
        rows = db.session.scalars(query if query is not None else select(model))
        return sorted(((r.code, r.name_in(locale)) for r in rows), key=lambda p: p[1])

    unit_query = select(Unit) if visible is None else select(Unit).where(Unit.id.in_(visible))
    return {
        "unit": names(Unit, unit_query),
        "agency": names(Agency),
        "field": names(Field),
        "service": names(Service),
        "counter": counter_choices(visible=visible, locale=locale),
    }


def counter_choices(*, visible: set[int] | None, locale: str) -> list[tuple[str, str]]:
    """(code, "Quầy 01 – Tư pháp · Điểm PVHCC Tri Tôn") of the counters one may see: a counter's
    name is only unique within its unit, so it is always shown with it; by unit, then name."""
    query = select(Counter).options(joinedload(Counter.unit))
    if visible is not None:
        query = query.where(Counter.unit_id.in_(visible))
    rows = sorted(
        db.session.scalars(query),
        key=lambda c: (fold(c.unit.name_in(locale)), fold(c.name_in(locale))),
    )
    return [(c.code, f"{c.name_in(locale)} · {c.unit.name_in(locale)}") for c in rows]


# --- Reads for the citizen pages and the API -----------------------------------------------


def fold(text: str) -> str:
    """Lower-case `text` without diacritics, so 'ket hon' finds 'Kết hôn'."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@dataclass(frozen=True)
class ServiceItem:
    code: str
    national_code: str | None
    name: str
    words: str = ""  # what the search looks in, folded (the kiosk searches on screen too)


@dataclass(frozen=True)
class FieldGroup:
    code: str
    name: str
    services: list[ServiceItem]


def active_services() -> list[Service]:
    """All active services with their field and agency, in code order."""
    query = (
        select(Service)
        .filter_by(active=True)
        .options(joinedload(Service.field), joinedload(Service.agency))
        .order_by(Service.code)
    )
    return list(db.session.scalars(query))


def services_by_field(*, query: str = "", locale: str) -> list[FieldGroup]:
    """Active services grouped by lĩnh vực, filtered by every word of `query`."""
    words = fold(query).split()
    groups: dict[str, tuple[str, list[ServiceItem]]] = {}
    for svc in active_services():
        haystack = fold(
            " ".join(
                [
                    svc.name_in(locale),
                    svc.name_vi,
                    svc.code,
                    svc.national_code or "",
                    svc.field.name_in(locale),
                ]
            )
        )
        if all(word in haystack for word in words):
            item = ServiceItem(svc.code, svc.national_code, svc.name_in(locale), haystack)
            groups.setdefault(svc.field.code, (svc.field.name_in(locale), []))[1].append(item)
    result = [
        FieldGroup(code, name, sorted(items, key=lambda s: fold(s.name)))
        for code, (name, items) in groups.items()
    ]
    return sorted(result, key=lambda group: fold(group.name))


def frequent_services(kiosk, *, locale: str, limit: int = 6) -> list[ServiceItem]:
    """The services rated most at this kiosk's counter (or unit) in the last 90 days."""
    since = datetime.now(UTC).date() - timedelta(days=90)
    where = [rollup_day.c.day >= since, rollup_day.c.unit_id == kiosk.unit_id]
    if kiosk.counter_id:
        where.append(rollup_day.c.counter_id == kiosk.counter_id)
    query = (
        select(Service)
        .join(rollup_day, rollup_day.c.service_id == Service.id)
        .where(*where, Service.active.is_(True))
        .group_by(Service.id)
        .order_by(func.sum(rollup_day.c.responses).desc())
        .limit(limit)
    )
    return [
        ServiceItem(s.code, s.national_code, s.name_in(locale)) for s in db.session.scalars(query)
    ]


def list_services(locale: str) -> list[dict]:
    """The active services as the API shows them."""
    return [
        {
            "code": s.code,
            "national_code": s.national_code,
            "name": s.name_in(locale),
            "field": s.field.code,
            "field_name": s.field.name_in(locale),
            "agency": s.agency.code,
            "agency_name": s.agency.name_in(locale),
        }
        for s in active_services()
    ]


def list_units(locale: str) -> list[dict]:
    """Centres and service points with their counters, as the API shows them."""
    units = db.session.scalars(
        select(Unit).options(joinedload(Unit.parent), joinedload(Unit.counters)).order_by(Unit.code)
    ).unique()
    return [
        {
            "code": u.code,
            "name": u.name_in(locale),
            "parent": u.parent.code if u.parent else None,
            "counters": [{"code": c.code, "name": c.name_in(locale)} for c in u.counters],
        }
        for u in units
    ]
