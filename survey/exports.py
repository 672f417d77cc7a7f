"""Exports of the dashboard's data for the page, `survey export` and the API.

Three exports: `summary` (the summary tables), `responses` (one row per response, one column per
item code) and `comments` (only for roles that read comments on the dashboard), each as CSV or
XLSX (export_files). The filters are always read by SummaryFilterForm and resolved within the
caller's scope, as the dashboard's are; every export is audited with its row count.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Response, current_app, request
from flask.globals import request_ctx
from flask_babel import force_locale

from survey import audit, scope
from survey.config import LOCALES
from survey.export_files import STYLES, Table, Tally, csv_chunks, file_chunks, xlsx_file
from survey.export_summary import summary_tables
from survey.export_tables import comment_table, response_tables
from survey.extensions import db
from survey.filters import Filters, SummaryFilterForm
from survey.models import User

WHATS = ("summary", "responses", "comments")
FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DEFAULT_LANG = "vi"
# Where `survey serve` puts its worker's heartbeat (gunicorn stops a worker silent for longer
# than its timeout, and a sync worker is silent while it answers one request).
WORKER_ALIVE = "survey.worker_alive"


class ExportRefused(Exception):
    """The caller's role may not read what the export holds (comments for a viewer)."""


@dataclass(frozen=True)
class Job:
    """An export asked for, its filters resolved within the caller's scope."""

    what: str
    fmt: str
    lang: str
    filters: Filters
    args: dict[str, str]  # the filters as asked, for the audit log
    low_only: bool = False

    @property
    def filename(self) -> str:
        """sipas-<what>-<period keyword, or first and last day>.<format>"""
        f = self.filters
        named = f.period if f.period and ".." not in f.period else ""
        span = named or f"{f.since.isoformat()}-{f.until.isoformat()}"
        return f"sipas-{self.what}-{span}.{self.fmt}"

    @property
    def mimetype(self) -> str:
        return MIMETYPES[self.fmt]


def may_read(what: str, user: User | None) -> bool:
    """Whether `user` (None: the server's operator at the command line) may export `what`:
    comments as on the dashboard, never for a viewer."""
    return what != "comments" or user is None or user.role != "viewer"


def prepare(what: str, fmt: str, *, user: User | None, api: bool, lang: str | None) -> Job:
    """The export of this request's query string for `user`, within their scope.

    Raises FilterError (a unit outside the scope has `forbidden`) or ExportRefused."""
    if not may_read(what, user):
        raise ExportRefused(what)
    form = SummaryFilterForm.from_query(api=api)
    filters = form.resolve(visible=None if user is None else scope.visible_unit_ids(user))
    wanted = request.args.get("lang")
    chosen = wanted if wanted in LOCALES else (lang or DEFAULT_LANG)
    return Job(what, fmt, chosen, filters, form.link_args(), form.low_only)


def tables(job: Job) -> list[Table]:
    """The tables of `job`, in the current locale."""
    if job.what == "summary":
        return summary_tables(job.filters, job.lang)
    if job.what == "comments":
        return [comment_table(job.filters, job.lang, low_only=job.low_only)]
    return response_tables(job.filters, job.lang, legend=job.fmt == "xlsx")


class Export:
    """The bytes of an export's file, chunk by chunk; audited once the file is done (or, when
    the reader goes away, with the rows written until then)."""

    def __init__(self, job: Job, *, actor: str, via: str) -> None:
        self.job, self.actor, self.via = job, actor, via
        self.tally = Tally(alive=current_app.extensions.get(WORKER_ALIVE))

    @property
    def rows(self) -> int:
        return self.tally.rows

    def __iter__(self) -> Iterator[bytes]:
        complete = False
        try:
            with force_locale(self.job.lang):
                yield from self._chunks()
            complete = True
        finally:
            self._audit(complete)

    def _chunks(self) -> Iterator[bytes]:
        style = STYLES[self.job.lang]
        if self.job.fmt == "csv":
            yield from csv_chunks(tables(self.job), style, self.tally)
        else:
            yield from file_chunks(xlsx_file(tables(self.job), style, self.tally), self.tally)

    def _audit(self, complete: bool) -> None:
        if not complete:
            db.session.rollback()  # a cursor left open by a reader who went away
        detail = {
            "what": self.job.what,
            "format": self.job.fmt,
            "lang": self.job.lang,
            "filters": urlencode(self.job.args),
            "rows": self.tally.rows,
            "via": self.via,
            "complete": complete,
        }
        audit.record("export", actor=self.actor, target=self.job.what, detail=detail)


def streamed(body: Export, job: Job) -> Response:
    """The reply of a page or API export: the file streamed as an attachment.

    The export runs in a copy of this request's context, pushed after a first empty chunk: a
    WSGI caller reads one chunk to start the reply, and one that reads no further (a test
    client) would otherwise leave the context pushed, as Flask's stream_with_context does."""
    context = request_ctx.copy()

    def chunks() -> Iterator[bytes]:
        yield b""
        with context:
            yield from body

    return Response(
        chunks(),
        mimetype=job.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{job.filename}"'},
    )
