"""The question page a phone opens from a QR code: what it reads, and where its rating goes."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, update

from survey import catalogue
from survey.extensions import db
from survey.models import QuestionnaireVersion, Response
from tests.builders import overall_form
from tests.conftest import build_app
from tests.test_write_statements import statements  # noqa: F401  (the fixture)

HEADER = ",".join(catalogue.HEADER) + "\n"


def rate_from(client, link: str) -> Response:
    """Open the question page at `link`, answer it; the stored response."""
    fields = overall_form(client, link)
    reply = client.post(link.split("?")[0], data={**fields, "OV": "4"})
    assert reply.status_code == 303, reply.text
    return db.session.scalar(select(Response).filter_by(public_id=fields["rid"]))


def test_the_page_is_one_statement(app, client, statements):  # noqa: F811
    client.get("/vi/s/HT-KHAISINH")  # a running worker has read the questionnaire already
    for link in ("/vi/s/HT-KHAISINH", "/vi/s/HT-KHAISINH?counter=XA1-Q01&via=qr"):
        statements.clear()
        assert client.get(link).status_code == 200
        # The service with the place of its link (counter and unit, or the default unit), and
        # which questionnaire version is active (its definition is not read again).
        assert len(statements) == 1, statements
        assert "questionnaire_version" in statements[0] and "definition" not in statements[0]


def test_a_page_before_any_questionnaire_is_set_up_says_so(app, client):
    with app.app_context():
        db.session.execute(update(QuestionnaireVersion).values(active=False))
        db.session.commit()
    assert client.get("/vi/s/HT-KHAISINH").status_code == 503
    assert client.get("/vi/s/NO-SUCH").status_code == 404


@pytest.mark.parametrize(
    ("link", "unit", "counter"),
    [
        ("/vi/s/HT-KHAISINH", "CTR", None),  # no place named: the first centre
        ("/vi/s/HT-KHAISINH?unit=XA1", "XA1", None),
        ("/vi/s/HT-KHAISINH?counter=XA1-Q01&via=qr", "XA1", "XA1-Q01"),
        ("/vi/s/HT-KHAISINH?counter=CTR-Q01&unit=XA1", "CTR", "CTR-Q01"),  # the counter's unit
    ],
)
def test_a_rating_belongs_to_the_place_its_link_names(app, client, link, unit, counter):
    with app.app_context():
        response = rate_from(client, link)
        assert response.unit.code == unit
        assert (response.counter.code if response.counter else None) == counter


def test_the_configured_default_unit_takes_a_rating_without_a_place(app, client):
    app.config["SURVEY_DEFAULT_UNIT"] = "XA1"
    with app.app_context():
        assert rate_from(client, "/en/s/HT-KETHON").unit.code == "XA1"
        assert rate_from(client, "/en/s/HT-KETHON?unit=CTR").unit.code == "CTR"


@pytest.mark.parametrize(
    ("code", "place"),
    [
        ("HT-KHAISINH", {"counter": "NO-SUCH"}),
        ("HT-KHAISINH", {"unit": "NO-SUCH"}),
        ("HT-KHAISINH", {"counter": "NO-SUCH", "unit": "XA1"}),
        ("CT-CU", {}),  # withdrawn
        ("CT-CU", {"counter": "XA1-Q01"}),
        ("NO-SUCH", {"unit": "XA1"}),
    ],
)
def test_an_unknown_place_or_procedure_is_not_found(app, client, code, place):
    assert client.get(f"/vi/s/{code}?{urlencode(place)}").status_code == 404
    answer = {**place, "rid": str(uuid.uuid4()), "OV": "5"}
    assert client.post(f"/vi/s/{code}", data=answer).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_a_phone_past_its_limit_can_still_read_the_question(app):
    """Only answers count against a phone's limits: reading the question never does."""
    app.config["SURVEY_PHONE_SESSION_LIMIT"] = "2 per hour"
    client, link = app.test_client(), "/vi/s/HT-KHAISINH"
    statuses = []
    for _ in range(3):
        fields = overall_form(client, link)  # the page itself answers 200 every time
        statuses.append(client.post(link, data={**fields, "OV": "5"}).status_code)
    assert statuses == [303, 303, 429]
    assert [client.get(link).status_code for _ in range(5)] == [200] * 5


# The page a phone GETs is rendered once per link and content, then filled in per request.


def hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def test_every_citizen_gets_their_own_response_id_fill_note_and_token(app):
    app.config["WTF_CSRF_ENABLED"] = True
    link = "/vi/s/HT-KHAISINH?counter=XA1-Q01&via=qr"
    browsers = [app.test_client() for _ in range(3)]
    pages = [browser.get(link).text for browser in browsers]
    forms = [hidden_fields(page) for page in pages]
    for name in ("rid", "fill", "csrf_token"):
        assert len({form[name] for form in forms}) == 3, name
    assert all(f'data-rid="{form["rid"]}"' in page for form, page in zip(forms, pages, strict=True))
    assert all(form["counter"] == "XA1-Q01" and form["via"] == "qr" for form in forms)
    assert "stand-in" not in "".join(pages)
    # Another browser's token is refused; each browser's own page can be answered.
    stolen = {**forms[1], "csrf_token": forms[0]["csrf_token"], "OV": "5"}
    assert browsers[1].post("/vi/s/HT-KHAISINH", data=stolen).status_code == 400
    for browser, form in zip(browsers, forms, strict=True):
        reply = browser.post("/vi/s/HT-KHAISINH", data={**form, "OV": "5"})
        assert reply.status_code == 303 and form["rid"] in reply.headers["Location"]
    with app.app_context():
        stored = db.session.scalars(select(Response.public_id)).all()
        assert sorted(stored) == sorted(form["rid"] for form in forms)


def test_each_link_shows_its_own_place_and_language(client):
    captions = {
        "/vi/s/HT-KHAISINH?counter=XA1-Q01": "Đăng ký khai sinh · Quầy 01<",
        "/vi/s/HT-KHAISINH?counter=CTR-Q01": "Đăng ký khai sinh · Quầy 01 – Tư pháp<",
        "/en/s/HT-KHAISINH?counter=CTR-Q01": "Birth registration · Counter 01 – Justice<",
        "/vi/s/HT-KETHON?counter=CTR-Q01": "Đăng ký kết hôn · Quầy 01 – Tư pháp<",
    }
    for _ in range(2):  # the first time rendered, the second time kept
        for link, caption in captions.items():
            page = client.get(link).text
            assert caption in page, link
            lang, rest = link[1:3], link[3:]
            back = "Choose another procedure" if lang == "en" else "Chọn thủ tục khác"
            assert f">{back}<" in page
            for other in {"vi", "en", "km"} - {lang}:  # the language switch keeps the link
                assert f'hreflang="{other}" href="/{other}{rest}"' in page


def test_a_catalogue_change_by_another_worker_shows_at_once(app, client, database_url, tmp_path):
    link = "/vi/s/HT-KHAISINH?counter=XA1-Q01"
    assert "Đăng ký khai sinh · Quầy 01<" in client.get(link).text
    other = build_app(database_url, tmp_path / "other")
    with other.app_context():
        catalogue.import_csv(
            HEADER + "service,HT-KHAISINH,,Đăng ký khai sinh (mới),Birth,កំណើត,,HOTICH,UBNDXA,1\n"
            "counter,XA1-Q01,XA1,Quầy Hộ tịch,Counter 1,បញ្ជរ ០១,,,,\n"
        )
    assert "Đăng ký khai sinh (mới) · Quầy Hộ tịch<" in client.get(link).text
    with other.app_context():
        catalogue.import_csv(
            HEADER + "service,HT-KHAISINH,,Đăng ký khai sinh,Birth,កំណើត,,HOTICH,UBNDXA,0\n"
        )
        db.session.remove()
        db.engine.dispose()
    assert client.get(link).status_code == 404  # withdrawn: no longer offered
