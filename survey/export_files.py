"""CSV and XLSX files of export tables, written row by row so that memory stays flat.

A table is a title, typed columns and an iterable of rows (read lazily from the database). The
CSV of a language follows that language's spreadsheet conventions (STYLES); the XLSX is written
by xlsxwriter in constant-memory mode to a temporary file, then read back in chunks.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import xlsxwriter

from survey.summary import spreadsheet_text

FLUSH_ROWS = 500  # CSV rows gathered before a chunk is handed on
CHUNK_BYTES = 64 * 1024  # bytes per chunk of an XLSX file
BEAT_ROWS = 5000  # rows between two signs of life to the server
WIDTHS = {"text": 28, "int": 9, "number": 9, "datetime": 19, "date": 11}
SHEET_NAME_MAX = 31
SHEET_NAME_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Style:
    """How a language's spreadsheets read a CSV: the field separator, the decimal mark and
    the date and date-time patterns (strftime for CSV, Excel's for XLSX)."""

    delimiter: str
    decimal: str
    day: str
    moment: str
    xlsx_day: str
    xlsx_moment: str


# Vietnamese regional settings (also those of a Khmer-speaking user's computer in Vietnam):
# `;` between fields, a decimal comma, day first. English: `,`, a decimal point, ISO dates.
VIETNAMESE = Style(";", ",", "%d/%m/%Y", "%d/%m/%Y %H:%M:%S", "dd/mm/yyyy", "dd/mm/yyyy hh:mm:ss")
STYLES = {
    "vi": VIETNAMESE,
    "km": VIETNAMESE,
    "en": Style(",", ".", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"),
}


@dataclass(frozen=True)
class Column:
    """A column's header and kind: text, int, number (two decimals), date or datetime (local
    wall-clock time, naive)."""

    title: str
    kind: str = "text"


@dataclass
class Table:
    """One table of an export (one sheet of an XLSX)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    counted: bool = True  # False for a key to the other tables: not data rows


@dataclass
class Tally:
    """The data rows written so far (neither headers nor the rows of a key counted); every
    BEAT_ROWS rows `alive` is called, so that a server that stops silent workers (gunicorn's
    timeout) keeps a worker busy writing a long export."""

    rows: int = 0
    alive: Callable[[], None] | None = None

    def add(self, table: Table) -> None:
        self.rows += table.counted
        if self.rows % BEAT_ROWS == 0:
            self.beat()

    def beat(self) -> None:
        """Tell the server this worker is alive (when it listens)."""
        if self.alive is not None:
            self.alive()


def csv_cell(value: Any, kind: str, style: Style) -> str:
    """One CSV cell: numbers as the language writes them (never quoted, never prefixed), text
    that a spreadsheet would read as a formula neutralised."""
    if value is None:
        return ""
    if kind == "int":
        return str(int(value))
    if kind == "number":
        return f"{value:.2f}".replace(".", style.decimal)
    if kind in ("date", "datetime"):
        return value.strftime(style.day if kind == "date" else style.moment)
    return spreadsheet_text(str(value))


def csv_chunks(tables: Iterable[Table], style: Style, tally: Tally) -> Iterator[bytes]:
    """The CSV file of `tables` in UTF-8 with a BOM; several tables follow one another, each
    after a line with its title and before an empty line."""
    tables = list(tables)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=style.delimiter, lineterminator="\r\n")
    for table in tables:
        if len(tables) > 1:
            writer.writerow([spreadsheet_text(table.title)])
        writer.writerow([spreadsheet_text(c.title) for c in table.columns])
        kinds = [c.kind for c in table.columns]
        for number, row in enumerate(table.rows, start=1):
            writer.writerow([csv_cell(v, k, style) for v, k in zip(row, kinds, strict=True)])
            tally.add(table)
            if number % FLUSH_ROWS == 0:
                yield _drain(out)
        if len(tables) > 1:
            writer.writerow([])
    yield _drain(out)


def _drain(out: io.StringIO) -> bytes:
    data = out.getvalue().encode("utf-8")
    out.seek(0)
    out.truncate()
    return data


def xlsx_file(tables: Iterable[Table], style: Style, tally: Tally) -> IO[bytes]:
    """The XLSX file of `tables` (one sheet each) in a temporary file, at its start."""
    handle = tempfile.TemporaryFile()
    book = xlsxwriter.Workbook(handle, {"constant_memory": True})
    formats = {
        "number": book.add_format({"num_format": "0.00"}),
        "datetime": book.add_format({"num_format": style.xlsx_moment}),
        "date": book.add_format({"num_format": style.xlsx_day}),
        "header": book.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
    }
    used: set[str] = set()
    for table in tables:
        sheet = book.add_worksheet(_sheet_name(table.title, used))
        _write_sheet(sheet, table, formats, tally)
    book.close()
    handle.seek(0)
    return handle


def _write_sheet(sheet, table: Table, formats: dict, tally: Tally) -> None:
    """The header row (frozen), then the rows in order (constant memory needs that order)."""
    sheet.freeze_panes(1, 0)
    for col, column in enumerate(table.columns):
        sheet.set_column(col, col, WIDTHS[column.kind])
        sheet.write_string(0, col, column.title, formats["header"])
    for number, row in enumerate(table.rows, start=1):
        for col, (value, column) in enumerate(zip(row, table.columns, strict=True)):
            _write_cell(sheet, number, col, value, column.kind, formats)
        tally.add(table)


def _write_cell(sheet, row: int, col: int, value: Any, kind: str, formats: dict) -> None:
    """A typed cell; text is always a string cell (never read as a formula); None is blank."""
    if value is None:
        return
    if kind == "int":
        sheet.write_number(row, col, value)
    elif kind == "number":
        sheet.write_number(row, col, value, formats["number"])
    elif kind in ("date", "datetime"):
        sheet.write_datetime(row, col, value, formats[kind])
    else:
        sheet.write_string(row, col, str(value))


def _sheet_name(title: str, used: set[str]) -> str:
    """A sheet name Excel accepts (31 characters, none of []:*?/\\), unique in the book."""
    base = title.translate(SHEET_NAME_FORBIDDEN).strip("' ")[:SHEET_NAME_MAX] or "Sheet"
    name, number = base, 2
    while name.lower() in used:
        suffix = f" ({number})"
        name, number = base[: SHEET_NAME_MAX - len(suffix)] + suffix, number + 1
    used.add(name.lower())
    return name


def file_chunks(handle: IO[bytes], tally: Tally) -> Iterator[bytes]:
    """The bytes of an open file in chunks; the file is closed (and so deleted) at the end."""
    with handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
            tally.beat()
