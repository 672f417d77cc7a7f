"""The call-back offer on the citizen pages: only after a low rating or a comment, only with the
consent box ticked, the number kept encrypted, a case opened, a withdrawal code shown once."""

from __future__ import annotations

from sqlalchemy import func, select

from survey import contacts
from survey.extensions import db
from survey.followup_models import Contact, FollowupCase
from survey.models import Response, utcnow
from tests.test_journey import start

PHONE = "0912 345 678"


def _finish_low(client, lang="vi", value="1"):
    rid, _ = start(client, lang=lang, value=value)
    done = client.post(f"/{lang}/r/{rid}/finish")
    return rid, client.get(done.headers["Location"])


def test_a_low_rating_is_offered_a_call_back_with_an_unticked_box(app, client):
    rid, thanks = _finish_low(client)
    assert thanks.status_code == 303 and thanks.headers["Location"] == f"/vi/r/{rid}/call-back"
    page = client.get(thanks.headers["Location"])
    assert page.status_code == 200
    assert 'type="checkbox" id="consent-1" name="consent" value="y">' in page.text  # unticked
    assert "Zalo" in page.text and "1900 1234" in page.text
    # Declining leads to the thank-you page, which does not ask again.
    assert client.get(f"/vi/r/{rid}/thank-you").status_code == 200


def test_no_number_is_kept_without_the_box_ticked(app, client):
    rid, _ = _finish_low(client)
    refused = client.post(f"/vi/r/{rid}/call-back", data={"phone": PHONE})
    assert refused.status_code == 400
    assert "Đánh dấu vào ô đồng ý" in refused.text
    bad = client.post(f"/vi/r/{rid}/call-back", data={"phone": "12", "consent": "y"})
    assert bad.status_code == 400 and "0912 345 678" in bad.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
        assert db.session.scalar(select(func.count()).select_from(FollowupCase)) == 0


def test_a_consented_number_is_kept_encrypted_opens_a_case_and_gives_a_code(app, client):
    rid, _ = _finish_low(client, lang="en", value="2")
    kept = client.post(f"/en/r/{rid}/call-back", data={"phone": PHONE, "consent": "y"})
    assert kept.status_code == 303 and kept.headers["Location"] == f"/en/r/{rid}/thank-you"
    thanks = client.get(kept.headers["Location"])
    code = thanks.text.split('<p class="code" lang="en">')[1].split("<")[0]
    assert len(code) == 9 and code[4] == "-"
    assert code not in client.get(f"/en/r/{rid}/thank-you").text  # shown once
    with app.app_context():
        response_id = db.session.scalar(select(Response.id))
        contact = db.session.scalar(select(Contact))
        assert "0912345678" not in contact.phone_token and code not in contact.phone_token
        case = db.session.scalar(select(FollowupCase))
        assert (case.response_id, case.state, case.opened_by) == (response_id, "new", None)
        assert contacts.masked_phone(response_id) == "09•• ••• 678"
        assert contacts.responses_for_phone("+84 912 345 678") == [response_id]
        assert contacts.withdraw(code.lower(), now=utcnow()) == response_id
        assert contacts.masked_phone(response_id) is None
        assert contacts.responses_for_phone(PHONE) == []
        assert contacts.purge_contacts(now=utcnow()) == 1
        assert db.session.get(Response, response_id) is not None


def test_a_good_rating_without_comment_is_not_offered(app, client):
    rid, thanks = _finish_low(client, value="5")
    assert thanks.status_code == 200
    assert client.get(f"/vi/r/{rid}/call-back").status_code == 303


def test_a_comment_is_offered_a_call_back_even_with_a_good_rating(app, client):
    rid, _ = start(client, value="5")
    done = client.post(f"/vi/r/{rid}/comment", data={"comment": "Cần thêm ghế chờ"})
    follow = client.get(done.headers["Location"])
    if follow.status_code == 200:  # the profile page first
        follow = client.get(f"/vi/r/{rid}/thank-you")
    assert follow.headers["Location"] == f"/vi/r/{rid}/call-back"
