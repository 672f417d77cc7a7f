"""How long a dashboard summary takes from the daily rollups, against a baseline that
aggregates the raw answers, on the same seeded database in the same run.

    python bench/summary_speed.py [--responses 20000] [--repeat 5]

Prints the median time of each and the ratio. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime

from sqlalchemy import func, select


def median_seconds(work, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    os.environ["SURVEY_INSTANCE_PATH"] = folder
    from survey import create_app, demo, filters, first_run, questionnaire, summary
    from survey.extensions import db
    from survey.models import Answer, Response

    app = create_app()
    with app.app_context():
        first_run.prepare()
        demo.seed_responses(args.responses, seed=1, now=datetime(2026, 11, 1, tzinfo=UTC))
        period = filters.everything(date(2025, 1, 1), date(2025, 12, 31))
        q = questionnaire.active()

        def from_rollups():
            summary.build_summary(period, group_by="service")

        def from_raw_answers():  # the baseline: the same figures straight from the answers
            start, end = filters.utc_bounds(period)
            rows = db.session.execute(
                select(Response.service_id, Answer.item, Answer.value, func.count())
                .join(Answer, Answer.response_id == Response.id)
                .where(
                    Response.flag_reason.is_(None),
                    Response.captured_at >= start,
                    Response.captured_at < end,
                )
                .group_by(Response.service_id, Answer.item, Answer.value)
            )
            groups: dict = {}
            for service_id, item, value, n in rows:
                groups.setdefault(service_id, {}).setdefault(item, Counter())[value or 0] += n
            for items in groups.values():
                summary.figures_from(q, items)

        rollup_time = median_seconds(from_rollups, args.repeat)
        raw_time = median_seconds(from_raw_answers, args.repeat)
    print(f"responses seeded:            {args.responses}")
    print(f"summary from daily rollups:  {rollup_time * 1000:8.1f} ms (median of {args.repeat})")
    print(f"baseline from raw answers:   {raw_time * 1000:8.1f} ms (median of {args.repeat})")
    print(f"rollups / baseline:          {rollup_time / raw_time:8.2f}")


if __name__ == "__main__":
    main()
