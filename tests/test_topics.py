"""What people complain about, as a manager and an operator see it: comments tagged with topics
by the job or by the dashboard, counted per period and month, listed by topic, corrected by a
manager for good (audited), and the lexicon replaced by an administrator (audited)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from survey import topics
from survey.extensions import db
from survey.models import AuditEvent, Response, utcnow
from survey.topic_models import CommentTopic
from tests.builders import make_user, rate, sign_in

NOW = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)
COMMENTS = [
    ("Chờ lâu quá, hơn 1 tiếng chưa tới lượt", 2),
    ("cb thai do ko tot", 1),
    ("Phải chờ lâu, cán bộ vui vẻ", 3),
    ("Rất hài lòng", 5),
    ("Lệ phí cao", 2),
    (None, 4),
]
PAGE = "/admin/?period=this-month"


def _rate_all(comments=COMMENTS, *, unit="XA1", when=None) -> list[Response]:
    when = when or utcnow() - timedelta(hours=1)
    return [
        rate(unit=unit, answers={"OV": ov, "TC1": 4}, comment=text, captured_at=when)
        for text, ov in comments
    ]


def _topics(response_id: int) -> dict[str, str]:
    rows = db.session.scalars(select(CommentTopic).filter_by(response_id=response_id))
    return {row.topic: row.source for row in rows}


@pytest.fixture
def manager(app, client):
    with app.app_context():
        make_user("manager@ag.vn", "manager", ("XA1",))
    assert sign_in(client, "manager@ag.vn").status_code == 303
    return client


def test_the_job_tags_each_comment_once_and_a_rating_without_comment_never(app):
    with app.app_context():
        rated = _rate_all()
        assert topics.tag_new(now=NOW) == 5
        assert topics.tag_new(now=NOW) == 0
        assert _topics(rated[0].id) == {"thoi_gian_cho": "auto"}
        assert _topics(rated[2].id) == {"thoi_gian_cho": "auto", "thai_do": "auto"}
        assert _topics(rated[3].id) == {"none": "auto"}  # tagged: about none of the topics
        assert _topics(rated[5].id) == {}


def test_the_dashboard_counts_topics_and_lists_the_comments_of_one(app, manager):
    with app.app_context():
        _rate_all()
    page = manager.get(PAGE).text  # tags on demand: no job has run
    start = page.index('id="h-topics"')
    section = page[start : page.index("</section>", start)]
    assert "Thời gian chờ" in section and "Thái độ cán bộ" in section
    waiting = section[section.index("Thời gian chờ") :]
    assert '<td class="num">2</td>' in waiting[:400]  # two comments about waiting
    listed = manager.get(PAGE + "&topic=thai_do").text
    comments = listed[listed.index('id="h-comments"') :]
    assert "cb thai do ko tot" in comments and "Phải chờ lâu, cán bộ vui vẻ" in comments
    assert "Lệ phí cao" not in comments and "Chờ lâu quá" not in comments


def test_a_managers_correction_is_kept_audited_and_never_retagged(app, manager):
    with app.app_context():
        rated = _rate_all()
        topics.tag_new(now=NOW)
        target_id, public_id = rated[3].id, rated[3].public_id
    reply = manager.post(
        f"/admin/comments/{public_id}/topics",
        data={"topics": ["huong_dan", "thai_do"], "next": "/admin/?period=this-month#h-comments"},
    )
    assert reply.status_code == 303
    assert reply.headers["Location"].endswith("/admin/?period=this-month#h-comments")
    with app.app_context():
        assert _topics(target_id) == {"huong_dan": "manual", "thai_do": "manual"}
        event = db.session.scalar(select(AuditEvent).filter_by(action="comment.topics"))
        assert event.actor == "manager@ag.vn" and event.target == public_id
        assert event.detail == {"before": "", "after": "thai_do,huong_dan"}
        topics.save_lexicon({"thai_do": "rất hài lòng"}, actor="admin@ag.vn", now=NOW)
        topics.tag_new(now=NOW)
        assert _topics(target_id) == {"huong_dan": "manual", "thai_do": "manual"}
    page = manager.get(PAGE).text
    assert "(đã sửa)" in page


def test_a_comment_out_of_the_managers_units_cannot_be_corrected(app, manager):
    with app.app_context():
        other = _rate_all([("Chờ lâu", 2)], unit="CTR")[0]
        other_id, public_id = other.id, other.public_id
    reply = manager.post(f"/admin/comments/{public_id}/topics", data={"topics": "thai_do"})
    assert reply.status_code == 404
    with app.app_context():
        assert _topics(other_id) == {}


def test_an_administrators_phrases_replace_the_files_and_retag_comments(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        rated = _rate_all([("Bị đòi tiền trà nước", 2), ("Lệ phí cao", 2)])
        topics.tag_new(now=NOW)
        first = rated[0].id
        assert _topics(first) == {"none": "auto"}
    assert sign_in(client, "admin@ag.vn").status_code == 303
    reply = client.post("/admin/topics", data={"phi_le_phi": "tiền trà nước\nlệ phí"})
    assert reply.status_code == 303
    page = client.get("/admin/topics").text
    assert "tiền trà nước" in page and "(do quản trị viên thay đổi)" in page
    with app.app_context():
        assert topics.tag_new(now=NOW) == 2
        assert _topics(first) == {"phi_le_phi": "auto"}
        event = db.session.scalar(select(AuditEvent).filter_by(action="topics.lexicon"))
        assert event.actor == "admin@ag.vn" and event.detail == {"topics": "phi_le_phi"}
    client.post("/admin/topics", data={"phi_le_phi": ""})  # blank: the file's phrases again
    with app.app_context():
        assert topics.overrides() == {}


def test_flagged_ratings_are_not_counted_and_removed_text_keeps_its_topics(app):
    with app.app_context():
        rated = _rate_all([("Chờ lâu", 2), ("Chờ lâu", 2), ("Chờ lâu", 2)], when=NOW)
        topics.tag_new(now=NOW)
        rated[0].flag_reason = "burst"
        rated[1].comment = None  # the text removed (retention, redaction)
        db.session.commit()
        from survey.filters import everything
        from survey.topic_figures import topic_figures

        month = everything(NOW.date().replace(day=1), NOW.date().replace(day=31))
        figures = topic_figures(month, month, comments=2)
        waiting = next(t for t in figures.topics if t.topic == "thoi_gian_cho")
        assert (waiting.count, waiting.share, waiting.months) == (2, 1.0, (2,))


def test_the_report_and_its_pdf_count_the_topics_per_month(app, manager):
    from tests.test_report import _pdf_text

    with app.app_context():
        _rate_all(when=datetime(2026, 7, 10, 3, 0, tzinfo=UTC))
        _rate_all([("Lệ phí cao", 2)], when=datetime(2026, 8, 10, 3, 0, tzinfo=UTC))
    page = manager.get("/admin/report?period=2026-Q3").text
    table = page[page.index('id="r-topics"') : page.index("</table>", page.index('id="r-topics"'))]
    assert "Thời gian chờ" in table and "07/2026" in table and "09/2026" in table
    fees = table[table.index("Phí, lệ phí") :]
    assert '<td class="num">2</td>' in fees[:80]  # one in July, one in August
    text = _pdf_text(manager.get("/admin/report.pdf?period=2026-Q3").data)
    assert "Người dân góp ý về điều gì" in text and "Phí, lệ phí" in text


def test_pages_leave_tagging_to_the_job_when_told(app, manager):
    app.config["SURVEY_TOPICS_TAG_ON_VIEW"] = False
    with app.app_context():
        first = _rate_all([("Chờ lâu", 2)])[0].id
    assert manager.get(PAGE).status_code == 200
    with app.app_context():
        assert _topics(first) == {}
        assert topics.tag_new(now=NOW) == 1


def test_a_comment_corrected_to_no_topic_says_so(app, manager):
    with app.app_context():
        public_id = _rate_all()[1].public_id  # "cb thai do ko tot", the only one about attitude
    manager.post(f"/admin/comments/{public_id}/topics", data={"next": "/admin/"})
    listed = manager.get(PAGE).text
    comments = listed[listed.index('id="h-comments"') :]
    assert 'Không thuộc chủ đề nào <span class="by-hand">(đã sửa)</span>' in comments
    topic_counts = listed[listed.index('id="h-topics"') : listed.index('id="h-comments"')]
    attitude = topic_counts[topic_counts.index("Thái độ cán bộ</a>") :]
    assert '<td class="num">1</td>' in attitude[:60]  # one left: "cán bộ vui vẻ"


def test_the_dashboard_links_each_comment_to_its_page_of_actions(app, manager):
    with app.app_context():
        rated = _rate_all()[0]  # "Chờ lâu quá, hơn 1 tiếng chưa tới lượt"
        rid, text, public_id = rated.id, rated.comment, rated.public_id
    dashboard = manager.get(PAGE).text
    assert "topic-fix" not in dashboard and "/admin/cases/open/" not in dashboard  # no form a row
    links = re.findall(r'class="comment-handle" href="([^"]+)"', dashboard)
    assert len(links) == 5  # one a comment
    link = html.unescape(next(a for a in links if public_id in a))
    page = manager.get(link).text
    assert text in page and 'value="thoi_gian_cho" id="t-thoi_gian_cho" checked' in page
    assert f'action="/admin/cases/open/{rid}"' in page
    assert f'href="/admin/comments/{rid}/redact"' in page
    back = html.unescape(re.search(r'name="next" type="hidden" value="([^"]+)"', page)[1])
    assert back.startswith("/admin/?") and back.endswith("#h-comments")
    form = {"topics": "thai_do", "next": back}
    reply = manager.post(link.split("?")[0] + "/topics", data=form)
    assert reply.status_code == 303 and reply.headers["Location"] == back
    with app.app_context():
        assert _topics(rid) == {"thai_do": "manual"}
