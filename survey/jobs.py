"""Scheduled jobs without a daemon: `survey jobs run`, called every minute by cron or a systemd
timer, runs each due job once and exits.

Safe on several servers at once: a job runs only on the runner that claimed its `job_run` row
with one conditional UPDATE (due, and no live lease). On PostgreSQL a second UPDATE of the same
row waits for the first to commit, then finds the lease taken and changes nothing; on SQLite
writers are serialised by the database file. A runner that dies leaves its lease, which runs
out after the job's `lease`, so the job runs again on the next call after that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from survey.alert_models import JobRun
from survey.extensions import db


@dataclass(frozen=True)
class Job:
    """A scheduled job: its name, how often it is due, and what it does.

    `run(now=...)` returns how many things it did (alerts sent, comments purged...).
    """

    name: str
    every: timedelta
    run: Callable[..., int]
    lease: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Outcome:
    name: str
    ran: bool  # False: not due, or held by another runner
    count: int = 0
    error: str | None = None


def ensure_rows(jobs: Iterable[Job]) -> None:
    """Create the `job_run` row of every job that has none (due at once)."""
    names = [job.name for job in jobs]
    known = set(db.session.scalars(select(JobRun.name).where(JobRun.name.in_(names))))
    for name in names:
        if name in known:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(JobRun(name=name))
        except IntegrityError:
            pass  # another runner created it in the meantime
    db.session.commit()


def claim(job: Job, *, now: datetime) -> bool:
    """Take the job for this runner if it is due and nobody holds it; True when taken."""
    taken = db.session.execute(
        update(JobRun)
        .where(
            JobRun.name == job.name,
            or_(JobRun.next_due_at.is_(None), JobRun.next_due_at <= now),
            or_(JobRun.running_until.is_(None), JobRun.running_until < now),
        )
        .values(running_until=now + job.lease, last_started_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return taken.rowcount == 1


def _finish(job: Job, *, now: datetime, count: int, error: str | None) -> None:
    """Release the job and record how it ended; next due `every` after this run's start."""
    db.session.execute(
        update(JobRun)
        .where(and_(JobRun.name == job.name))
        .values(
            running_until=None,
            next_due_at=now + job.every,
            last_finished_at=now,
            last_outcome="failed" if error else "ok",
            last_count=count,
            last_error=error,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def run_one(job: Job, *, now: datetime) -> Outcome:
    """Run `job` if this runner can claim it; a failure is recorded, never raised."""
    if not claim(job, now=now):
        return Outcome(job.name, ran=False)
    count, error = 0, None
    try:
        count = int(job.run(now=now) or 0)
    except Exception as exc:  # noqa: BLE001  (one job's failure must not stop the others)
        db.session.rollback()
        error = type(exc).__name__[:200]
        current_app.logger.exception("job %s failed", job.name)
    _finish(job, now=now, count=count, error=error)
    return Outcome(job.name, ran=True, count=count, error=error)


def run_due(jobs: Iterable[Job], *, now: datetime) -> list[Outcome]:
    """Run every due job of `jobs` once, one after the other."""
    jobs = list(jobs)
    ensure_rows(jobs)
    return [run_one(job, now=now) for job in jobs]


def states(jobs: Iterable[Job]) -> list[tuple[Job, JobRun | None]]:
    """Each job with its `job_run` row (None before its first run)."""
    jobs = list(jobs)
    rows = {r.name: r for r in db.session.scalars(select(JobRun))}
    return [(job, rows.get(job.name)) for job in jobs]
