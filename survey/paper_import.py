"""Paper forms typed elsewhere, imported from a CSV file (`survey import-responses FILE.csv`
and /admin/paper/import); the columns are described in docs/PAPER.md.

A file is checked whole before anything is stored: one bad line and nothing is imported, and
every bad line is named with its number and reason, in the reader's language. The serial number
makes it idempotent: a form stored already with the same answers is skipped, so the same file
imported twice stores each form once; a serial stored with other answers is a bad line.
Imported forms count at once (they were checked where they were typed), with the paper rules
of survey/paper.py; the import is audited as one event.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from survey import audit, paper, questionnaire
from survey.catalogue import find_service, find_unit, fold
from survey.catalogue_rules import FileRefused
from survey.config import LOCALES
from survey.dossier_file import LineError, decode_text
from survey.extensions import db
from survey.filters import UNKNOWN_CODE, centre_today
from survey.i18n import lazy_text as _l
from survey.paper_models import COUNTED, PaperForm
from survey.paper_reports import changed_reports
from survey.periods import parse_local_date
from survey.questionnaire import Questionnaire
from survey.responses import Invalid, clean_comment

UPLOAD_LIMIT = 8 * 1024 * 1024
# Header names of the fixed columns, compared without case and diacritics (catalogue.fold);
# every other column is a scored item's code (OV, TC1 … EX4).
HEADER_NAMES = {
    "serial": {"serial", "so phieu"},
    "unit": {"unit", "don vi", "ma don vi"},
    "service": {"service", "procedure", "thu tuc", "ma thu tuc"},
    "date": {"date", "ngay"},
    "language": {"language", "ngon ngu"},
    "comment": {"comment", "y kien"},
}
REQUIRED = ("serial", "unit", "service", "date")


class PaperImportError(FileRefused):
    """A file of paper forms refused whole."""


@dataclass(frozen=True)
class Imported:
    added: int
    skipped: int  # stored already with the same answers
    reports: list[str]  # the produced reports whose figures change


def _columns(header: list[str], q: Questionnaire) -> dict[str, int]:
    """The position of each column; PaperImportError when one is missing or unknown."""
    found, known = {}, set(paper.items(q))
    for position, name in enumerate(header):
        text = " ".join(fold(name).split())
        column = next((c for c, names in HEADER_NAMES.items() if text in names), None)
        column = column or (name.strip().upper() if name.strip().upper() in known else None)
        if column is None or column in found:
            message = _l("The column %(name)s is unknown or repeated.", name=name.strip() or "—")
            raise PaperImportError([LineError(1, message)])
        found[column] = position
    if not set(REQUIRED) <= set(found):
        message = _l(
            "The first line must name the columns serial, unit, service, date, then the "
            "questions' codes (OV, TC1 …): see docs/PAPER.md."
        )
        raise PaperImportError([LineError(1, message)])
    return found


def _row(cells: dict[str, str], q: Questionnaire, visible: set[int] | None) -> paper.Typed | str:
    """The checked form of one line, or the first reason it is wrong (lazy text)."""
    try:
        serial = paper.clean_serial(cells["serial"])
    except paper.Refused as exc:
        return exc.message
    unit, service = find_unit(cells["unit"]), find_service(cells["service"])
    if unit is None or (visible is not None and unit.id not in visible):
        return UNKNOWN_CODE["unit"](cells["unit"] or "—")
    if service is None:
        return UNKNOWN_CODE["service"](cells["service"] or "—")
    written_on = parse_local_date(cells["date"])
    reason = paper.date_error(written_on, centre_today())
    if reason is not None:
        return reason
    locale = cells.get("language") or "vi"
    if locale not in LOCALES:
        return _l("The language must be vi, en or km.")
    digits = {c: v for c, v in cells.items() if c not in HEADER_NAMES}
    answers, errors = paper.clean_digits(q, digits)
    if errors:
        return next(iter(errors.values()))
    try:
        comment = clean_comment(cells.get("comment"))
    except Invalid as exc:
        return exc.errors[0].message
    return paper.Typed(serial, unit, service, written_on, locale, answers, comment)


def parse(
    data: bytes | str, q: Questionnaire, visible: set[int] | None
) -> tuple[list[paper.Typed], int]:
    """Check a whole file (`,` or `;` between fields, a header line) and return its new forms
    and how many it holds that are stored already; PaperImportError listing every bad line
    otherwise."""
    text = decode_text(data, PaperImportError)
    first = text.split("\n", 1)[0]
    reader = csv.reader(
        io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ","
    )
    columns = _columns(next(reader, []), q)
    rows, errors, seen = [], [], {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        if len(cells) != len(columns):
            errors.append(LineError(line, _l("This line has too few or too many fields.")))
            continue
        row = _row({name: cells[i].strip() for name, i in columns.items()}, q, visible)
        if isinstance(row, paper.Typed) and row.serial in seen:
            row = _l("The same serial number is on line %(line)s.", line=seen[row.serial])
        if not isinstance(row, paper.Typed):
            errors.append(LineError(line, row))
            continue
        seen[row.serial] = line
        rows.append((line, row))
    stored_errors, skipped = _stored_already(rows)
    if errors or stored_errors:
        raise PaperImportError(sorted([*errors, *stored_errors], key=lambda e: e.line))
    return [row for _, row in rows], skipped


def _stored_already(rows: list[tuple[int, paper.Typed]]) -> tuple[list[LineError], int]:
    """Bad lines whose serial is stored with other answers (or still being typed); the lines
    of forms stored with the same answers are taken out of `rows` (skipped)."""
    serials = [row.serial for _, row in rows]
    stored = (
        {
            f.serial: f
            for f in db.session.scalars(
                select(PaperForm)
                .where(PaperForm.serial.in_(serials))
                .options(selectinload(PaperForm.entries))
            )
        }
        if serials
        else {}
    )
    errors, kept = [], []
    for line, row in rows:
        form = stored.get(row.serial)
        if form is None:
            kept.append((line, row))
        elif form.status != COUNTED or paper.entry_values(form.entries[-1]) != row.values():
            message = _l("Form %(serial)s is stored already with other answers.", serial=row.serial)
            errors.append(LineError(line, message))
    skipped = len(rows) - len(kept) - len(errors)
    rows[:] = kept
    return errors, skipped


def import_csv(
    data: bytes | str, *, q: Questionnaire, actor: str, name: str = "", visible: set[int] | None
) -> Imported:
    """Check a whole file and store its new forms, counted, in one transaction; audited.
    PaperImportError for bad lines (nothing is stored then)."""
    forms, skipped = parse(data, q, visible)
    try:
        for typed in forms:
            paper.enter(typed, q=q, actor=actor, double=False, kind="imported", audited=False)
        detail = {"added": len(forms), "skipped": skipped}
        audit.record("paper.import", actor=actor, target=name or None, detail=detail, commit=False)
        db.session.commit()
    except IntegrityError as exc:  # a form of the file stored by someone else meanwhile
        db.session.rollback()
        message = _l("Some of these forms have just been stored by someone else: import again.")
        raise PaperImportError([LineError(1, message)]) from exc
    return Imported(len(forms), skipped, changed_reports(forms))


@click.command("import-responses")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "actor", default="command line", help="Who typed the forms (audited).")
@with_appcontext
def import_responses_command(path: str, actor: str) -> None:
    """Import paper forms typed elsewhere (CSV); nothing is imported when any line is bad."""
    try:
        done = import_csv(Path(path).read_bytes(), q=questionnaire.active(), actor=actor,
                          name=Path(path).name, visible=None)  # fmt: skip
    except PaperImportError as exc:
        raise click.ClickException(f"{path}: nothing imported.\n{exc}") from exc
    click.echo(f"{path}: {done.added} forms imported, {done.skipped} already stored.")
