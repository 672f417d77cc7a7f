"""`survey jobs run`: each due job runs once, a failure is recorded without stopping the
others, and two runners at once (threads, each with its own connection) run a job once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from survey import jobs
from survey.alert_models import JobRun
from survey.extensions import db

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def _counting(calls: list, pause: float = 0.0):
    def run(*, now: datetime) -> int:
        calls.append(now)
        time.sleep(pause)
        return 3

    return run


def test_a_due_job_runs_once_then_waits_for_its_interval(app):
    calls: list = []
    job = jobs.Job("test.count", timedelta(minutes=10), _counting(calls))
    with app.app_context():
        first = jobs.run_due([job], now=NOW)
        again = jobs.run_due([job], now=NOW + timedelta(minutes=9))
        later = jobs.run_due([job], now=NOW + timedelta(minutes=10))
        row = db.session.get(JobRun, "test.count")
        assert [o.ran for o in first + again + later] == [True, False, True]
        assert calls == [NOW, NOW + timedelta(minutes=10)]
        assert (row.last_outcome, row.last_count, row.running_until) == ("ok", 3, None)
        assert row.next_due_at == NOW + timedelta(minutes=20)


def test_a_failing_job_is_recorded_and_the_others_still_run(app):
    calls: list = []

    def broken(*, now: datetime) -> int:
        raise RuntimeError("no")

    failing = jobs.Job("test.broken", timedelta(minutes=1), broken)
    fine = jobs.Job("test.fine", timedelta(minutes=1), _counting(calls))
    with app.app_context():
        outcomes = jobs.run_due([failing, fine], now=NOW)
        assert [(o.name, o.error) for o in outcomes] == [
            ("test.broken", "RuntimeError"),
            ("test.fine", None),
        ]
        assert db.session.get(JobRun, "test.broken").last_outcome == "failed"
        assert calls == [NOW]


def test_a_lease_left_by_a_dead_runner_runs_out(app):
    calls: list = []
    job = jobs.Job("test.lease", timedelta(minutes=1), _counting(calls), lease=timedelta(minutes=5))
    with app.app_context():
        jobs.ensure_rows([job])
        assert jobs.claim(job, now=NOW)  # a runner took it, then died
        assert not jobs.run_one(job, now=NOW + timedelta(minutes=4)).ran
        assert jobs.run_one(job, now=NOW + timedelta(minutes=6)).ran
        assert calls == [NOW + timedelta(minutes=6)]


def test_two_runners_at_once_run_a_job_once(app):
    calls: list = []
    job = jobs.Job("test.once", timedelta(minutes=1), _counting(calls, pause=0.5))
    start, outcomes = threading.Barrier(2), []

    def runner() -> None:
        with app.app_context():
            start.wait()
            outcomes.extend(jobs.run_due([job], now=NOW))
            db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(o.ran for o in outcomes) == [False, True]


def test_the_command_runs_the_due_jobs_and_says_what_it_did(app, runner):
    first = runner.invoke(args=["jobs", "run"])
    assert first.exit_code == 0, first.output
    assert "alerts.kiosks: done 0" in first.output and "purge: done 0" in first.output
    second = runner.invoke(args=["jobs", "run", "--only", "purge"])
    assert second.output.strip() == "purge: not due"
    listed = runner.invoke(args=["jobs", "list"])
    assert "purge\tevery 1 day, 0:00:00\tlast" in listed.output
    unknown = runner.invoke(args=["jobs", "run", "--only", "nothing"])
    assert unknown.exit_code != 0 and "Unknown job: nothing" in unknown.output
