"""The registry of scheduled jobs that `survey jobs run` runs (survey/jobs.py).

Each entry: a name, how often it is due, and a function taking `now=` that returns how many
things it did. To add a job, add a line to `JOBS`; nothing else needs to change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from survey import alert_rules, alerts, cases, digest, retention, topics, webhooks
from survey.jobs import Job


def check_index(*, now: datetime) -> int:
    """Alert on units and procedures whose last 7 days fell below their last 90."""
    return alerts.check("index", alert_rules.index_conditions(now=now), now=now)


def check_kiosks(*, now: datetime) -> int:
    """Alert on kiosks silent during opening hours."""
    return alerts.check("kiosk", alert_rules.kiosk_conditions(now=now), now=now)


def check_flags(*, now: datetime) -> int:
    """Alert on surges of suspect ratings."""
    return alerts.check("flags", alert_rules.flag_conditions(now=now), now=now)


def check_cases(*, now: datetime) -> int:
    """Alert on cases that reach their deadline within 2 working days."""
    due = cases.due_soon(now=now, days=2)
    return alerts.check("cases", alert_rules.case_conditions(due), now=now)


def check_webhooks(*, now: datetime) -> int:
    """Alert the administrators to webhook endpoints paused after a day of failures."""
    return alerts.check(
        "webhooks", alert_rules.webhook_conditions(webhooks.paused_since(now=now)), now=now
    )


JOBS: list[Job] = [
    Job("alerts.kiosks", timedelta(minutes=5), check_kiosks),
    Job("alerts.flags", timedelta(minutes=15), check_flags),
    Job("alerts.index", timedelta(hours=1), check_index, lease=timedelta(minutes=30)),
    Job("alerts.cases", timedelta(hours=1), check_cases),
    Job("digest", timedelta(minutes=15), digest.send_digests),
    Job("purge", timedelta(days=1), retention.purge, lease=timedelta(hours=2)),
    # New ratings and yesterday's summary queued for the webhooks, then sent (retried with
    # backoff): every minute, so a province's system hears of a rating within about a minute.
    # New comments tagged with their topics (the dashboard also tags what it counts, unless
    # SURVEY_TOPICS_TAG_ON_VIEW=0).
    Job("topics.tag", timedelta(minutes=1), topics.tag_new),
    Job("alerts.webhooks", timedelta(minutes=15), check_webhooks),
    Job("webhooks.enqueue", timedelta(minutes=1), webhooks.enqueue_new),
    Job(
        "webhooks.deliver", timedelta(minutes=1), webhooks.deliver_due, lease=timedelta(minutes=15)
    ),
]


def by_name(names: tuple[str, ...] = ()) -> list[Job]:
    """The registered jobs, or only those named (an unknown name raises KeyError)."""
    if not names:
        return list(JOBS)
    known = {job.name: job for job in JOBS}
    return [known[name] for name in names]
