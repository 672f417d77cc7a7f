"""The daily digest: yesterday's counts and links for each manager who chose it, in their
language, once a day; no e-mail ever carries a comment's text or a phone number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from survey import alert_rules, alerts, cases, contacts, digest, schedule
from survey.extensions import db
from tests.builders import make_user, rate
from tests.mailbox import Mailbox, parts

MORNING = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 08:00 in Ho Chi Minh City
YESTERDAY = MORNING - timedelta(days=1)
COMMENT = "Chị Trần Thị Bé ở ấp 3 chờ lâu quá, gọi lại 0912 345 678"
PHONE = "0912345678"


@pytest.fixture
def mailbox(app):
    box = Mailbox().start()
    app.config["SURVEY_SMTP_URL"] = box.url
    yield box
    box.stop()


def _ratings(count: int, *, unit_counter: str = "XA1-Q01") -> None:
    for n in range(count):
        rated = rate(
            counter=unit_counter,
            answers={"OV": 1 if n < 2 else 5},
            captured_at=YESTERDAY,
            comment=COMMENT,
        )
        contacts.store(rated.id, PHONE, now=YESTERDAY)
        cases.open_case(rated.id, now=YESTERDAY)  # as the write path does with a number
    db.session.commit()


def test_the_digest_counts_yesterday_in_the_managers_units_and_language(app, mailbox):
    with app.app_context():
        user = make_user("m1@ag.vn", "manager", ("XA1",))
        alerts.save_preference(user, kinds=[], digest=True, locale="en")
        _ratings(6)
        rate(answers={"OV": 1}, captured_at=YESTERDAY)  # at CTR: outside the manager's units
        assert digest.send_digests(now=MORNING - timedelta(hours=2)) == 0  # before 07:00
        assert schedule.digest.send_digests(now=MORNING) == 1
        assert digest.send_digests(now=MORNING + timedelta(hours=3)) == 0  # once a day
        assert digest.send_digests(now=MORNING + timedelta(days=1)) == 1
    text, html = parts(mailbox.messages[0])
    assert mailbox.messages[0]["Subject"] == "Daily summary of 06/12/2026"
    assert "- New ratings: 6 (http://127.0.0.1:8000/admin/)" in text
    assert "- Low ratings (1–2 on the general question): 2" in text
    assert "Unusual ratings: 0" in text and "Alerts open: 0" in text
    assert "- Follow-up cases opened: 6 (http://127.0.0.1:8000/admin/cases)" in text
    assert "- Follow-up cases past their deadline: 0" in text
    assert '<html lang="en">' in html and "http://127.0.0.1:8000/admin/flags" in html


def test_a_day_of_fewer_than_5_ratings_shows_no_counts_of_ratings(app, mailbox):
    with app.app_context():
        user = make_user("m1@ag.vn", "manager", ("XA1",))
        alerts.save_preference(user, kinds=[], digest=True, locale="vi")
        _ratings(2)
        digest.send_digests(now=MORNING)
    text, _html = parts(mailbox.messages[0])
    assert "Ít hơn 5 đánh giá" in text and "Đánh giá mới" not in text


def test_no_mail_holds_a_comment_or_a_phone_number(app, mailbox):
    """Every alert kind and the digest, to an admin and a manager, in every language."""
    app.config["SURVEY_ALERT_FLAGGED_PER_HOUR"] = 1
    with app.app_context():
        for email, role, locale in (("a@ag.vn", "admin", "km"), ("m@ag.vn", "manager", "vi")):
            user = make_user(email, role, () if role == "admin" else ("XA1",))
            alerts.save_preference(user, kinds=list(alert_rules.KINDS), digest=True, locale=locale)
        _ratings(8)
        flagged = rate(counter="XA1-Q01", answers={"OV": 1}, captured_at=MORNING, comment=COMMENT)
        flagged.flag_reason = "burst"
        db.session.commit()
        sent = schedule.check_flags(now=MORNING) + digest.send_digests(now=MORNING)
    assert sent == len(mailbox.messages) == 4
    for message in mailbox.messages:
        raw = message.as_string()
        for body in (raw, *parts(message)):
            assert "Trần Thị Bé" not in body and "chờ lâu" not in body
            assert PHONE not in body.replace(" ", "") and "0912" not in body
