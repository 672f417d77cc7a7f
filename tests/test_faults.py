"""Fault tests, short: kiosks retrying by id lose nothing while the server or database fails.

The same scenarios run longer from bench/faults.py (its output is the proof in the issue).
Here two short runs per database: one that breaks the database, one that breaks the server.
"""

from __future__ import annotations

import os

import pytest

from bench import faults

PG_URL = os.environ.get("SURVEY_TEST_DATABASE_URL")
DB = "postgresql" if PG_URL else "sqlite"
SCENARIOS = ("pg-terminate", "worker-kill") if PG_URL else ("sqlite-lock", "server-restart")


@pytest.mark.faults
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_acknowledged_rating_is_lost_or_counted_twice(scenario):
    options = faults.Options(
        scenario=scenario,
        db=DB,
        clients=20,
        seconds=6,
        workers=2,
        pg_server=PG_URL or faults.PG_SERVER,
    )
    report = faults.run(options)
    summary = faults.describe(report)
    print(summary)
    assert report.faults > 0 and report.tally.acknowledged, summary
    assert report.lost == 0 and report.duplicated == 0 and report.rollup_mismatch == 0, summary
    assert not report.tally.problems, summary
    assert report.passed, summary
