"""Kiosks set up from the web: a manager registers one and gets a pairing code that staff type
on the kiosk's own screen (/k/pair); a code pairs one kiosk once, within 10 minutes and 5 tries,
and never on a browser signed in as staff."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey import pairing
from survey.extensions import db, limiter
from survey.models import AuditEvent, KioskDevice, utcnow
from tests.builders import bearer, kiosk_token, make_user, sign_in

KIOSK_COOKIE = "kiosk_device"
NEW = {"name": "Sảnh Tri Tôn", "unit": "XA1", "counter": "XA1-Q01", "language": "km"}
REFUSED = "Mã này không dùng được"


@pytest.fixture
def manager(app):
    with app.app_context():
        make_user("manager@ag.vn", "manager", ("XA1",))
        make_user("viewer@ag.vn", "viewer", ("XA1",))


def register(client, **changes) -> str:
    """Register a kiosk as the signed-in manager; return the pairing code shown."""
    page = client.post("/admin/kiosks/new", data={**NEW, **changes})
    assert page.status_code == 200, page.text
    return re.search(r'class="secret code-digits"[^>]*>(\d{4}) (\d{4})<', page.text).expand(r"\1\2")


def type_code(app, code: str, lang: str = "vi"):
    """A fresh kiosk browser presses "Pair" with `code` typed; return it and the reply."""
    kiosk = app.test_client()
    return kiosk, kiosk.post(f"/k/pair?lang={lang}", data={"code": code, "key": "pair"})


def the_kiosk(app) -> KioskDevice:
    with app.app_context():
        return db.session.scalar(select(KioskDevice).order_by(KioskDevice.id.desc()))


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_code_pairs_one_kiosk_once(app, client, manager):
    sign_in(client, "manager@ag.vn")
    code = register(client)
    device = the_kiosk(app)
    assert (device.token_hash, device.default_language) == (None, "km")
    assert device.pairing_code_hash != code and len(device.pairing_code_hash) == 64  # keyed hash
    assert "Chưa kích hoạt" in client.get("/admin/kiosks").text
    kiosk, paired = type_code(app, code)
    assert paired.status_code == 303 and paired.headers["Location"] == "/k/"
    credential = kiosk.get_cookie(KIOSK_COOKIE)
    assert credential.http_only and kiosk.get("/k/").status_code == 200
    heartbeat = kiosk.post("/api/v1/kiosk/heartbeat", json={}, headers=bearer(credential.value))
    assert heartbeat.status_code == 200
    other, again = type_code(app, code)
    assert again.status_code == 403 and REFUSED in again.text
    assert other.get_cookie(KIOSK_COOKIE) is None and other.get("/k/").status_code == 401
    assert the_kiosk(app).paired_at is not None and the_kiosk(app).pairing_code_hash is None
    assert actions(app)[-3:] == ["kiosk.register", "kiosk.pairing_code", "kiosk.pair"]
    assert "Chưa kích hoạt" not in client.get("/admin/kiosks").text


def test_an_expired_code_is_refused(app, client, manager):
    with app.app_context():
        token = kiosk_token()
        device = db.session.scalar(select(KioskDevice))
        code = pairing.issue_code(device, actor="t", now=utcnow() - timedelta(minutes=11))
    kiosk, reply = type_code(app, code)
    assert reply.status_code == 403 and REFUSED in reply.text
    assert kiosk.get_cookie(KIOSK_COOKIE) is None
    assert client.post("/api/v1/kiosk/heartbeat", json={}, headers=bearer(token)).status_code == 200


def test_the_fifth_try_may_pair_and_a_sixth_is_refused(app, client, manager):
    sign_in(client, "manager@ag.vn")
    code = register(client)
    wrong = str((int(code) + 1) % 10**8).zfill(8)
    for _ in range(4):
        assert type_code(app, wrong)[1].status_code == 403
    assert the_kiosk(app).pairing_tries == 4  # counted in the database
    assert type_code(app, code)[1].status_code == 303  # the fifth try
    second = register(client, name="Sảnh 2")
    for _ in range(5):
        type_code(app, wrong)
    kiosk, sixth = type_code(app, second)
    assert sixth.status_code == 403 and REFUSED in sixth.text
    assert kiosk.get_cookie(KIOSK_COOKIE) is None and the_kiosk(app).token_hash is None


def test_every_wrong_try_counts_against_every_live_code(app, client, manager):
    sign_in(client, "manager@ag.vn")
    first, second = register(client), register(client, name="Sảnh 2")
    wrong = next(c for c in ("00000000", "11111111", "22222222") if c not in (first, second))
    for _ in range(5):
        type_code(app, wrong)
    assert type_code(app, first)[1].status_code == 403
    assert type_code(app, second)[1].status_code == 403


def test_a_signed_in_staff_browser_is_refused(app, client, manager):
    sign_in(client, "manager@ag.vn")
    code = register(client)
    for reply in (
        client.get("/k/pair"),
        client.post("/k/pair", data={"code": code, "key": "pair"}),
    ):
        assert reply.status_code == 403
        assert "Trình duyệt đang đăng nhập trang quản lý" in reply.text
        assert "<form" not in reply.text.split('<main id="main"')[1]
    assert client.get_cookie(KIOSK_COOKIE) is None
    assert client.get("/admin/kiosks").status_code == 200  # still a manager's browser
    assert the_kiosk(app).pairing_tries == 0  # nothing was tried
    assert type_code(app, code)[1].status_code == 303  # the code still pairs the kiosk


def test_the_keypad_works_without_script(app):
    kiosk = app.test_client()
    page = kiosk.get("/k/pair")
    assert page.status_code == 200 and page.text.count('name="key"') == 13
    typed = kiosk.post("/k/pair", data={"code": "1234567", "key": "8"})
    assert typed.status_code == 200 and 'name="code" value="12345678"' in typed.text
    full = kiosk.post("/k/pair", data={"code": "12345678", "key": "9"})
    assert 'name="code" value="12345678"' in full.text  # 8 digits at most
    back = kiosk.post("/k/pair", data={"code": "123", "key": "back"})
    assert 'name="code" value="12"' in back.text
    assert kiosk.get_cookie(KIOSK_COOKIE) is None


def test_tries_from_one_address_are_limited_as_sign_ins(app):
    app.config.update(SURVEY_SIGNIN_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI="memory://")
    limiter.init_app(app)
    kiosk = app.test_client()
    for _ in range(5):  # digits typed without script are no tries
        assert kiosk.post("/k/pair", data={"code": "1", "key": "2"}).status_code == 200
    tries = [kiosk.post("/k/pair", data={"code": "12345678", "key": "pair"}) for _ in range(4)]
    assert [t.status_code for t in tries] == [403, 403, 403, 429]


def test_bad_codes_get_a_message_in_the_screens_language(app):
    kiosk = app.test_client()
    short = kiosk.post("/k/pair", data={"code": "1234", "key": "pair"})
    assert short.status_code == 400 and "Nhập đủ 8 chữ số của mã." in short.text
    assert short.text.count("<title>Lỗi: ") == 1
    forged = kiosk.post("/k/pair", data={"code": "12ab", "key": "pair"})
    assert forged.status_code == 400
    khmer = kiosk.post("/k/pair?lang=km", data={"code": "12345678", "key": "pair"})
    assert khmer.status_code == 403 and '<html lang="km">' in khmer.text
    assert REFUSED not in khmer.text and "កូដ" in khmer.text


def test_a_new_code_keeps_the_old_credential_until_the_new_pairing(app, client, manager):
    with app.app_context():
        token = kiosk_token()
        kiosk_id = db.session.scalar(select(func.max(KioskDevice.id)))
    sign_in(client, "manager@ag.vn")
    page = client.post(f"/admin/kiosks/{kiosk_id}/pairing-code")
    assert page.status_code == 200
    code = re.search(r">(\d{4}) (\d{4})<", page.text).expand(r"\1\2")
    heartbeat = {"json": {}, "headers": bearer(token)}
    assert client.post("/api/v1/kiosk/heartbeat", **heartbeat).status_code == 200
    assert type_code(app, code)[1].status_code == 303
    assert client.post("/api/v1/kiosk/heartbeat", **heartbeat).status_code == 401


def test_a_browser_that_is_no_kiosk_says_not_activated(app):
    page = app.test_client().get("/k/")
    assert page.status_code == 401 and "Chưa kích hoạt" in page.text
    assert "Mất kết nối" not in page.text and 'href="/k/pair"' in page.text
    assert "kiosk.js" not in page.text  # no kiosk script: no heartbeat, no idle reset


def test_registering_refuses_bad_settings_and_stores_nothing(app, client, manager):
    sign_in(client, "manager@ag.vn")
    for changes, message in (
        ({"name": ""}, "Nhập tên ki-ốt."),
        ({"counter": "CTR-Q01"}, "Chọn quầy thuộc đơn vị đã chọn."),
        ({"service": "CT-CU"}, "Chọn một thủ tục trong danh sách"),
        ({"language": "fr"}, "Chọn một trong ba ngôn ngữ."),
    ):
        reply = client.post("/admin/kiosks/new", data={**NEW, **changes})
        assert reply.status_code == 400 and message in reply.text, changes
        assert "<title>Lỗi: " in reply.text
    assert client.post("/admin/kiosks/new", data={**NEW, "unit": "CTR"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(KioskDevice)) == 0
    assert "kiosk.register" not in actions(app)
    viewer = app.test_client()
    sign_in(viewer, "viewer@ag.vn")
    assert viewer.get("/admin/kiosks/new").status_code == 403


def test_a_manager_sets_the_language_and_procedure(app, client, manager):
    sign_in(client, "manager@ag.vn")
    register(client, service="HT-KHAISINH")
    device = the_kiosk(app)
    assert (device.default_language, device.service_id is not None) == ("km", True)
    saved = client.post(
        f"/admin/kiosks/{device.id}",
        data={"name": "Sảnh", "unit": "XA1", "counter": "", "language": "vi", "service": ""},
    )
    assert saved.status_code == 303
    device = the_kiosk(app)
    assert (device.default_language, device.service_id, device.counter_id) == ("vi", None, None)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="kiosk.update"))
        assert (event.actor, event.detail["language"]) == ("manager@ag.vn", "vi")
