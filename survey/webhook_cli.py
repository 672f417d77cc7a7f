"""`survey webhooks deliver`: queue new events and send what is due, by hand (the jobs runner
does the same every minute)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from survey import webhooks
from survey.models import utcnow


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhooks to the province's systems."""


@webhooks_group.command("deliver")
@with_appcontext
def deliver_command() -> None:
    """Queue the events not yet queued, then send every delivery that is due."""
    now = utcnow()
    queued = webhooks.enqueue_new(now=now)
    received = webhooks.deliver_due(now=now)
    click.echo(f"{queued} deliveries queued, {received} received by their endpoints.")
