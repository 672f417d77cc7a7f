"""Webhooks to the province's systems, against a real HTTP receiver on loopback: a rating
arrives signed and without contact data; a failing receiver is retried with backoff, paused
after a day, then re-sent by hand from the admin page; private addresses are refused."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from survey import accounts, alerts, contacts, responses, schedule, webhooks
from survey.extensions import db
from survey.followup_models import FollowupCase
from survey.models import AuditEvent, utcnow
from survey.webhook_events import SETTLE, ContactDataRefused, enqueue_event
from survey.webhook_models import FAILED, PENDING, SENT, WebhookDelivery, WebhookEndpoint
from survey.webhook_net import AddressRefused, check
from tests import webhook_receiver
from tests.builders import bearer, kiosk_token, make_user, rate, response_body, sign_in
from tests.mailbox import Mailbox, parts

PHONE = "0912345678"


@pytest.fixture
def receiver(app):
    """A real receiver on loopback, which the app may reach (SURVEY_WEBHOOK_ALLOW_PRIVATE)."""
    found, server = webhook_receiver.start()
    app.config["SURVEY_WEBHOOK_ALLOW_PRIVATE"] = "127.0.0.1"
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
    assert sign_in(client, "admin@ag.vn").status_code == 303
    client.get("/admin/language/en")  # the page's words as the assertions spell them
    return client


def _register(admin, url: str, *events: str) -> tuple[int, str]:
    """Register through the page; the reply's status and the secret it shows once."""
    reply = admin.post("/admin/webhooks", data={"url": url, "events": list(events)})
    found = re.search(r'<p class="secret">([0-9a-f]{64})</p>', reply.text)
    return reply.status_code, found.group(1) if found else ""


def _rating_with_consented_phone():
    response = rate(counter="XA1-Q01", answers={"OV": 2, "TC1": 1}, comment="Chờ quá lâu")
    contacts.store(response.id, PHONE, now=utcnow())
    db.session.commit()
    return response


def test_a_rating_arrives_signed_and_without_contact_data(app, admin, receiver):
    status, secret = _register(admin, receiver.url, "rating.recorded")
    assert status == 200 and secret
    assert secret not in admin.get("/admin/webhooks").text  # shown once only
    now = utcnow()
    with app.app_context():
        response = _rating_with_consented_phone()
        public_id = response.public_id
        assert webhooks.enqueue_new(now=now) == 1
        assert webhooks.enqueue_new(now=now) == 0  # queued once
        assert webhooks.deliver_due(now=now) == 1
        assert webhooks.deliver_due(now=now) == 0
    [got] = receiver.received
    assert got.path == "/hooks/survey" and got.verified(secret)
    assert not got.verified(secret[:-1] + "0" if secret[-1] != "0" else secret[:-1] + "1")
    assert got.timestamp == int(now.timestamp())
    assert got.headers["X-Survey-Event"] == "rating.recorded"
    data = got.json["data"]
    assert data["id"] == public_id and data["unit"] == "XA1" and data["counter"] == "XA1-Q01"
    assert data["answers"] == {"OV": 2, "TC1": 1} and data["channel"] == "web"
    assert data["has_comment"] is True
    assert PHONE not in got.body.decode() and "phone" not in got.body.decode()
    assert "Chờ quá lâu" not in got.body.decode()  # the comment's text stays here
    page = admin.get("/admin/webhooks").text
    assert "1 sent, 0 waiting, 0 failed" in page and "rating.recorded" in page


def test_a_failing_receiver_is_retried_paused_resent_by_hand_and_resumed(app, admin, receiver):
    status, secret = _register(admin, receiver.url, "rating.recorded")
    receiver.status = 500
    start = utcnow()
    with app.app_context():
        rate(answers={"OV": 4})
        rate(answers={"OV": 5})
        assert webhooks.enqueue_new(now=start) == 2
        assert webhooks.deliver_due(now=start) == 0
        assert len(receiver.received) == 1  # after a failure, the other one waits for a run
        assert webhooks.deliver_due(now=start + timedelta(seconds=30)) == 0
        assert len(receiver.received) == 2
        assert webhooks.deliver_due(now=start + timedelta(seconds=50)) == 0  # none due yet
        assert len(receiver.received) == 2
        now = start
        while not webhooks.paused_since(now=now):
            now = db.session.scalar(
                select(WebhookDelivery.next_attempt_at).order_by(WebhookDelivery.id).limit(1)
            )
            webhooks.deliver_due(now=now)
        [paused] = webhooks.paused_since(now=now)
        assert paused.url == receiver.url and paused.paused_at - start >= timedelta(days=1)
        assert paused.paused_at - start < timedelta(days=1, hours=1)
        assert webhooks.paused_since(now=start) == []
        audited = db.session.scalars(select(AuditEvent).filter_by(action="webhook.paused")).all()
        assert [e.target for e in audited] == [receiver.url]
        assert {d.status for d in db.session.scalars(select(WebhookDelivery))} == {FAILED}
    # Exponential backoff, read off the signed timestamps of one delivery's attempts.
    first = receiver.received[0].json["id"]
    times = [r.timestamp for r in receiver.received if r.json["id"] == first]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:7] == [60, 120, 240, 480, 960, 1920, 3600] and set(gaps[7:]) == {3600}
    tried = len(receiver.received)
    with app.app_context():  # paused: nothing is sent, however late
        assert webhooks.deliver_due(now=now + timedelta(days=3)) == 0
    assert len(receiver.received) == tried
    page = admin.get("/admin/webhooks").text
    assert "Paused since" in page and "0 sent, 0 waiting, 2 failed" in page
    assert "HTTP 500" in page

    receiver.status = 200  # the receiving system is mended; re-send one by hand
    with app.app_context():
        delivery_id = db.session.scalar(select(WebhookDelivery.id).order_by(WebhookDelivery.id))
    reply = admin.post(f"/admin/webhooks/deliveries/{delivery_id}/resend", follow_redirects=True)
    assert "The delivery has been received by the endpoint." in html.unescape(reply.text)
    assert "still paused" in reply.text
    assert receiver.received[-1].verified(secret) and len(receiver.received) == tried + 1
    with app.app_context():
        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
        assert db.session.get(WebhookDelivery, delivery_id).status == SENT
    reply = admin.post(f"/admin/webhooks/{endpoint_id}/resume", follow_redirects=True)
    assert "Deliveries to be sent again: 1." in reply.text
    with app.app_context():
        assert webhooks.deliver_due(now=utcnow()) == 1
        assert {d.status for d in db.session.scalars(select(WebhookDelivery))} == {SENT}
        assert webhooks.paused_since(now=utcnow()) == []
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"webhook.registered", "webhook.resent", "webhook.resumed"} <= actions


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::5]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[64:ff9b::a00:1]/hook",
        "https://0.0.0.0/hook",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(app, url):
    with app.app_context():
        with pytest.raises(AddressRefused) as refused:
            check(url, allowed=webhooks.allowed())
    assert refused.value.reason == "private"


def test_refused_on_the_page_without_the_allow_list_and_plain_http_never(app, admin):
    for url in ("https://127.0.0.1:8443/hook", "https://[::1]/hook"):
        status, secret = _register(admin, url, "summary.daily")
        assert (status, secret) == (400, "")
    reply = admin.post("/admin/webhooks", data={"url": "https://[::1]/", "events": ["case.opened"]})
    assert "is a private, loopback or link-local address" in reply.text
    app.config["SURVEY_WEBHOOK_ALLOW_PRIVATE"] = "10.0.0.0/8"  # an address, not the host name
    reply = admin.post(
        "/admin/webhooks", data={"url": "http://10.1.2.3/", "events": ["case.opened"]}
    )
    assert reply.status_code == 400 and "https://" in reply.text
    reply = admin.post(
        "/admin/webhooks", data={"url": "https://u:p@10.1.2.3/", "events": ["case.opened"]}
    )
    assert reply.status_code == 400
    assert _register(admin, "https://10.1.2.3/hook", "case.opened")[0] == 200
    with app.app_context():
        assert db.session.scalar(select(WebhookEndpoint.url)) == "https://10.1.2.3/hook"


def test_the_address_is_checked_again_at_delivery_and_redirects_not_followed(app, admin, receiver):
    _register(admin, receiver.url, "rating.recorded")
    now = utcnow()
    with app.app_context():
        rate(answers={"OV": 3})
        webhooks.enqueue_new(now=now)
        app.config["SURVEY_WEBHOOK_ALLOW_PRIVATE"] = ""  # as if its name now pointed inside
        assert webhooks.deliver_due(now=now) == 0
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.status == PENDING and "address refused (scheme)" in delivery.last_error
        assert receiver.received == []
        app.config["SURVEY_WEBHOOK_ALLOW_PRIVATE"] = "127.0.0.1"
        receiver.status = 302
        assert webhooks.deliver_due(now=now + timedelta(minutes=1)) == 0
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.last_status_code == 302 and delivery.status == PENDING
    assert [r.path for r in receiver.received] == ["/hooks/survey"]  # never /elsewhere


def test_a_rating_left_at_the_first_question_is_sent_once_settled(app, admin, receiver):
    _register(admin, receiver.url, "rating.recorded")
    from survey import catalogue, questionnaire

    with app.app_context():
        started = responses.start_response(
            public_id="00000000-0000-4000-8000-000000000001",
            questionnaire=questionnaire.active(),
            service=catalogue.find_service("HT-KHAISINH"),
            unit=catalogue.find_counter("XA1-Q01").unit,
            counter=catalogue.find_counter("XA1-Q01"),
            channel="kiosk",
            locale="vi",
            captured_at=None,
            answers={"OV": 5},
        )
        received = started.response.received_at
        assert webhooks.enqueue_new(now=received + timedelta(minutes=1)) == 0
        assert webhooks.enqueue_new(now=received + SETTLE) == 1
        webhooks.deliver_due(now=received + SETTLE)
    assert receiver.received[0].json["data"]["status"] == "partial"


def test_case_events_never_carry_contact_data(app, admin, receiver):
    _register(admin, receiver.url, "case.opened", "case.closed")
    now = utcnow()
    with app.app_context():
        for payload in ({"case": "C-1", "phone": PHONE}, {"case": "C-1", "note": "0912 345 678"},
                        {"case": "C-1", "contact": {"consent": True}}):  # fmt: skip
            with pytest.raises(ContactDataRefused):
                enqueue_event("case.opened", payload, now=now)
        assert enqueue_event("rating.recorded", {"case": "C-1"}, now=now) == 0  # not subscribed
        payload = {"case": "C-1", "unit": "XA1", "opened_on": "2026-12-06"}
        assert enqueue_event("case.opened", payload, now=now, key="C-1") == 1
        db.session.commit()
        assert webhooks.deliver_due(now=now) == 1
    assert receiver.received[0].json["data"] == payload


def test_the_daily_summary_gives_counts_and_index_per_unit(app, admin, receiver, runner):
    _register(admin, receiver.url, "summary.daily")
    now = utcnow()
    with app.app_context():
        for _ in range(5):
            rate(counter="XA1-Q01", answers={"OV": 5, "TC1": 4}, captured_at=now - timedelta(1))
        rate(answers={"OV": 1}, captured_at=now - timedelta(1))  # CTR: one rating, hidden
    done = runner.invoke(args=["webhooks", "deliver"])
    assert done.exit_code == 0, done.output
    assert "1 deliveries queued, 1 received by their endpoints." in done.output
    with app.app_context():
        assert webhooks.enqueue_new(now=utcnow()) == 0  # once a day
    data = receiver.received[0].json["data"]
    units = {u["unit"]: u for u in data["units"]}
    assert units["XA1"]["responses"] == 5 and units["XA1"]["overall_question"] == 100.0
    assert units["CTR"]["hidden"] is True and units["CTR"]["responses"] is None


def test_an_https_receiver_with_an_untrusted_certificate_gets_nothing(app, admin, tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("no openssl command to make a certificate")
    pem = tmp_path / "receiver.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-keyout", str(pem), "-out", str(pem)],
        check=True, capture_output=True,
    )  # fmt: skip
    found, server = webhook_receiver.start(cert=str(pem))
    app.config["SURVEY_WEBHOOK_ALLOW_PRIVATE"] = "127.0.0.1"
    try:
        assert _register(admin, found.url, "rating.recorded")[0] == 200
        now = utcnow()
        with app.app_context():
            rate(answers={"OV": 4})
            webhooks.enqueue_new(now=now)
            assert webhooks.deliver_due(now=now) == 0
            error = db.session.scalar(select(WebhookDelivery.last_error))
        assert "CERTIFICATE_VERIFY_FAILED" in error and found.received == []
    finally:
        server.shutdown()
        server.server_close()


def test_a_paused_endpoint_is_e_mailed_to_the_administrators_who_chose_it(app, admin, receiver):
    box = Mailbox().start()
    app.config.update(SURVEY_SMTP_URL=box.url, SURVEY_MAIL_FROM="khaosat@angiang.gov.vn")
    try:
        _register(admin, receiver.url, "rating.recorded")
        receiver.status = 500
        start = utcnow()
        with app.app_context():
            alerts.save_preference(
                accounts.find_user("admin@ag.vn"), kinds=["webhooks"], digest=False, locale="vi"
            )
            manager = make_user("m1@ag.vn", "manager", ("XA1",))
            alerts.save_preference(manager, kinds=["webhooks"], digest=False, locale="vi")
            rate(answers={"OV": 4})
            webhooks.enqueue_new(now=start)
            assert schedule.check_webhooks(now=start) == 0  # failing, not yet paused
            now = start
            while not webhooks.paused_since(now=now):
                now += timedelta(hours=1)
                webhooks.deliver_due(now=now)
            assert schedule.check_webhooks(now=now) == 1
            assert schedule.check_webhooks(now=now + timedelta(minutes=15)) == 0  # once
    finally:
        box.stop()
    [message] = box.messages  # the administrator only: an endpoint belongs to no unit
    assert message["To"] == "admin@ag.vn"
    text, _html = parts(message)
    assert receiver.url in text and "tạm dừng" in text


def test_a_case_opened_by_a_rating_and_closed_on_its_page_reaches_the_endpoint(
    app, admin, receiver
):
    _register(admin, receiver.url, "case.opened", "case.closed")
    with app.app_context():
        token = kiosk_token()
    body = response_body(ov=1, contact={"phone": PHONE, "consent": True})
    assert admin.post("/api/v1/responses", json=body, headers=bearer(token)).status_code == 201
    with app.app_context():
        case_id = db.session.scalar(select(FollowupCase.id))
        assert webhooks.deliver_due(now=utcnow()) == 1
    admin.post(f"/admin/cases/{case_id}/state", data={"state": "in_progress"})
    admin.post(f"/admin/cases/{case_id}/state", data={"state": "contacted"})
    done = {"state": "closed", "outcome": "Xong"}
    assert admin.post(f"/admin/cases/{case_id}/state", data=done).status_code == 303
    with app.app_context():
        assert webhooks.deliver_due(now=utcnow()) == 1
    opened, done = (r.json for r in receiver.received)
    assert (opened["event"], done["event"]) == ("case.opened", "case.closed")
    assert opened["data"]["case"] == done["data"]["case"] == f"C-{case_id}"
    assert opened["data"]["rating"] == body["id"] and done["data"]["state"] == "closed"
    sent = b"".join(r.body for r in receiver.received).decode()
    assert PHONE not in sent and "Xong" not in sent  # neither the number nor the outcome
