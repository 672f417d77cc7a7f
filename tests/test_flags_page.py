"""The suspect-ratings page: pages of 50, answers in words, decisions on many rows at once."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from survey import flags, kiosks, rollups
from survey.extensions import db
from survey.models import AuditEvent, Response, utcnow
from tests.builders import make_user, rate, sign_in


@pytest.fixture
def people(app):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        make_user("manager@ag.vn", "manager", ("XA1",))


def flag_many(app, n: int, *, unit: str = "CTR", reason: str = "burst", answers=None) -> list[str]:
    """n flagged ratings of `unit`, one minute apart, newest first; their ids."""
    ids = []
    with app.app_context():
        for i in range(n):
            response = rate(
                unit=unit,
                answers=answers or {"OV": 1 + i % 5},
                captured_at=utcnow() - timedelta(minutes=10 + i),
            )
            flags.set_flag(response, reason)
            ids.append(response.public_id)
    return ids


def state(app, ids: list[str]) -> list[tuple[str | None, str | None]]:
    """(flag_reason, flag_review) of each rating."""
    with app.app_context():
        rows = dict(
            (r.public_id, (r.flag_reason, r.flag_review))
            for r in db.session.scalars(select(Response).where(Response.public_id.in_(ids)))
        )
    return [rows[i] for i in ids]


def counted(app) -> int:
    with app.app_context():
        return rollups.counted()


def shown(page: str) -> list[str]:
    """The rating ids the page offers to choose, in order."""
    return re.findall(r'name="id" value="([^"]+)"', page)


def test_the_list_pages_by_50_and_its_links_keep_the_filters(app, client, people):
    burst = flag_many(app, 57)
    streak = flag_many(app, 2, reason="streak")
    sign_in(client, "admin@ag.vn")
    first = client.get("/admin/flags?reason=burst").text
    assert shown(first) == burst[:50] and "57 phiếu" in first
    older = re.search(r'href="([^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "reason=burst" in older
    second = client.get(older).text
    assert shown(second) == burst[50:]
    assert "reason=burst" in re.search(r'href="([^"]*page=1[^"]*)"', second).group(1)
    assert shown(client.get("/admin/flags?reason=streak").text) == streak
    assert len(shown(client.get("/admin/flags").text)) == 50  # every reason, first page
    assert shown(client.get("/admin/flags?reason=burst&page=9").text) == burst[50:]


def test_a_page_reads_as_many_statements_with_50_rows_as_with_2(app, client, people):
    sign_in(client, "admin@ag.vn")

    def statements(url: str) -> int:
        seen = []
        note = lambda *args: seen.append(args[2])  # noqa: E731
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", note)
        return len(seen)

    flag_many(app, 52, answers={"OV": 4, "TC1": 5, "TC2": None, "EX1": 2})
    assert statements("/admin/flags?page=2") == statements("/admin/flags")


def test_answers_are_shown_as_the_questionnaires_words(app, client, people):
    flag_many(app, 1, answers={"OV": 5, "TC1": 2, "TT1": None, "EX1": 4})
    sign_in(client, "admin@ag.vn")
    page = client.get("/admin/flags").text
    assert "Nhìn chung, Ông/Bà hài lòng với sự phục vụ hôm nay ở mức nào?" in page
    for words in ("Rất hài lòng", "Không hài lòng", "Không áp dụng", "Rất mong muốn"):
        assert words in page
    assert "OV=" not in page and "3 câu trả lời khác" in page
    client.get("/admin/language/km")
    khmer = client.get("/admin/flags").text
    assert "ពេញចិត្តខ្លាំង" in khmer and "មិនពាក់ព័ន្ធ" in khmer and "Rất hài lòng" not in khmer


def test_the_kiosk_is_named_and_a_phone_rating_says_its_channel(app, client, people):
    with app.app_context():
        device = kiosks.create_kiosk(unit="CTR", counter=None, name="Sảnh chính", actor="t")[0]
        kiosk_id = device.id
    rid = flag_many(app, 1)[0]
    flag_many(app, 1)
    with app.app_context():
        db.session.scalar(select(Response).filter_by(public_id=rid)).kiosk_id = kiosk_id
        db.session.commit()
    sign_in(client, "admin@ag.vn")
    page = client.get("/admin/flags").text
    assert f'href="/admin/kiosks/{kiosk_id}">Sảnh chính</a>' in page
    assert "Trang web" in page  # the other one came from the web


def test_checked_ratings_are_excluded_or_kept_together_and_audited(app, client, people):
    ids = flag_many(app, 4)
    sign_in(client, "admin@ag.vn")
    assert counted(app) == 0
    out = client.post("/admin/flags?reason=burst", data={"id": ids[:2], "decision": "confirm"})
    assert out.status_code == 303 and out.headers["Location"] == "/admin/flags?page=1&reason=burst"
    assert "đã ghi nhận quyết định với 2 phiếu" in client.get(out.headers["Location"]).text.lower()
    assert state(app, ids) == [("burst", "confirmed")] * 2 + [("burst", None)] * 2
    assert counted(app) == 0
    keep = client.post("/admin/flags", data={"id": [ids[0], ids[2]], "decision": "clear"})
    assert keep.status_code == 303
    assert state(app, ids) == [(None, None), ("burst", "confirmed"), (None, None), ("burst", None)]
    assert counted(app) == 2  # the rollups follow
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.action, AuditEvent.target).order_by(AuditEvent.id)
        ).all()
    decisions = [(a, t) for a, t in events if a.startswith("flag.")]
    assert sorted(decisions) == sorted(
        [("flag.confirm", ids[0]), ("flag.confirm", ids[1])]
        + [("flag.clear", ids[0]), ("flag.clear", ids[2])]
    )


def test_a_manager_cannot_decide_on_another_units_rating(app, client, people):
    mine = flag_many(app, 2, unit="XA1")
    theirs = flag_many(app, 1, unit="CTR")
    sign_in(client, "manager@ag.vn")
    assert shown(client.get("/admin/flags").text) == mine
    reply = client.post("/admin/flags", data={"id": [*mine, *theirs], "decision": "clear"})
    assert reply.status_code == 404
    assert state(app, mine + theirs) == [("burst", None)] * 3  # nothing changed, not even mine
    assert client.post("/admin/flags", data={"id": mine, "decision": "clear"}).status_code == 303
    assert state(app, mine) == [(None, None)] * 2


def test_a_decision_needs_the_pages_csrf_token(app, client, people):
    ids = flag_many(app, 1)
    sign_in(client, "admin@ag.vn")
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/admin/flags").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/admin/flags", data={"id": ids, "decision": "confirm"}).status_code == 400
    assert state(app, ids) == [("burst", None)]
    sent = {"id": ids, "decision": "confirm", "csrf_token": token}
    assert client.post("/admin/flags", data=sent).status_code == 303
    assert state(app, ids) == [("burst", "confirmed")]


def test_choosing_nothing_says_so(app, client, people):
    ids = flag_many(app, 1)
    sign_in(client, "admin@ag.vn")
    reply = client.post("/admin/flags", data={"decision": "confirm"})
    assert reply.status_code == 400
    assert "Lỗi:" in reply.text and "Chọn ít nhất một phiếu" in reply.text
    assert state(app, ids) == [("burst", None)]
    fake = [str(uuid.uuid4()) for _ in range(50)]
    too_many = client.post("/admin/flags", data={"id": [*ids, *fake], "decision": "confirm"})
    assert too_many.status_code == 400 and "Chỉ chọn tối đa" in too_many.text
    assert state(app, ids) == [("burst", None)]
