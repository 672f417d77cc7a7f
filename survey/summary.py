"""The read path: every query that lists or aggregates, returning plain data."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from survey.extensions import db
from survey.models import Service, Unit


def fold(text: str) -> str:
    """Lower-case `text` without diacritics, so 'ket hon' finds 'Kết hôn'."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@dataclass(frozen=True)
class ServiceItem:
    code: str
    national_code: str | None
    name: str


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
            item = ServiceItem(svc.code, svc.national_code, svc.name_in(locale))
            groups.setdefault(svc.field.code, (svc.field.name_in(locale), []))[1].append(item)
    result = [
        FieldGroup(code, name, sorted(items, key=lambda s: fold(s.name)))
        for code, (name, items) in groups.items()
    ]
    return sorted(result, key=lambda group: fold(group.name))


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
