"""The citizen journey through the HTML pages, with the test client."""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, select

from survey import questionnaire, steps
from survey.extensions import db
from survey.models import Answer, Response
from tests.builders import criteria_answers, overall_form


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def start(client, lang="vi", code="HT-KHAISINH", query="", value="5"):
    """Answer the overall question; return (rid, redirect response)."""
    fields = overall_form(client, f"/{lang}/s/{code}{query}")
    reply = client.post(f"/{lang}/s/{code}", data={**fields, "OV": value})
    return fields["rid"], reply


def test_bare_url_goes_to_the_visitors_language(client):
    assert client.get("/").headers["Location"] == "/vi/"
    assert client.get("/", headers={"Accept-Language": "km,en;q=0.5"}).headers["Location"] == "/km/"
    client.get("/en/")  # the choice is remembered
    assert client.get("/", headers={"Accept-Language": "km"}).headers["Location"] == "/en/"


def test_qr_target_keeps_the_counter_and_marks_the_channel(app, client):
    reply = client.get("/s/HT-KHAISINH?counter=XA1-Q01")
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/vi/s/HT-KHAISINH?")
    rid, _ = start(client, query="?counter=XA1-Q01&via=qr")
    with app.app_context():
        response = db.session.scalar(select(Response).filter_by(public_id=rid))
        assert (response.channel, response.counter.code, response.unit.code) == (
            "qr",
            "XA1-Q01",
            "XA1",
        )


def test_service_search_works_without_diacritics(client):
    page = client.get("/vi/?q=ket+hon")
    assert "Đăng ký kết hôn" in page.text
    assert "Đăng ký khai sinh" not in page.text
    assert "Thủ tục đã bãi bỏ" not in client.get("/vi/").text  # inactive services are not offered


def test_full_journey_stores_one_complete_response(app, client):
    rid, reply = start(client)
    assert reply.status_code == 303 and reply.headers["Location"] == f"/vi/r/{rid}/more"
    assert "Đánh giá chi tiết" in client.get(reply.headers["Location"]).text
    with app.app_context():
        q = questionnaire.active()
        assert db.session.scalar(select(Response.status)) == "partial"  # stored at the first tap
    for step, data in criteria_answers(q).items():
        assert client.get(f"/vi/r/{rid}/{step}").status_code == 200
        reply = client.post(f"/vi/r/{rid}/{step}", data=data)
        assert reply.status_code == 303, reply.text
    expectations = {code: "3" for code in q.expectation_codes}
    assert client.post(f"/vi/r/{rid}/expectations", data=expectations).status_code == 303
    comment = unicodedata.normalize("NFD", "Cán bộ tận tình")
    reply = client.post(f"/vi/r/{rid}/comment", data={"comment": comment})
    assert reply.headers["Location"] == f"/vi/r/{rid}/about-you"  # the optional profile
    reply = client.post(reply.headers["Location"], data={"action": "skip"})
    assert reply.headers["Location"] == f"/vi/r/{rid}/thank-you"
    # A comment was written: the call-back offer comes first, once; "No, thank you" goes on.
    offer = client.get(reply.headers["Location"])
    assert offer.headers["Location"] == f"/vi/r/{rid}/call-back"
    assert "Zalo" in client.get(offer.headers["Location"]).text
    assert "Cảm ơn" in client.get(reply.headers["Location"]).text
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert (count(Response), response.status) == (1, "complete")
        assert response.comment == unicodedata.normalize("NFC", "Cán bộ tận tình")
        assert count(Answer) == 1 + 16 + 10
        assert db.session.scalar(select(Answer.value).filter_by(item="OV")) == 5


def test_done_after_the_first_question_completes_the_response(app, client):
    rid, _ = start(client, value="2")
    assert client.post(f"/vi/r/{rid}/finish").headers["Location"] == f"/vi/r/{rid}/thank-you"
    with app.app_context():
        assert db.session.scalar(select(Response.status)) == "complete"


def test_not_applicable_is_stored_as_null(app, client):
    rid, _ = start(client)
    client.post(f"/vi/r/{rid}/pa", data={"PA1": "na", "PA2": "2"})
    with app.app_context():
        values = dict(db.session.execute(select(Answer.item, Answer.value)).all())
    assert values["PA1"] is None and values["PA2"] == 2 and values["PA3"] is None


def test_sending_a_page_twice_keeps_one_response_and_one_answer_set(app, client):
    fields = overall_form(client, "/vi/s/HT-KHAISINH")
    for _ in range(2):
        assert client.post("/vi/s/HT-KHAISINH", data={**fields, "OV": "4"}).status_code == 303
    rid = fields["rid"]
    for _ in range(2):
        client.post(f"/vi/r/{rid}/tc", data={"TC1": "5", "TC2": "4", "TC3": "3"})
    with app.app_context():
        assert count(Response) == 1
        assert count(Answer) == 4


def test_final_page_again_after_back_says_already_sent(app, client):
    rid, _ = start(client)
    client.post(f"/vi/r/{rid}/comment", data={"comment": "Tốt"})
    again = client.post(f"/vi/r/{rid}/comment", data={"comment": "Sửa lại"})
    assert again.headers["Location"] == f"/vi/r/{rid}/thank-you?again=1"
    assert "đã được gửi" in client.get(again.headers["Location"]).text
    back = client.get(f"/vi/r/{rid}/tc")  # the back button to a step after sending
    assert back.status_code == 303
    # Answering the first question again after sending changes nothing either.
    assert client.post("/vi/s/HT-KHAISINH", data={"rid": rid, "OV": "1"}).status_code == 303
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert (count(Response), response.comment) == (1, "Tốt")
        assert db.session.scalar(select(Answer.value).filter_by(item="OV")) == 5


def test_language_switch_keeps_the_page_and_the_answers(client):
    rid, _ = start(client)
    client.post(f"/vi/r/{rid}/tc", data={"TC1": "5"})
    page = client.get(f"/vi/r/{rid}/tc")
    assert f'href="/en/r/{rid}/tc"' in page.text and 'hreflang="km"' in page.text
    english = client.get(f"/en/r/{rid}/tc")
    assert '<html lang="en">' in english.text
    assert 'value="5" checked' in english.text


def test_every_page_sends_no_store(client):
    rid, _ = start(client)
    assert client.get(f"/vi/r/{rid}/tc").headers["Cache-Control"] == "no-store"


def test_each_page_knows_its_place_in_the_survey(app, client):
    """What a page shows is worked out before the template: position, back link, scale."""
    rid, _ = start(client)
    with app.app_context():
        response = db.session.scalar(select(Response).filter_by(public_id=rid))
        order = steps.order(questionnaire.by_id(response.questionnaire_id))
        first = steps.step_page(response, order[0], locale="en")
        expectations = steps.step_page(response, "expectations", locale="en")
        comment = steps.step_page(response, "comment", locale="en")
    assert (first.position, first.total, first.back_step) == (2, len(order) + 1, None)
    assert first.not_applicable and first.colours and first.questions
    assert (expectations.back_step, expectations.not_applicable, expectations.colours) == (
        order[-3],
        None,
        False,
    )
    assert [o.value for o in expectations.scale] == [4, 3, 2, 1]  # best answer first
    assert (comment.position, comment.back_step, comment.questions) == (
        len(order) + 1,
        "expectations",
        (),
    )
