"""The catalogue's rules: what a row of a unit, counter, agency, field or service must hold.

The CSV import (survey/catalogue.py) checks every line of a file with them, and the web forms
(survey/catalogue_edit.py) check one row with the same rules, so a rule lives in one place.
A refusal names its column, so that a form can mark the field at fault.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import select

from survey.extensions import db
from survey.models import Agency, Counter, Field, Service, Unit

HEADER = [
    "kind",
    "code",
    "parent",
    "name_vi",
    "name_en",
    "name_km",
    "national_code",
    "field",
    "agency",
    "active",
]
KINDS = {"unit": Unit, "counter": Counter, "agency": Agency, "field": Field, "service": Service}
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
NATIONAL_RE = re.compile(r"^[0-9]\.[0-9]{6}$")


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class FileRefused(ValueError):
    """A file refused whole (an import is all or nothing); `errors` lists every bad line."""

    def __init__(self, errors: list):
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


class CatalogueError(FileRefused):
    """A catalogue file refused whole."""


class Reason(str):
    """Why a row is refused (as the import reports it), and the column at fault."""

    column: str

    @classmethod
    def of(cls, column: str, text: str) -> Reason:
        """The reason `text`, at fault in `column`."""
        reason = cls(text)
        reason.column = column
        return reason


def known_codes() -> dict[str, set[str]]:
    """The codes of each kind in the catalogue."""
    return {kind: set(db.session.scalars(select(model.code))) for kind, model in KINDS.items()}


def check_row(row: dict[str, str], known: dict[str, set[str]]) -> Reason | None:
    """Return why `row` cannot be imported, or None."""
    kind, code, parent = row["kind"], row["code"], row["parent"]
    if kind not in KINDS:
        return Reason.of("kind", f"unknown kind '{kind}' (expected one of {', '.join(KINDS)})")
    if not CODE_RE.match(code):
        return Reason.of(
            "code", f"invalid code '{code}' (letters, digits, '-', '_', '.'; at most 40)"
        )
    if not row["name_vi"]:
        return Reason.of("name_vi", "name_vi is empty")
    if (kind == "counter" or kind == "unit" and parent) and parent not in known["unit"]:
        return Reason.of("parent", f"unknown unit '{parent}' in parent")
    return _check_service(row, known) if kind == "service" else None


def _check_service(row: dict[str, str], known: dict[str, set[str]]) -> Reason | None:
    if row["national_code"] and not NATIONAL_RE.match(row["national_code"]):
        text = f"national_code '{row['national_code']}' is not of the form 1.234567"
        return Reason.of("national_code", text)
    if row["field"] not in known["field"]:
        return Reason.of("field", f"unknown field '{row['field']}'")
    if row["agency"] not in known["agency"]:
        return Reason.of("agency", f"unknown agency '{row['agency']}'")
    if row["active"] not in ("", "0", "1"):
        return Reason.of("active", f"active must be 0 or 1, not '{row['active']}'")
    return None


def parse(text: str) -> list[dict[str, str]]:
    """Check a whole catalogue CSV and return its rows; raise CatalogueError otherwise."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != HEADER:
        raise CatalogueError([LineError(1, "the header must be: " + ",".join(HEADER))])
    known, rows, errors, seen = known_codes(), [], [], set()
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            errors.append(LineError(line, f"expected {len(HEADER)} columns"))
            continue
        row = {k: v.strip() for k, v in row.items()}
        reason = check_row(row, known)
        if reason is None and (row["kind"], row["code"]) in seen:
            reason = f"the {row['kind']} code '{row['code']}' appears twice"
        if reason:
            errors.append(LineError(line, reason))
            continue
        seen.add((row["kind"], row["code"]))
        known[row["kind"]].add(row["code"])
        rows.append(row)
    if errors:
        raise CatalogueError(errors)
    return rows
