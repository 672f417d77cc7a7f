"""Paper forms typed on /admin/paper: a form counts once, in the figures under the paper channel;
with double entry it counts when two people agree, and a disagreement keeps it out of the
figures, listed with its differing items, until a third person types it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey import accounts, paper_import, questionnaire, rollups
from survey.extensions import db
from survey.filters import centre_today
from survey.models import AuditEvent, ReportDraft, Response, User, rollup_day
from survey.paper_models import PaperEntry, PaperForm
from tests.builders import make_user, sign_in


@pytest.fixture
def staff(app):
    """Three managers of XA1 (the typists), a viewer, and an API token."""
    with app.app_context():
        for n in (1, 2, 3):
            make_user(f"nhap{n}@xa1.vn", "manager", ("XA1",))
        make_user("xem@xa1.vn", "viewer", ("XA1",))
        user = db.session.scalar(select(User).filter_by(email="nhap1@xa1.vn"))
        return accounts.create_api_token(user, actor="t")


def form_data(app, serial="XA1-000001", *, digit="4", double=False, **changes) -> dict:
    """A whole paper form: every item typed `digit`, dated yesterday."""
    with app.app_context():
        q = questionnaire.active()
        items = [q.overall_code, *q.criteria, *q.expectation_codes]
        day = centre_today() - timedelta(days=1)
    data = {
        "serial": serial,
        "unit": "XA1",
        "service": "HT-KHAISINH",
        "written_on": day.strftime("%d/%m/%Y"),
        "locale": "vi",
        "comment": "",
        **{code: ("3" if code.startswith("EX") else digit) for code in items},
    }
    if double:
        data["double"] = "y"
    return {**data, **changes}


def typed_by(app, email: str, data: dict):
    """POST one typing as `email`, from a browser of its own; the reply."""
    client = app.test_client()
    sign_in(client, email)
    return client.post("/admin/paper", data=data)


def today(app):
    """The centre's today."""
    with app.app_context():
        return centre_today()


def paper_figures(app, token: str | None = None) -> tuple[int, int]:
    """(responses, answers to the overall question) of the paper channel in the daily rollups,
    which every figure reads (the summary API hides fewer than 5 ratings)."""
    with app.app_context():
        ov = [rollups.column(questionnaire.active().id, "OV", v) for v in range(1, 6)]
        row = db.session.execute(
            select(
                func.coalesce(func.sum(rollup_day.c.responses), 0),
                sum(func.coalesce(func.sum(rollup_day.c[c]), 0) for c in ov),
            ).where(rollup_day.c.channel == "paper")
        ).one()
        return int(row[0]), int(row[1])


def test_a_typed_form_counts_once_in_the_paper_channel(app, staff):
    reply = typed_by(app, "nhap1@xa1.vn", form_data(app, digit="5"))
    assert reply.status_code == 303
    assert paper_figures(app, staff) == (1, 1)
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert (response.channel, response.status) == ("paper", "complete")
        assert response.flag_reason is None and response.kiosk_id is None
        assert rollups.stored() == rollups.recompute()  # the rollups kept in step
        event = db.session.scalar(select(AuditEvent).filter_by(action="paper.entry"))
        assert (event.actor, event.target) == ("nhap1@xa1.vn", "XA1-000001")
    again = typed_by(app, "nhap2@xa1.vn", form_data(app, digit="5"))
    assert again.status_code == 400
    assert "XA1-000001" in again.text and "đã được tính" in again.text
    assert paper_figures(app, staff) == (1, 1)


def test_double_entry_disagreement_stays_out_until_a_third_person(app, staff):
    first = form_data(app, "XA1-000007", double=True)
    assert typed_by(app, "nhap1@xa1.vn", first).status_code == 303
    assert paper_figures(app, staff) == (0, 0)  # waiting for the second typing
    # The same person cannot be the second typist.
    assert typed_by(app, "nhap1@xa1.vn", first).status_code == 400
    second = {**first, "TC2": "2"}
    reply = typed_by(app, "nhap2@xa1.vn", second)
    assert reply.status_code == 303
    client = app.test_client()
    sign_in(client, "nhap2@xa1.vn")
    page = client.get("/admin/paper").text
    assert "XA1-000007" in page and "TC2" in page
    assert "<strong>TC2</strong>: 4 / 2" in page  # the differing item, with both typings
    assert paper_figures(app, staff) == (0, 0)  # the disagreement keeps it out
    # Neither typist may resolve it; a third person types it from the paper.
    assert typed_by(app, "nhap2@xa1.vn", second).status_code == 400
    assert typed_by(app, "nhap3@xa1.vn", {**first, "TC2": "2"}).status_code == 303
    assert paper_figures(app, staff) == (1, 1)
    with app.app_context():
        answers = {a.item: a.value for a in db.session.scalar(select(Response)).answers}
        assert answers["TC2"] == 2 and answers["TC1"] == 4
        assert rollups.stored() == rollups.recompute()
        kinds = db.session.scalars(select(PaperEntry.kind).order_by(PaperEntry.id))
        assert list(kinds) == ["typed", "typed", "resolved"]
    sign_in(client, "nhap2@xa1.vn")
    assert "XA1-000007" not in client.get("/admin/paper").text


def test_two_agreeing_typings_count_once(app, staff):
    data = form_data(app, "XA1-000008", double=True, TT1="0", comment="Nhanh gọn")
    typed_by(app, "nhap1@xa1.vn", data)
    assert typed_by(app, "nhap2@xa1.vn", data).status_code == 303
    assert paper_figures(app, staff) == (1, 1)
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.comment == "Nhanh gọn"
        assert {a.item: a.value for a in response.answers}["TT1"] is None  # 0: not applicable


def test_double_entry_for_every_form_by_configuration(app, staff):
    app.config["SURVEY_PAPER_DOUBLE_ENTRY"] = True
    typed_by(app, "nhap1@xa1.vn", form_data(app, "XA1-000009"))
    assert paper_figures(app, staff) == (0, 0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"TC1": "7"}, "TC1: gõ một chữ số từ 1 đến 5"),
        ({"EX1": "5"}, "EX1: gõ một chữ số từ 1 đến 4"),
        ({"written_on": "01/01/2020"}, "quá một năm"),
        ({"serial": "số 1"}, "số phiếu"),
        ({"service": "KHONG-CO"}, "KHONG-CO"),
    ],
)
def test_a_wrong_typing_is_refused_and_stores_nothing(app, staff, changes, message):
    reply = typed_by(app, "nhap1@xa1.vn", form_data(app, **changes))
    assert reply.status_code == 400
    assert message in reply.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaperForm)) == 0


def test_a_date_in_the_future_is_refused(app, staff):
    tomorrow = (today(app) + timedelta(days=1)).strftime("%d/%m/%Y")
    reply = typed_by(app, "nhap1@xa1.vn", form_data(app, written_on=tomorrow))
    assert reply.status_code == 400 and "trong tương lai" in reply.text


def test_a_form_dated_eleven_months_back_counts_on_that_day(app, staff):
    day = today(app) - timedelta(days=330)
    typed_by(app, "nhap1@xa1.vn", form_data(app, written_on=day.strftime("%d/%m/%Y")))
    with app.app_context():
        assert rollups.local_day(db.session.scalar(select(Response.captured_at))) == day


def test_who_may_type(app, staff):
    assert typed_by(app, "xem@xa1.vn", form_data(app)).status_code == 403
    assert typed_by(app, "nhap1@xa1.vn", form_data(app, unit="CTR")).status_code == 403
    viewer = app.test_client()
    sign_in(viewer, "xem@xa1.vn")
    assert viewer.get("/admin/paper").status_code == 403


def test_a_form_for_a_period_already_reported_warns(app, staff):
    day = today(app) - timedelta(days=1)
    key = f"{day.year}-M{day.month:02d}"
    with app.app_context():
        db.session.add(ReportDraft(period=key, scope="", updated_by="t"))
        db.session.commit()
    client = app.test_client()
    sign_in(client, "nhap1@xa1.vn")
    page = client.post("/admin/paper", data=form_data(app), follow_redirects=True).text
    assert f"Tháng {day.month:02d}/{day.year}" in page
    assert "số liệu của báo cáo sẽ thay đổi" in page


def test_no_warning_without_a_report(app, staff):
    client = app.test_client()
    sign_in(client, "nhap1@xa1.vn")
    page = client.post("/admin/paper", data=form_data(app), follow_redirects=True).text
    assert "số liệu của báo cáo sẽ thay đổi" not in page


def test_the_export_lists_counted_paper_forms_under_their_channel(app, staff):
    """Five forms imported (fewer are not shown, so that no one is recognised) and one waiting
    for its second typing, which is not a response yet."""
    day = (today(app) - timedelta(days=1)).strftime("%d/%m/%Y")
    lines = "".join(f"P-{n},XA1,HT-KHAISINH,{day},{n}\n" for n in range(1, 6))
    with app.app_context():
        paper_import.import_csv(
            "serial,unit,service,date,OV\n" + lines,
            q=questionnaire.active(),
            actor="t",
            visible=None,
        )
    typed_by(app, "nhap1@xa1.vn", form_data(app, "XA1-000011", double=True))
    client = app.test_client()
    sign_in(client, "nhap2@xa1.vn")
    url = f"/admin/export/responses.csv?period=custom&from={day}&to={day}&unit=XA1"
    export = client.get(url).text
    assert export.count(";Phiếu giấy;") == 5
