"""`survey catalogue import`, `survey dossiers import` and `survey questionnaire load`: the
files a province loads, as thin wrappers around survey.catalogue, survey.planning and
survey.questionnaire. Each refuses a whole file when any part of it is bad."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from survey import catalogue, dossier_file, planning, questionnaire


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


COMMANDS = (catalogue_group, dossiers_group, questionnaire_group)
