"""The phone (QR) path: what a script gets counted, what a crowd behind one address gets through.

Time is passed in through the limits' offset clock (SURVEY_BENCH_CLOCK_FILE); nothing here
waits on the wall clock.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from survey import abuse, filters, summary, tally
from survey.extensions import db
from survey.models import QuestionnaireVersion, Response, Service, Unit
from tests.builders import make_user, sign_in

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
SERVICE = "HT-KHAISINH"


class Clock:
    """The phone path's clock, stopped, then moved on by the test only: the wall clock is
    frozen under the offset, so that a slow machine never lengthens a citizen's reading."""

    def __init__(self, app, path, monkeypatch) -> None:
        self.path, self.offset = path, 0.0
        self.base = abuse.utcnow().replace(microsecond=0)  # the note keeps milliseconds
        monkeypatch.setattr(abuse, "utcnow", lambda: self.base)
        path.write_text("0")
        app.config["SURVEY_BENCH_CLOCK_FILE"] = str(path)

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self.path.write_text(repr(self.offset))

    def next_hour(self) -> None:
        """Move on to a few seconds past the next full hour (surges are counted per hour)."""
        self.advance(3600 - (self.base.timestamp() + self.offset) % 3600 + 5)


@pytest.fixture
def clock(app, tmp_path, monkeypatch):
    return Clock(app, tmp_path / "clock", monkeypatch)


def rate(client, clock, *, read: float, address="203.0.113.7", service=SERVICE, counter=None):
    """Open the question, read it for `read` seconds, send a rating: (status, response id)."""
    environ = {"REMOTE_ADDR": address}
    query = f"?via=qr&counter={counter}" if counter else "?via=qr"
    page = client.get(f"/vi/s/{service}{query}", environ_base=environ)
    assert page.status_code == 200
    fields = dict(HIDDEN.findall(page.text))
    clock.advance(read)
    reply = client.post(f"/vi/s/{service}", data={**fields, "OV": "5"}, environ_base=environ)
    return reply.status_code, fields["rid"]


def flags_of(app, rids: list[str]) -> list[str | None]:
    with app.app_context():
        found = dict(
            db.session.execute(
                select(Response.public_id, Response.flag_reason).where(Response.public_id.in_(rids))
            ).all()
        )
    return [found[rid] for rid in rids]


def give_history(app, *, per_hour: int, hours: int = 60, service=SERVICE) -> None:
    """Phone ratings of `service` over the last 30 days: `per_hour` in each of `hours` hours."""
    with app.app_context():
        svc = db.session.scalar(select(Service).filter_by(code=service))
        unit = db.session.scalar(select(Unit).filter_by(code="CTR"))
        version = db.session.scalar(select(QuestionnaireVersion))
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
        rows = [
            {
                "public_id": str(uuid.uuid4()),
                "questionnaire_id": version.id,
                "service_id": svc.id,
                "unit_id": unit.id,
                "channel": "qr",
                "locale": "vi",
                "captured_at": start - timedelta(hours=h) + timedelta(seconds=30 + n),
                "status": "complete",
            }
            for h in range(hours)
            for n in range(per_hour)
        ]
        db.session.execute(insert(Response), rows)
        db.session.commit()


def test_a_script_that_does_not_wait_gets_nothing_counted(app, clock):
    rids = []
    for _ in range(40):  # a fresh session every time, no pause
        status, rid = rate(app.test_client(), clock, read=0.5)
        assert status == 303  # accepted as far as the script can tell ...
        rids.append(rid)
    assert flags_of(app, rids) == ["fast"] * 40  # ... and none counted


def test_a_paced_script_gets_30_counted_per_service_in_any_10_minutes(app, clock):
    give_history(app, per_hour=40)  # a busy procedure: no surge below 120 an hour
    rids = []
    for _ in range(60):  # a fresh session each time, reading 3.5 s, 6 s apart: 6 minutes
        status, rid = rate(app.test_client(), clock, read=3.5)
        assert status == 303
        rids.append(rid)
        clock.advance(2.5)
    assert flags_of(app, rids) == [None] * 30 + ["address"] * 30
    other = rate(app.test_client(), clock, read=3.5, service="HT-KETHON")[1]
    clock.advance(10 * 60 - 6 * 60)  # ten minutes after the first counted one
    later = rate(app.test_client(), clock, read=3.5)[1]
    assert flags_of(app, [other, later]) == [None, None]
    today = datetime.now(UTC).date()
    with app.app_context():  # the flagged ones stay out of the figures
        period = filters.everything(today - timedelta(days=1), today + timedelta(days=1))
        figures = summary.build_summary(period).figures
    assert figures.overall_question.n == 32


def test_a_script_reusing_its_session_is_refused_in_its_language(app, clock):
    client = app.test_client()
    statuses = [rate(client, clock, read=4)[0] for _ in range(11)]
    assert statuses == [303] * 10 + [429]
    page = client.post(f"/km/s/{SERVICE}", data={"OV": "5"})
    assert page.status_code == 429 and 'lang="km"' in page.text
    assert "មានសំណើច្រើនពេក" in page.text  # "Too many requests" in Khmer


def test_200_citizens_behind_one_address_over_two_hours_are_all_counted(app, clock):
    give_history(app, per_hour=60)
    rids = []
    for n in range(200):  # 36 s apart, each reading 3 to 30 s
        read = 3 + (n * 7) % 28
        status, rid = rate(app.test_client(), clock, read=read, address="198.51.100.20")
        assert status == 303
        rids.append(rid)
        clock.advance(36 - read)
    assert flags_of(app, rids) == [None] * 200


def test_a_surge_is_flagged_however_the_senders_pace_themselves(app, clock):
    give_history(app, per_hour=5)  # usually 5 an hour: the surge line is 25
    clock.next_hour()
    rids = []
    for n in range(30):  # 30 addresses, each reading 10 s, one a minute
        status, rid = rate(app.test_client(), clock, read=10, address=f"192.0.2.{n}")
        rids.append(rid)
        clock.advance(50)
    assert flags_of(app, rids) == [None] * 25 + ["surge"] * 5
    with app.app_context():  # the baseline was read once for this hour, then kept in the store
        hour = int(abuse.now().timestamp()) // 3600
        service_id = db.session.scalar(select(Service.id).filter_by(code=SERVICE))
        cached = tally.current().get(f"p95:service:{service_id}:{hour}", now=hour * 3600)
    assert cached == 5


def test_a_surge_at_one_counter_is_flagged(app, clock):
    give_history(app, per_hour=100)  # the procedure is busy province-wide ...
    clock.next_hour()
    rids = [  # ... but this counter has never had a phone rating: its line is 20
        rate(app.test_client(), clock, read=5, address=f"192.0.2.{n}", counter="XA1-Q01")[1]
        for n in range(22)
    ]
    assert flags_of(app, rids) == [None] * 20 + ["surge"] * 2


def test_the_busiest_hour_is_the_95th_percentile_of_30_days(app):
    give_history(app, per_hour=7, hours=37)  # 37 busy hours of 720: the 95th percentile
    give_history(app, per_hour=1, hours=3, service="HT-KETHON")
    with app.app_context():
        until = datetime.now(UTC)
        ids = dict(db.session.execute(select(Service.code, Service.id)).all())
        assert abuse.busiest_hour(Response.service_id == ids[SERVICE], until=until) == 7
        assert abuse.busiest_hour(Response.service_id == ids["HT-KETHON"], until=until) == 0


def test_suspect_phone_ratings_are_listed_with_a_translated_reason(app, client, clock):
    rate(app.test_client(), clock, read=0)  # too fast
    with app.app_context():
        make_user("admin@ag.vn", "admin")
    sign_in(client, "admin@ag.vn")
    page = client.get("/admin/flags").text
    assert "Gửi nhanh hơn thời gian cần để đọc câu hỏi" in page
    assert ">fast<" not in page


def test_a_visit_code_rating_is_neither_fast_nor_held_by_the_address(app, clock):
    from survey import visits

    with app.app_context():
        svc = db.session.scalar(select(Service).filter_by(code=SERVICE))
        codes = visits.mint(svc, 35, actor="t")
    give_history(app, per_hour=40)
    rids = []
    for code in codes:  # a whole queue of dossiers behind one address, tapping at once
        client = app.test_client()
        assert (
            client.get(f"/v/{code}", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 302
        )
        status, rid = rate(client, clock, read=0.5, address="203.0.113.9")
        assert status == 303
        rids.append(rid)
    assert flags_of(app, rids) == [None] * 35
