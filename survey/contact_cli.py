"""The `survey contacts` commands: re-encrypt the call-back numbers after a key rotation."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from survey import contacts


@click.group("contacts")
def contacts_group() -> None:
    """Call-back numbers kept with consent (encrypted with SURVEY_DATA_KEY)."""


@contacts_group.command("rotate-key")
@with_appcontext
def rotate_key() -> None:
    """Re-encrypt every number with the first key of SURVEY_DATA_KEY (docs/OPERATIONS.md)."""
    try:
        rows = contacts.rotate_key()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Re-encrypted {rows} call-back numbers with the first key of SURVEY_DATA_KEY.")
