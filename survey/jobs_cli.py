"""`survey jobs run|list` and `survey purge` (issue 13): thin wrappers around survey.jobs."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from survey import jobs, retention, schedule
from survey.models import utcnow


@click.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs: alerts, digests, retention (cron or a systemd timer, every minute)."""


def _said(outcome: jobs.Outcome) -> str:
    if outcome.error:
        return f"{outcome.name}: failed ({outcome.error})"
    return f"{outcome.name}: " + (f"done {outcome.count}" if outcome.ran else "not due")


@jobs_group.command("run")
@click.option("--only", "names", multiple=True, help="Run only this job (repeatable).")
@with_appcontext
def jobs_run(names: tuple[str, ...]) -> None:
    """Run every due job once and exit; safe on several servers at once."""
    try:
        outcomes = jobs.run_due(schedule.by_name(names), now=utcnow())
    except KeyError as exc:
        raise click.ClickException(f"Unknown job: {exc.args[0]}") from exc
    click.echo("\n".join(_said(o) for o in outcomes))
    if any(o.error for o in outcomes):
        raise SystemExit(1)


@jobs_group.command("list")
@with_appcontext
def jobs_list() -> None:
    """Each job: how often, when it last ran, how it ended, when it is next due."""
    for job, row in jobs.states(schedule.JOBS):
        if row is None:
            click.echo(f"{job.name}\tevery {job.every}\tnever run")
            continue
        click.echo(f"{job.name}\tevery {job.every}\tlast {row.last_started_at} {row.last_outcome} "
                   f"{row.last_count}\tnext {row.next_due_at}")  # fmt: skip


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Remove comment text past SURVEY_COMMENT_RETENTION_DAYS (the ratings stay)."""
    click.echo(f"Removed: {retention.purge(now=utcnow())}")


COMMANDS = (jobs_group, purge_command)
