"""Editing the catalogue on the web: one entry at a time, with the CSV import's rules, audited.

An entry is handled as a row of the import (survey/catalogue_rules.py checks it, and
catalogue.apply_row writes it), so the web and a file can never disagree on what is valid.
Administrators edit every kind; a manager edits the units they may see (a new unit goes below
one of them) and those units' counters. A code is fixed once created: links, QR codes and
import files name an entry by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from survey import audit, scope
from survey.catalogue import apply_row, find_code, find_unit
from survey.catalogue_rules import HEADER, KINDS, check_row, known_codes
from survey.extensions import db
from survey.models import Counter, Service, Unit, User

MANAGER_KINDS = ("unit", "counter")


class EntryError(ValueError):
    """An entry refused; `column` is the field at fault (a column of the import)."""

    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column = column


def row_of(entity, kind: str) -> dict[str, str]:
    """An entry as a row of the CSV import."""
    row = dict.fromkeys(HEADER, "")
    row.update(kind=kind, code=entity.code, name_vi=entity.name_vi)
    row.update(name_en=entity.name_en or "", name_km=entity.name_km or "")
    if isinstance(entity, Unit):
        row["parent"] = entity.parent.code if entity.parent else ""
    elif isinstance(entity, Counter):
        row["parent"] = entity.unit.code
    elif isinstance(entity, Service):
        row.update(national_code=entity.national_code or "", active="1" if entity.active else "0")
        row.update(field=entity.field.code, agency=entity.agency.code)
    return row


def unit_of(entity) -> int | None:
    """The unit whose scope an entry belongs to (None: province-wide)."""
    if isinstance(entity, Unit):
        return entity.id
    return entity.unit_id if isinstance(entity, Counter) else None


def may_edit(user: User, kind: str, row: dict[str, str], entity=None) -> bool:
    """Whether `user` may save `row` over `entity` (None: a new entry)."""
    if user.role == "admin":
        return True
    if user.role != "manager" or kind not in MANAGER_KINDS:
        return False
    visible = scope.visible_unit_ids(user) or set()
    if entity is not None and unit_of(entity) not in visible:
        return False
    parent = find_unit(row["parent"])
    moved = entity is None or row_of(entity, kind)["parent"] != row["parent"]
    # A parent not in the catalogue is the rules' to refuse; a top-level unit is an admin's.
    return not moved or (parent.id in visible if parent else bool(row["parent"]))


def _refuse_cycle(entity, row: dict[str, str]) -> None:
    parent = find_unit(row["parent"])
    if isinstance(entity, Unit) and parent and parent.id in scope.with_descendants([entity.id]):
        raise EntryError("parent", f"unit '{row['parent']}' is {row['code']} or below it")


def save_entry(kind: str, row: dict[str, str], *, actor: str, entity=None):
    """Create (`entity` None) or update a catalogue entry from `row`; return it. Nothing is
    stored when the row breaks a rule (EntryError)."""
    row = {**dict.fromkeys(HEADER, ""), **row, "kind": kind}
    row = {key: value.strip() for key, value in row.items()}
    known = known_codes()
    if entity is not None:
        row["code"] = entity.code
        _refuse_cycle(entity, row)
    elif row["code"] in known.get(kind, set()):
        raise EntryError("code", f"the {kind} code '{row['code']}' is taken")
    reason = check_row(row, known)
    if reason is not None:
        raise EntryError(reason.column, str(reason))
    cache: dict = {}
    apply_row(row, cache)
    action = "catalogue.update" if entity is not None else "catalogue.create"
    detail = {key: row[key] for key in HEADER if row[key] and key not in ("kind", "code")}
    audit.record(action, actor=actor, target=f"{kind} {row['code']}", detail=detail, commit=False)
    db.session.commit()
    return cache[(kind, row["code"])]


def find_entry(kind: str, code: str):
    """The entry of `kind` with `code`, or None (an unknown kind too)."""
    return find_code(kind, code) if kind in KINDS else None


@dataclass(frozen=True)
class Entry:
    kind: str
    code: str
    name: str
    parent: str


def entries(*, user: User, locale: str) -> dict[str, list[Entry]]:
    """The entries `user` may edit, by kind, in code order."""
    kinds = KINDS if user.role == "admin" else {k: KINDS[k] for k in MANAGER_KINDS}
    visible = scope.visible_unit_ids(user)
    result = {}
    for kind, model in kinds.items():
        query = select(model).order_by(model.code)
        if kind == "counter":
            query = query.options(joinedload(Counter.unit))
        rows = [e for e in db.session.scalars(query) if _in_scope(e, visible)]
        result[kind] = [Entry(kind, e.code, e.name_in(locale), _parent(e, locale)) for e in rows]
    return result


def _in_scope(entity, visible: set[int] | None) -> bool:
    unit = unit_of(entity)
    return visible is None or unit is None or unit in visible


def _parent(entity, locale: str) -> str:
    if isinstance(entity, Unit):
        return entity.parent.name_in(locale) if entity.parent else ""
    if isinstance(entity, Counter):
        return entity.unit.name_in(locale)
    if isinstance(entity, Service):
        return entity.field.name_in(locale)
    return ""
