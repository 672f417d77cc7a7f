"""Plain builders of test data."""

from __future__ import annotations

import uuid
from datetime import timedelta

from survey import catalogue, kiosks
from survey.models import utcnow

SMALL_CATALOGUE = """kind,code,parent,name_vi,name_en,name_km,national_code,field,agency,active
unit,CTR,,Trung tâm Phục vụ hành chính công tỉnh,Provincial centre,មជ្ឈមណ្ឌល,,,,
unit,XA1,CTR,Điểm phục vụ xã Một,Commune One service point,ចំណុចឃុំ,,,,
counter,CTR-Q01,CTR,Quầy 01 – Tư pháp,Counter 01 – Justice,បញ្ជរ 01,,,,
counter,XA1-Q01,XA1,Quầy 01,Counter 01,បញ្ជរ 01,,,,
agency,STP,,Sở Tư pháp,Department of Justice,មន្ទីរយុត្តិធម៌,,,,
agency,UBNDXA,,Ủy ban nhân dân cấp xã,Commune People's Committee,គណៈកម្មាធិការប្រជាជនឃុំ,,,,
field,HOTICH,,Hộ tịch,Civil status,អត្រានុកូលដ្ឋាន,,,,
field,CHUNGTHUC,,Chứng thực,Certification,ការបញ្ជាក់,,,,
service,HT-KHAISINH,,Đăng ký khai sinh,Birth registration,ការចុះបញ្ជីកំណើត,1.001193,HOTICH,UBNDXA,1
service,HT-KETHON,,Đăng ký kết hôn,Marriage registration,ការចុះបញ្ជីអាពាហ៍ពិពាហ៍,,HOTICH,UBNDXA,1
service,CT-BANSAO,,Chứng thực bản sao từ bản chính,Certified copy from the original,ការបញ្ជាក់ច្បាប់ចម្លង,,CHUNGTHUC,STP,1
service,CT-CU,,Thủ tục đã bãi bỏ,Retired procedure,នីតិវិធីចាស់,,CHUNGTHUC,STP,0
"""


def make_catalogue() -> int:
    """Load the small catalogue the tests use."""
    return catalogue.import_csv(SMALL_CATALOGUE)


def kiosk_token(*, unit: str = "XA1", counter: str | None = "XA1-Q01", name: str = "Sảnh A") -> str:
    """Register a kiosk (in an app context) and return its device token."""
    return kiosks.create_kiosk(unit=unit, counter=counter, name=name, actor="t")[1]


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a kiosk or API token."""
    return {"Authorization": f"Bearer {token}"}


def api_json(app, token: str, url: str):
    """GET an API URL with a Bearer token; the JSON reply."""
    return app.test_client().get(url, headers=bearer(token)).get_json()


def response_body(*, ov: int = 5, minutes_ago: float = 1, **changes) -> dict:
    """A kiosk's rating for /api/v1/responses (and batches): a new id, the overall question
    answered `ov`, captured `minutes_ago`; `changes` replace or add fields."""
    return {
        "id": str(uuid.uuid4()),
        "service": "HT-KHAISINH",
        "captured_at": (utcnow() - timedelta(minutes=minutes_ago)).isoformat(),
        "answers": {"OV": ov},
        **changes,
    }


def overall_form(client, path: str) -> dict:
    """GET the overall-question page at `path` and return its hidden fields."""
    import re

    page = client.get(path)
    assert page.status_code == 200, page.text
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))


def criteria_answers(q, value: int | str = 4) -> dict[str, dict[str, str]]:
    """Form data for every element page, all criteria answered with `value`."""
    return {e["code"].lower(): {c["code"]: str(value) for c in e["criteria"]} for e in q.elements}


PASSWORD = "Mật-khẩu-thử-2025"


def make_user(
    email: str, role: str, units: tuple[str, ...] = (), *, two_factor: bool | None = None
):
    """An account with the test password (no one-time password to change).

    Administrators get two-factor sign-in set up (a stored secret) unless `two_factor` says no.
    """
    import pyotp

    from survey import accounts
    from survey.extensions import db

    user = accounts.create_user(email, role=role, password=PASSWORD, units=units)
    if role == "admin" if two_factor is None else two_factor:
        user.totp_secret = pyotp.random_base32()
        db.session.commit()
    return user


def totp_code(app, email: str) -> str:
    """The code the account's app shows now. The step the account used last is forgotten first,
    so that a test may sign in many times within one 30-second step (replay has its own tests)."""
    import pyotp

    from survey import accounts
    from survey.extensions import db
    from survey.models import utcnow

    with app.app_context():
        user = accounts.find_user(email)
        user.totp_last_step = None
        db.session.commit()
        return pyotp.TOTP(user.totp_secret).at(utcnow())


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign in through the real form (and the second step, from the stored secret); return the
    last reply."""
    reply = client.post("/admin/login", data={"email": email, "password": password})
    if reply.status_code == 303 and reply.headers["Location"] == "/admin/two-factor":
        code = totp_code(client.application, email)
        reply = client.post("/admin/two-factor", data={"code": code})
    return reply


def rate(
    *,
    service: str = "HT-KHAISINH",
    counter: str | None = None,
    unit: str = "CTR",
    channel: str = "web",
    answers: dict,
    captured_at=None,
    comment: str | None = None,
):
    """Store one complete response through the write path."""
    from sqlalchemy import select

    from survey import questionnaire, responses
    from survey.models import Unit

    found = catalogue.find_counter(counter)
    started = responses.start_response(
        public_id=str(uuid.uuid4()),
        questionnaire=questionnaire.active(),
        service=catalogue.find_service(service),
        unit=found.unit if found else db_scalar(select(Unit).filter_by(code=unit)),
        counter=found,
        channel=channel,
        locale="vi",
        captured_at=captured_at,
        answers=answers,
    )
    responses.finish_response(started.response, comment=comment)
    return started.response


def db_scalar(query):
    from survey.extensions import db

    return db.session.scalar(query)
