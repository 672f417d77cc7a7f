"""Activating a kiosk: the link asks for confirmation and never turns a staff browser into one."""

from __future__ import annotations

import pytest

from survey import kiosks
from tests.builders import kiosk_token, make_user, sign_in

KIOSK_COOKIE = "kiosk_device"


@pytest.fixture
def token(app):
    with app.app_context():
        return kiosk_token()


def test_the_link_asks_for_confirmation_before_activating(client, token):
    page = client.get(f"/k/activate?token={token}")
    assert page.status_code == 200 and client.get_cookie(KIOSK_COOKIE) is None
    assert "Kích hoạt ki-ốt này" in page.text and "Sảnh A" in page.text
    assert 'method="post"' in page.text and f'value="{token}"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/k/").status_code == 401  # not a kiosk yet
    done = client.post("/k/activate", data={"token": token})
    assert done.status_code == 303 and done.headers["Location"] == "/k/"
    assert client.get_cookie(KIOSK_COOKIE).value == token
    assert client.get("/k/").status_code == 200


def test_a_signed_in_staff_browser_is_never_made_a_kiosk(app, client, token):
    with app.app_context():
        make_user("manager@ag.vn", "manager", ("XA1",))
    sign_in(client, "manager@ag.vn")
    for reply in (
        client.get(f"/k/activate?token={token}"),
        client.post("/k/activate", data={"token": token}),
    ):
        assert reply.status_code == 403
        assert "Trình duyệt đang đăng nhập trang quản lý" in reply.text
        assert "<form" not in reply.text.split('<main id="main"')[1]
    assert client.get_cookie(KIOSK_COOKIE) is None
    assert client.get("/admin/").status_code == 200  # still a manager's browser


def test_activation_needs_the_forms_csrf_token(app, client, token):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/k/activate", data={"token": token}).status_code == 400
    assert client.get_cookie(KIOSK_COOKIE) is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_or_revoked_token_activates_nothing(app, client, token, method):
    with app.app_context():
        kiosks.revoke_kiosk(kiosks.device_for_token(token), actor="t")
    reply = getattr(client, method)(
        f"/k/activate?token={token}", data={"token": token} if method == "post" else None
    )
    assert reply.status_code == 401 and client.get_cookie(KIOSK_COOKIE) is None
