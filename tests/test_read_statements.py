"""Pages that list rows read as many SQL statements with 25 rows as with 3: nothing is looked
up once per row (a procedure's name, a unit, a kiosk, a rating's answers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from survey import flags
from survey.extensions import db
from survey.models import utcnow
from tests.builders import make_user, rate, sign_in

SERVICES = ("HT-KHAISINH", "CT-BANSAO")


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
    assert sign_in(client, "admin@ag.vn").status_code == 303
    return client


def _add(app, n: int, tag: str, minutes_ago: int) -> list[str]:
    """n commented ratings over two procedures, every other one flagged; the flagged ids."""
    flagged = []
    with app.app_context():
        for i in range(n):
            response = rate(
                service=SERVICES[i % 2],
                answers={"OV": 1 + i % 5, "TC1": 4},
                comment=f"{tag} {i}",
                captured_at=utcnow() - timedelta(minutes=minutes_ago + i),
            )
            if i % 2:
                flags.set_flag(response, "burst")
                flagged.append(response.public_id)
    return flagged


def _count(app, client, url: str) -> tuple[int, str]:
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def note(*args):
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", note)
    try:
        reply = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert reply.status_code == 200
    return len(seen), reply.text


@pytest.mark.parametrize("url", ["/admin/flags", "/admin/?period=this-month"])
def test_a_listing_reads_as_much_for_many_rows_as_for_few(app, admin, url):
    _add(app, 12, "ý kiến đầu", minutes_ago=200)  # 6 counted: enough to be shown
    few, page = _count(app, admin, url)
    flagged = _add(app, 50, "ý kiến sau", minutes_ago=5)
    many, more = _count(app, admin, url)
    shown = flagged[0] if url == "/admin/flags" else "ý kiến sau 0"
    assert shown in more and shown not in page  # the new rows are listed ...
    assert many == few  # ... and read with the same statements


def test_the_dashboard_reads_a_fixed_number_of_statements(app, admin):
    """Pinned on purpose; change it only with the reason. 23 with ratings this month and none a
    year before: the session and account (2), the filter choices (5; counters with their unit in
    the same statement), the active questionnaire (1), the procedures' rollups for the period
    and the year before (1, a row per procedure and period) and their names (1), the trend's
    months over every procedure (1: read apart since 2026-12-06, as the period's read no longer
    returns a row per procedure and month, 12 times as many rows to add up), the comments (1),
    the ranking of the tab shown (2 for the units, the default: their months for the period
    and the year before, and their names; since 2026-12-06 the other kinds are built only when
    their tab is opened), and the dossiers recorded for the period (1, added with survey
    planning: a group whose ratings fall short of its planned sample is not ranked), and the
    respondent profile's months (1, added with "who is satisfied"), the follow-up cases opened in
    the period (1, added with the cases), the open alerts of the account's units (1, added with
    alerts; none open here), and what the comments are about (10,
    added with the topics: the untagged comments of the trend's months, 1; tagging them, 7, which
    a view with nothing left to tag skips: the lexicon's overrides, the mark of the responses'
    topics (one UPDATE per distinct set of topics, 1 here), the insert of their topic rows, and
    since 2026-12-06 their counts added to the four rollups, one UPDATE each, where the topic
    counts were read from every comment of the trend's months; the topics of the listed
    comments, 1; the topic counts per month from the rollups, 1). Ratings a year before add
    one read of names."""
    _add(app, 12, "ý kiến", minutes_ago=200)
    count, page = _count(app, admin, "/admin/?period=this-month")
    assert 'id="h-rank-unit"' in page and 'id="h-topics"' in page
    assert count == 28
    again, _page = _count(app, admin, "/admin/?period=this-month")
    assert again == 21  # nothing left to tag: only the lookup of untagged comments
