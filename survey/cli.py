"""The `survey` command: a Flask command group, so `flask --app survey …` works too."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlencode

import click
from babel.messages.frontend import CommandLineInterface
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_babel import force_locale

from survey import (
    accounts,
    backup,
    catalogue,
    contact_cli,
    create_app,
    demo,
    dossier_file,
    exports,
    first_run,
    jobs_cli,
    kiosks,
    paper_import,
    planning,
    posters,
    province,
    questionnaire,
    rollups,
    server,
    two_factor,
    visits,
    webhook_cli,
)
from survey import report as reports
from survey.config import LOCALES, public_url
from survey.extensions import db
from survey.filters import FilterError
from survey.paths import PACKAGE_DIR


def _first_run() -> None:
    """Set up the database if needed and say what was done (a first admin's password too)."""
    report = first_run.prepare()
    click.echo(
        f"Questionnaire: {report.questionnaire}; catalogue rows loaded: {report.catalogue_rows}"
    )
    if report.admin_password:
        click.echo(f"First administrator: {report.admin_email}")
        click.echo(f"One-time password (shown only now): {report.admin_password}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int, workers: int) -> None:
    """Set up the database on first run, then serve the app with gunicorn."""
    _first_run()
    # Serve a fresh app: the command runs inside the CLI's app context, and an app whose
    # context is already pushed would share it (with `g`, the locale and the signed-in
    # user) between all the requests of a worker.
    server.run(create_app(), host=host, port=port, workers=workers)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--unit", "units", multiple=True, help="Unit code a manager may see.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user(email: str, role: str, units: tuple[str, ...], password_stdin: bool) -> None:
    """Create a manager-side account; without --password-stdin a password is generated."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else accounts.generate_password()
    try:
        user = accounts.create_user(email, role=role, password=password, units=units, actor="cli")
    except accounts.AccountError as exc:
        with force_locale("en"):  # the command line speaks English, the pages their language
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.role} {user.email}")
    if not password_stdin:
        click.echo(password)


@click.group("api-token")
def api_token_group() -> None:
    """API tokens for the summary API."""


@api_token_group.command("create")
@click.option("--user", "email", required=True, help="E-mail of the token's user.")
@with_appcontext
def api_token_create(email: str) -> None:
    """Create an API token with the user's unit scope; the token is the last line printed."""
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"no user with the e-mail {email}")
    token = accounts.create_api_token(user, actor="cli")
    click.echo(f"API token for {user.email} (shown only now; stored hashed):")
    click.echo(token)


@click.group("two-factor")
def two_factor_group() -> None:
    """Two-step sign-in of manager accounts."""


@two_factor_group.command("reset")
@click.argument("email")
@with_appcontext
def two_factor_reset(email: str) -> None:
    """Turn off an account's two-step sign-in and end its sessions (a lost phone)."""
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"no user with the e-mail {email}")
    two_factor.reset(user, actor="cli")
    click.echo(f"Two-step sign-in of {user.email} reset; it is set up again at the next sign-in.")


@click.group("kiosk")
def kiosk_group() -> None:
    """Kiosk devices."""


@kiosk_group.command("create")
@click.option("--unit", required=True, help="Unit code of the kiosk.")
@click.option("--counter", default=None, help="Counter code, when the kiosk serves one counter.")
@click.option("--name", required=True)
@with_appcontext
def kiosk_create(unit: str, counter: str | None, name: str) -> None:
    """Register a kiosk; print its activation link and, last, its token (shown once)."""
    try:
        device, token = kiosks.create_kiosk(unit=unit, counter=counter, name=name, actor="cli")
    except kiosks.KioskError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Kiosk {device.name} at {unit}{' / ' + counter if counter else ''}")
    click.echo(f"Open on the kiosk: {public_url(f'/k/activate?token={token}')}")
    click.echo("Token (shown only now; stored hashed):")
    click.echo(token)


@click.command("qr")
@click.option("--service", "service_code", required=True)
@click.option("--counter", "counter_code", default=None)
@click.option("--size", type=click.Choice(["a4", "a5"]), default="a4", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "svg"]), default="pdf", show_default=True
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def qr(service_code: str, counter_code: str | None, size: str, fmt: str, output: str) -> None:
    """Write the printable QR poster of a service (and counter) as PDF or SVG."""
    service, counter = catalogue.find_service(service_code), catalogue.find_counter(counter_code)
    if service is None or (counter_code and counter is None):
        raise click.ClickException("unknown or inactive service, or unknown counter")
    poster = posters.make_poster(service, counter, size)
    data = posters.render_pdf(poster) if fmt == "pdf" else posters.render_svg(poster).encode()
    Path(output).write_bytes(data)
    click.echo(f"Wrote {output}: {poster.url}")


@click.group("visit-codes")
def visit_codes_group() -> None:
    """Single-use visit codes for the one-stop receipt (one rating per visit)."""


@visit_codes_group.command("mint")
@click.option("--service", "service_code", required=True)
@click.option("--counter", "counter_code", default=None)
@click.option("--count", type=click.IntRange(1, 1000), default=1, show_default=True)
@with_appcontext
def visit_codes_mint(service_code: str, counter_code: str | None, count: int) -> None:
    """Print new codes, one address per line (only a keyed hash of each code is stored)."""
    service, counter = catalogue.find_service(service_code), catalogue.find_counter(counter_code)
    if service is None or (counter_code and counter is None):
        raise click.ClickException("unknown or inactive service, or unknown counter")
    for code in visits.mint(service, count, counter=counter, actor="cli"):
        click.echo(visits.url(code))


@visit_codes_group.command("require")
@click.option("--unit", "unit_code", required=True)
@click.option("--off", is_flag=True, help="Accept phone ratings without a visit code again.")
@with_appcontext
def visit_codes_require(unit_code: str, off: bool) -> None:
    """Accept phone ratings at a unit only with a visit code (or, with --off, without)."""
    unit = catalogue.find_unit(unit_code)
    if unit is None:
        raise click.ClickException(f"unknown unit {unit_code}")
    unit.visit_codes_required = not off
    db.session.commit()
    click.echo(f"{unit.code}: visit codes {'optional' if off else 'required'}")


@click.command("screens")
@click.option("--out", type=click.Path(file_okay=False), default="screenshots", show_default=True)
@click.option("--chromium", default="/usr/bin/chromium", show_default=True)
def screens(out: str, chromium: str) -> None:
    """Screenshot every page in vi, en and km on phone, kiosk and desktop (needs Playwright)."""
    # Imported here and only here: the screenshot tooling needs the test extra (Playwright),
    # which a server does not install, and the app must never load it.
    try:
        from survey import screens as tooling
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("playwright"):
            raise
        raise click.ClickException(
            "Screenshots need Playwright, part of the test extra: pip install 'sipas-survey[test]'"
        ) from exc
    shots = tooling.take_screenshots(Path(out), chromium=chromium)
    click.echo(f"Saved {len(shots)} screenshots and an index.html in {out}")


@click.command("report")
@click.option("--period", required=True, help="2026-Q3, 2026, last-quarter… or FROM..TO (ISO).")
@click.option("--unit", "unit_code", default="", help="Unit code (default: every unit).")
@click.option("--lang", type=click.Choice(LOCALES), default="vi", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def report_command(period: str, unit_code: str, lang: str, fmt: str, output: str) -> None:
    """Write the printed report of a period (and unit) as PDF or HTML, with its saved draft."""
    query = {"period": period, "unit": unit_code}
    if ".." in period:
        since, until = period.split("..", 1)
        query = {"period": "custom", "from": since, "to": until, "unit": unit_code}
    with current_app.test_request_context("/admin/report", query_string=query):
        with force_locale("en"):
            try:
                built = reports.report_from_query(lang)
            except FilterError as exc:
                raise click.ClickException(str(exc.message)) from exc
        with force_locale(lang):
            body = reports.render_pdf(built) if fmt == "pdf" else reports.render_html(built)
    Path(output).write_bytes(body if isinstance(body, bytes) else body.encode())
    click.echo(
        f"Report {built.filters.period} ({unit_code or 'all units'}, {lang}) written to {output}"
    )


@click.group("catalogue")
def catalogue_group() -> None:
    """The catalogue of units, counters, agencies, lĩnh vực and services."""


@catalogue_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def catalogue_import(path: str) -> None:
    """Import a catalogue CSV; nothing is imported when any line is bad."""
    try:
        count = catalogue.import_csv(Path(path).read_bytes())
    except catalogue.CatalogueError as exc:
        raise click.ClickException(f"{path}: nothing imported.\n{exc}") from exc
    click.echo(f"Imported {count} rows from {path}")


@click.group("dossiers")
def dossiers_group() -> None:
    """Dossiers handled per day, unit and procedure (the population of the sample plan)."""


@dossiers_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def dossiers_import(path: str) -> None:
    """Import the one-stop software's CSV (date, unit, service, dossiers); rows of the same
    day, unit and procedure are replaced; nothing is imported when any line is bad."""
    with force_locale("en"):  # the command line speaks English, the pages their language
        try:
            done = planning.import_csv(Path(path).read_bytes(), actor="cli", name=Path(path).name)
        except dossier_file.DossierError as exc:
            raise click.ClickException(f"{path}: nothing imported.\n{exc}") from exc
    span = f" from {done.since:%d/%m/%Y} to {done.until:%d/%m/%Y}" if done.rows else ""
    click.echo(
        f"Imported {done.rows} rows from {path}{span}: {done.added} new, {done.replaced} replaced"
    )


@click.group("questionnaire")
def questionnaire_group() -> None:
    """Questionnaire versions."""


@questionnaire_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def questionnaire_load(path: str) -> None:
    """Check a questionnaire file and make it the active version."""
    try:
        version = questionnaire.install(questionnaire.load_file(path))
    except questionnaire.QuestionnaireError as exc:
        raise click.ClickException(f"refused: {exc}") from exc
    click.echo(f"Active questionnaire: {version.code}")


@click.group("rollup")
def rollup_group() -> None:
    """The daily and monthly rollups that summaries read."""


@rollup_group.command("rebuild")
@with_appcontext
def rollup_rebuild() -> None:
    """Recompute the rollups from the raw answers (a month at a time, in one transaction)."""
    click.echo(f"Rebuilt the rollups: {rollups.rebuild()} rows")


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(target: str) -> None:
    """Copy the SQLite database to TARGET while the app runs (PostgreSQL: use pg_dump)."""
    try:
        done = backup.backup_sqlite(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(target))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = ", ".join(f"{table} {n}" for table, n in done.rows.items())
    click.echo(f"Backed up to {done.path} in {done.seconds:.2f} s ({done.size} bytes; {rows})")


@click.command("seed-demo")
@click.option("--responses", "count", default=2000, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--points", default=0, type=click.IntRange(0, 999), help="Demo commune points.")
@with_appcontext
def seed_demo(count: int, seed: int, points: int) -> None:
    """Set up the instance if new; add demo responses over two years (--points: DEMO-XA-…)."""
    _first_run()
    if added := province.add_points(points):
        click.echo(province.describe(added))
    demo.seed_responses(count, seed=seed)
    click.echo(f"Added {count} demo responses and rebuilt the rollups.")


def _export_query(options: dict[str, str | None]) -> str:
    """The query string of an export's filters, as the page and the API take them."""
    names = {"since": "from", "until": "to"}
    return urlencode({names.get(k, k): v for k, v in options.items() if v})


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
    user = accounts.find_user(email) if email else None
    if email and user is None:
        raise click.ClickException(f"no user with the e-mail {email}")
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
    click.echo(f"Wrote {body.rows} rows to {output} ({job.filename})")


@click.group("translate")
def translate() -> None:
    """Extract, update and compile the gettext catalogues (run in the source tree)."""


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


ROOT = PACKAGE_DIR.parent
POT = str(ROOT / "translations" / "messages.pot")


@translate.command("extract")
def translate_extract() -> None:
    """Extract every marked string into translations/messages.pot."""
    _pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "-o",
        POT,
        str(ROOT),
    )


@translate.command("update")
def translate_update() -> None:
    """Extract, then merge new strings into every catalogue."""
    translate_extract.callback()
    _pybabel("update", "-i", POT, "-d", str(ROOT / "translations"), "--no-fuzzy-matching")


@translate.command("compile")
def translate_compile() -> None:
    """Compile every catalogue to .mo."""
    _pybabel("compile", "-d", str(ROOT / "translations"))


def init_app(app: Flask) -> None:
    """Register the commands on the app."""
    for command in (
        serve,
        create_user,
        api_token_group,
        two_factor_group,
        kiosk_group,
        qr,
        visit_codes_group,
        screens,
        catalogue_group,
        dossiers_group,
        questionnaire_group,
        rollup_group,
        seed_demo,
        paper_import.import_responses_command,
        export_command,
        backup_command,
        report_command,
        webhook_cli.webhooks_group,
        contact_cli.contacts_group,
        translate,
        *jobs_cli.COMMANDS,
    ):
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `survey` console script."""
    FlaskGroup(
        create_app=create_app, add_default_commands=False, help="SIPAS-style satisfaction survey."
    )(prog_name="survey")
