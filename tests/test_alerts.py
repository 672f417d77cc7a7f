"""Alerts reach the managers who chose them, by a real SMTP server on loopback: once when a
condition starts, again only after it has cleared and come back; on the dashboard only for
the units one may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from survey import alert_rules, alerts, cases, catalogue, jobs, kiosks, schedule
from survey.alert_models import AlertState
from survey.extensions import db
from survey.mail import server_of
from survey.models import KioskDevice
from tests.builders import make_user, rate, sign_in
from tests.mailbox import Mailbox, parts
from tests.servers import free_port

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # a Monday, 09:00 in Ho Chi Minh City


@pytest.fixture
def mailbox(app):
    box = Mailbox().start()
    app.config.update(SURVEY_SMTP_URL=box.url, SURVEY_MAIL_FROM="khaosat@angiang.gov.vn")
    yield box
    box.stop()


@pytest.fixture
def people(app):
    """A manager of XA1 and one of XA2, each choosing every alert kind; a viewer of XA1."""
    with app.app_context():
        catalogue.import_csv(
            "kind,code,parent,name_vi,name_en,name_km,national_code,field,agency,active\n"
            "unit,XA2,CTR,Xã Hai,Commune Two,ឃុំ 2,,,,\n"
        )
        for email, unit, locale in (("m1@ag.vn", "XA1", "vi"), ("m2@ag.vn", "XA2", "en")):
            user = make_user(email, "manager", (unit,))
            alerts.save_preference(user, kinds=list(alert_rules.KINDS), digest=False, locale=locale)
        make_user("v1@ag.vn", "viewer", ("XA1",))


def _kiosk(heartbeat: datetime) -> KioskDevice:
    device, _token = kiosks.create_kiosk(unit="XA1", counter="XA1-Q01", name="Sảnh A", actor="t")
    device.last_heartbeat = heartbeat
    db.session.commit()
    return device


def test_a_silent_kiosk_alerts_once_then_again_after_it_came_back(app, mailbox, people):
    with app.app_context():
        device = _kiosk(NOW - timedelta(minutes=40))
        assert schedule.check_kiosks(now=NOW) == 1
        assert schedule.check_kiosks(now=NOW + timedelta(minutes=5)) == 0  # still silent
        device.last_heartbeat = NOW + timedelta(minutes=6)
        db.session.commit()
        assert schedule.check_kiosks(now=NOW + timedelta(minutes=7)) == 0  # cleared
        assert schedule.check_kiosks(now=NOW + timedelta(minutes=40)) == 1  # silent again
        state = db.session.scalar(select(AlertState).filter_by(key=f"kiosk:{device.id}"))
        assert (state.active, state.times) == (True, 2)
    assert [m["To"] for m in mailbox.messages] == ["m1@ag.vn", "m1@ag.vn"]  # never XA2's
    text, html = parts(mailbox.messages[0])
    assert "Sảnh A" in text and "Sảnh A" in html and "30 phút" in text
    assert mailbox.messages[0]["From"] == "khaosat@angiang.gov.vn"


def test_a_kiosk_is_not_silent_outside_opening_hours(app, mailbox, people):
    sunday = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    with app.app_context():
        _kiosk(sunday - timedelta(hours=5))
        assert schedule.check_kiosks(now=sunday) == 0
        # Monday 07:20: silent since the evening, but only 20 minutes of opening hours.
        assert schedule.check_kiosks(now=datetime(2026, 12, 7, 0, 20, tzinfo=UTC)) == 0
        assert schedule.check_kiosks(now=datetime(2026, 12, 7, 0, 31, tzinfo=UTC)) == 1


def test_an_index_below_its_90_days_alerts_the_unit_and_the_procedure(app, mailbox, people):
    with app.app_context():
        for days, value in ((30, 5), (1, 1)):
            for _ in range(40):
                rate(
                    counter="XA1-Q01", answers={"OV": value}, captured_at=NOW - timedelta(days=days)
                )
        assert schedule.check_index(now=NOW) == 2
        keys = sorted(s.key for s in alerts.open_alerts(None))
        assert keys == ["index:XA1", "index:XA1:HT-KHAISINH"]
        assert schedule.check_index(now=NOW + timedelta(hours=1)) == 0
    bodies = " ".join(parts(m)[0] for m in mailbox.messages)
    assert "Đăng ký khai sinh" in bodies and "0,0%" in bodies and "100,0%" in bodies


def test_a_steady_index_raises_no_alert(app, mailbox, people):
    with app.app_context():
        for days in (30, 1):
            for value in (5, 4, 2):
                rate(
                    counter="XA1-Q01", answers={"OV": value}, captured_at=NOW - timedelta(days=days)
                )
        assert schedule.check_index(now=NOW) == 0


def test_a_surge_of_suspect_ratings_alerts(app, mailbox, people):
    app.config["SURVEY_ALERT_FLAGGED_PER_HOUR"] = 3
    with app.app_context():
        for _ in range(3):
            rated = rate(
                counter="XA1-Q01", answers={"OV": 5}, captured_at=NOW - timedelta(minutes=5)
            )
            rated.flag_reason = "burst"
        db.session.commit()
        assert schedule.check_flags(now=NOW) == 1
    assert "3 đánh giá" in parts(mailbox.to("m1@ag.vn")[0])[0]


def test_cases_about_to_pass_their_deadline_alert_their_unit_once(app, mailbox, people):
    with app.app_context():
        opened = NOW - timedelta(days=20)  # Tuesday 17/11: 15 working days end on Tuesday 8/12
        for _ in range(2):
            rated = rate(unit="XA2", answers={"OV": 1}, captured_at=NOW - timedelta(hours=1))
            cases.open_case(rated.id, now=opened)
        db.session.commit()
        assert len(cases.due_soon(now=NOW, days=2)) == 2
        assert schedule.check_cases(now=NOW) == 1
        assert schedule.check_cases(now=NOW + timedelta(hours=1)) == 0
    (message,) = mailbox.messages
    assert message["To"] == "m2@ag.vn" and "2 cases" in parts(message)[0]


def test_the_dashboard_shows_open_alerts_within_the_scope(app, mailbox, people):
    with app.app_context():
        _kiosk(NOW - timedelta(hours=1))
        schedule.check_kiosks(now=NOW)
    mine, other = app.test_client(), app.test_client()
    sign_in(mine, "m1@ag.vn"), sign_in(other, "m2@ag.vn")
    assert "Sảnh A" in mine.get("/admin/?unit=XA1").text
    assert "Sảnh A" not in other.get("/admin/").text


def test_a_manager_chooses_the_alerts_on_a_page(app, people):
    client = app.test_client()
    sign_in(client, "m1@ag.vn")
    page = client.get("/admin/account/alerts")
    assert (
        page.status_code == 200
        and 'checked id="kinds-1" name="kinds" type="checkbox" value="kiosk"' in page.text
    )
    saved = client.post(
        "/admin/account/alerts", data={"kinds": ["index"], "digest": "y", "locale": "km"}
    )
    assert saved.status_code == 303
    with app.app_context():
        user_kinds = [(u.email, p.kinds, p.digest, p.locale) for u, p in alerts.recipients("index")]
        assert ("m1@ag.vn", ["index"], True, "km") in user_kinds
        assert "m1@ag.vn" not in [u.email for u, _p in alerts.recipients("kiosk")]
    refused = client.post("/admin/account/alerts", data={"kinds": ["nothing"], "locale": "vi"})
    assert refused.status_code == 400


def test_an_alert_the_mail_server_refused_is_sent_by_the_next_run(app, mailbox, people):
    app.config["SURVEY_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens
    kiosk_job = next(job for job in schedule.JOBS if job.name == "alerts.kiosks")
    with app.app_context():
        _kiosk(NOW - timedelta(minutes=40))
        (failed,) = jobs.run_due([kiosk_job], now=NOW)
        assert failed.error == "ConnectionRefusedError"
        assert alerts.open_alerts(None) == []
        app.config["SURVEY_SMTP_URL"] = mailbox.url
        (sent,) = jobs.run_due([kiosk_job], now=NOW + timedelta(minutes=5))
        assert (sent.error, sent.count) == (None, 1)
    assert [m["To"] for m in mailbox.messages] == ["m1@ag.vn"]


def test_the_smtp_address_says_how_to_connect():
    tls = server_of("smtps://khaosat%40ag.vn:p%3Ass@mail.ag.vn")
    assert (tls.host, tls.port, tls.tls, tls.starttls) == ("mail.ag.vn", 465, True, False)
    assert (tls.user, tls.password) == ("khaosat@ag.vn", "p:ss")
    start = server_of("smtp://u:p@mail.ag.vn:587?starttls=1")
    assert (start.port, start.tls, start.starttls) == (587, False, True)
    assert server_of("smtp://10.0.0.5").port == 25 and server_of("smtp://10.0.0.5").user is None
    with pytest.raises(ValueError, match="SURVEY_SMTP_URL"):
        server_of("http://mail.ag.vn")
