"""`survey purge` removes comment text past SURVEY_COMMENT_RETENTION_DAYS, and a manager may
redact a comment by hand: the ratings and the figures stay, and both are audited without the
text."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from survey import catalogue, jobs, retention, schedule
from survey.audit import latest
from survey.extensions import db
from survey.filters import everything
from survey.models import AuditEvent, Response
from survey.summary import build_summary
from tests.builders import make_user, rate, sign_in

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
OLD_TEXT = "Anh Lê Văn Tám số nhà 12 chờ hai tiếng"


def _figures():
    summary = build_summary(everything(date(2023, 1, 1), date(2026, 12, 31)))
    figures = summary.figures
    return figures.responses, figures.overall_question, figures.overall


def test_purge_removes_old_comment_text_and_keeps_ratings_and_figures(app, runner):
    with app.app_context():
        old = rate(
            answers={"OV": 2, "TC1": 4}, captured_at=NOW - timedelta(days=731), comment=OLD_TEXT
        )
        kept = rate(answers={"OV": 5}, captured_at=NOW - timedelta(days=700), comment="Tốt")
        before = _figures()
        assert retention.purge(now=NOW) == 1
        db.session.expire_all()
        assert db.session.get(Response, old.id).comment is None
        assert db.session.get(Response, kept.id).comment == "Tốt"
        answers = db.session.get(Response, old.id).answers
        assert sorted((a.item, a.value) for a in answers) == [("OV", 2), ("TC1", 4)]
        assert _figures() == before  # responses, the overall question, the SIPAS index
        event = db.session.scalar(select(AuditEvent).filter_by(action="comment.purge"))
        assert event.detail["comments"] == 1 and OLD_TEXT not in str(event.detail)
    # The command does the same with the wall clock: nothing left past the retention period.
    assert runner.invoke(args=["purge"]).output.strip() == "Removed: 0"


def test_the_retention_period_is_configurable_and_purge_runs_as_a_daily_job(app):
    app.config["SURVEY_COMMENT_RETENTION_DAYS"] = 30
    with app.app_context():
        rate(answers={"OV": 3}, captured_at=NOW - timedelta(days=31), comment=OLD_TEXT)
        purge = next(job for job in schedule.JOBS if job.name == "purge")
        assert purge.every == timedelta(days=1)
        (outcome,) = jobs.run_due([purge], now=NOW)
        assert (outcome.ran, outcome.count) == (True, 1)
        assert not jobs.run_due([purge], now=NOW + timedelta(hours=23))[0].ran


def _comment(app, unit_counter: str = "XA1-Q01") -> int:
    with app.app_context():
        return rate(counter=unit_counter, answers={"OV": 1}, comment=OLD_TEXT).id


def test_a_manager_redacts_a_comment_from_the_dashboard_and_it_is_audited(app):
    with app.app_context():
        make_user("m1@ag.vn", "manager", ("XA1",))
        for _ in range(4):
            rate(counter="XA1-Q01", answers={"OV": 4})
    rid = _comment(app)
    client = app.test_client()
    sign_in(client, "m1@ag.vn")
    board = client.get("/admin/?unit=XA1").text
    handle = html.unescape(re.search(r'class="comment-handle" href="([^"]+)"', board)[1])
    assert f'href="/admin/comments/{rid}/redact"' in client.get(handle).text
    page = client.get(f"/admin/comments/{rid}/redact")
    assert page.status_code == 200 and OLD_TEXT in page.text
    saved = client.post(
        f"/admin/comments/{rid}/redact", data={"text": "Anh [...] chờ hai tiếng", "save": "1"}
    )
    assert saved.status_code == 303
    assert "Anh [...] chờ hai tiếng" in client.get("/admin/?unit=XA1").text
    removed = client.post(f"/admin/comments/{rid}/redact", data={"text": "x", "remove": "1"})
    assert removed.status_code == 303
    with app.app_context():
        assert db.session.get(Response, rid).comment is None
        events = [e for e in latest(page=1)[0] if e.action == "comment.redact"]
        assert [e.detail["removed"] for e in events] == [True, False]
        assert all(e.actor == "m1@ag.vn" and e.target == str(rid) for e in events)
        assert OLD_TEXT not in str([e.detail for e in events])
    # Nothing left to redact once it is removed.
    assert client.get(f"/admin/comments/{rid}/redact").status_code == 404


def test_redaction_keeps_to_the_scope_and_the_roles(app):
    with app.app_context():
        catalogue.import_csv(
            "kind,code,parent,name_vi,name_en,name_km,national_code,field,agency,active\n"
            "unit,XA2,CTR,Xã Hai,Commune Two,ឃុំ 2,,,,\n"
        )
        make_user("out@ag.vn", "manager", ("XA2",))
        make_user("v1@ag.vn", "viewer", ("XA1",))
    rid = _comment(app)
    out, viewer = app.test_client(), app.test_client()
    sign_in(out, "out@ag.vn"), sign_in(viewer, "v1@ag.vn")
    assert out.post(f"/admin/comments/{rid}/redact", data={"remove": "1"}).status_code == 404
    assert viewer.get(f"/admin/comments/{rid}/redact").status_code == 403
    with app.app_context():
        assert db.session.get(Response, rid).comment == OLD_TEXT
