"""The `survey` command: a Flask command group, so `flask --app survey …` works too.

Here are the server's own commands (serve, seed-demo, backup, rollup rebuild, screens); each
other job's commands are in a module of their own (survey/*_cli.py), registered by init_app."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from survey import (
    account_cli,
    backup,
    contact_cli,
    create_app,
    demo,
    device_cli,
    export_cli,
    first_run,
    import_cli,
    jobs_cli,
    paper_import,
    province,
    rollups,
    server,
    translate_cli,
    webhook_cli,
)
from survey.extensions import db


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
    # The set-up's session ends here: its transaction would otherwise stay open in the master
    # process for as long as the server runs ("idle in transaction" on PostgreSQL), holding a
    # snapshot that keeps VACUUM from removing any row changed since, in every table (the
    # rollups' rows, updated by every rating, grew without end), and a lock that a migration
    # of the questionnaire table would wait on.
    db.session.remove()
    db.engine.dispose()
    # Serve a fresh app: the command runs inside the CLI's app context, and an app whose
    # context is already pushed would share it (with `g`, the locale and the signed-in
    # user) between all the requests of a worker.
    server.run(create_app(), host=host, port=port, workers=workers)


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


def init_app(app: Flask) -> None:
    """Register the commands on the app."""
    for command in (
        serve,
        *account_cli.COMMANDS,
        *device_cli.COMMANDS,
        screens,
        *import_cli.COMMANDS,
        rollup_group,
        seed_demo,
        paper_import.import_responses_command,
        *export_cli.COMMANDS,
        backup_command,
        webhook_cli.webhooks_group,
        contact_cli.contacts_group,
        translate_cli.translate,
        *jobs_cli.COMMANDS,
    ):
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `survey` console script."""
    FlaskGroup(
        create_app=create_app, add_default_commands=False, help="SIPAS-style satisfaction survey."
    )(prog_name="survey")
