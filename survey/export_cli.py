"""`survey report` and `survey export`: the printed report and the exports of the dashboard,
written to a file with the same filters as the pages (thin wrappers around survey.report and
survey.exports)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from survey import exports
from survey import report as reports
from survey.account_cli import find_user_or_fail
from survey.config import LOCALES
from survey.filters import FilterError
from survey.models import User


def _report_query(period: str, unit_code: str) -> dict[str, str]:
    """The report page's query string for a period keyword or FROM..TO (ISO dates)."""
    if ".." not in period:
        return {"period": period, "unit": unit_code}
    since, until = period.split("..", 1)
    return {"period": "custom", "from": since, "to": until, "unit": unit_code}


def _render_report(query: dict[str, str], lang: str, fmt: str) -> tuple[reports.Report, bytes]:
    """The report the page shows for `query`, rendered in `lang` as PDF or HTML."""
    with current_app.test_request_context("/admin/report", query_string=query):
        with force_locale("en"):
            try:
                built = reports.report_from_query(lang)
            except FilterError as exc:
                raise click.ClickException(str(exc.message)) from exc
        with force_locale(lang):
            body = reports.render_pdf(built) if fmt == "pdf" else reports.render_html(built)
    return built, body if isinstance(body, bytes) else body.encode()


@click.command("report")
@click.option("--period", required=True, help="2026-Q3, 2026, last-quarter… or FROM..TO (ISO).")
@click.option("--unit", "unit_code", default="", help="Unit code (default: every unit).")
@click.option("--lang", type=click.Choice(LOCALES), default="vi", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def report_command(period: str, unit_code: str, lang: str, fmt: str, output: str) -> None:
    """Write the printed report of a period (and unit) as PDF or HTML, with its saved draft."""
    built, body = _render_report(_report_query(period, unit_code), lang, fmt)
    Path(output).write_bytes(body)
    click.echo(
        f"Report {built.filters.period} ({unit_code or 'all units'}, {lang}) written to {output}"
    )


def _export_query(options: dict[str, str | None]) -> str:
    """The query string of an export's filters, as the page and the API take them."""
    names = {"since": "from", "until": "to"}
    return urlencode({names.get(k, k): v for k, v in options.items() if v})


def _write_export(
    what: str, fmt: str, user: User | None, output: str, *, email: str | None, options: dict
) -> tuple[int, str]:
    """Write the export to `output` with the filters of `options`; its rows and file name."""
    query = _export_query(options)
    with current_app.test_request_context("/", query_string=query), force_locale("en"):
        try:
            job = exports.prepare(what, fmt, user=user, api=True, lang=options["lang"])
        except exports.ExportRefused as exc:
            raise click.ClickException(f"the role of {email} may not read {what}") from exc
        except FilterError as exc:
            raise click.ClickException(f"--{exc.field}: {exc.message}") from exc
        body = exports.Export(job, actor=user.email if user else "cli", via="cli")
        with open(output, "wb") as out:
            for chunk in body:
                out.write(chunk)
    return body.rows, job.filename


@click.command("export")
@click.argument("what", type=click.Choice(exports.WHATS))
@click.option("--period", default=None, help="this-month, last-year…, or custom with --from/--to.")
@click.option("--from", "since", default=None, help="First day (YYYY-MM-DD).")
@click.option("--to", "until", default=None, help="Last day (YYYY-MM-DD).")
@click.option("--unit", default=None)
@click.option("--agency", default=None)
@click.option("--field", default=None)
@click.option("--service", default=None)
@click.option("--counter", default=None)
@click.option("--channel", default=None)
@click.option("--lang", type=click.Choice(LOCALES), default="vi", show_default=True)
@click.option("--format", "fmt", type=click.Choice(exports.FORMATS), required=True)
@click.option("--user", "email", default=None, help="Export with this account's units and role.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def export_command(what: str, fmt: str, email: str | None, output: str, **options) -> None:
    """Write an export (summary, responses or comments) with the dashboard's filters."""
    user = find_user_or_fail(email) if email else None
    rows, filename = _write_export(what, fmt, user, output, email=email, options=options)
    click.echo(f"Wrote {rows} rows to {output} ({filename})")


COMMANDS = (export_command, report_command)
