"""Two-step sign-in: enrolment, the code prompt, replay, lockout, recovery codes, reset."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import func, select, update

from survey import accounts, two_factor
from survey.extensions import db
from survey.models import AuditEvent, RecoveryCode, User, UserSession, utcnow
from tests.builders import PASSWORD, make_user, sign_in, totp_code


@pytest.fixture
def people(app):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        make_user("new-admin@ag.vn", "admin", two_factor=False)
        make_user("manager@ag.vn", "manager", ("XA1",))


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def sessions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(UserSession))


def enrol(client, *, wrong_first: bool = False) -> list[str]:
    """Go through the enrolment page as a person with an app would; return the codes."""
    page = client.get("/admin/two-factor/enrol")
    assert page.status_code == 200
    key = re.search(r'id="totp-key">([^<]+)<', page.text).group(1).replace(" ", "")
    if wrong_first:
        wrong = client.post("/admin/two-factor/enrol", data={"code": "000000"})
        assert wrong.status_code == 400 and "Mã không đúng" in wrong.text
    done = client.post("/admin/two-factor/enrol", data={"code": pyotp.TOTP(key).now()})
    assert done.status_code == 200, done.text
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)


def test_an_admin_without_two_factor_must_enrol_before_anything_else(app, client, people):
    reply = client.post("/admin/login", data={"email": "new-admin@ag.vn", "password": PASSWORD})
    assert reply.headers["Location"] == "/admin/two-factor/enrol"
    assert client.get("/admin/").status_code == 302 and sessions(app) == 0  # not signed in yet
    assert client.get("/admin/two-factor/qr.svg").status_code == 404  # no key yet
    assert 'src="/admin/two-factor/qr.svg"' in client.get("/admin/two-factor/enrol").text
    qr = client.get("/admin/two-factor/qr.svg")
    assert qr.mimetype == "image/svg+xml" and qr.headers["Cache-Control"] == "no-store"
    assert b"<svg" in qr.data and b"new-admin" not in qr.data  # modules only, no text
    codes = enrol(client, wrong_first=True)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/admin/").status_code == 200 and sessions(app) == 1
    with app.app_context():
        stored = set(db.session.scalars(select(RecoveryCode.code_hash)))
        assert len(stored) == 10 and not stored & set(codes)  # only hashes are kept
    assert "2fa.enrol" in actions(app)


def test_the_code_prompt_signs_in_only_with_the_right_code(app, client, people):
    reply = client.post("/admin/login", data={"email": "admin@ag.vn", "password": PASSWORD})
    assert reply.headers["Location"] == "/admin/two-factor"
    assert client.get("/admin/").status_code == 302 and sessions(app) == 0
    page = client.get("/admin/two-factor")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    wrong = client.post("/admin/two-factor", data={"code": "12345"})
    assert wrong.status_code == 400 and "Mã không đúng hoặc đã được dùng" in wrong.text
    assert (
        client.post("/admin/two-factor", data={"code": totp_code(app, "admin@ag.vn")}).headers[
            "Location"
        ]
        == "/admin/"
    )
    assert client.get("/admin/").status_code == 200 and sessions(app) == 1
    assert "signin.2fa_failed" in actions(app)


def test_a_code_is_accepted_once_in_its_time_step(app, people):
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        client.post("/admin/login", data={"email": "admin@ag.vn", "password": PASSWORD})
    with app.app_context():
        code = pyotp.TOTP(accounts.find_user("admin@ag.vn").totp_secret).now()
    assert first.post("/admin/two-factor", data={"code": code}).status_code == 303
    replay = second.post("/admin/two-factor", data={"code": code})
    assert replay.status_code == 400 and second.get("/admin/").status_code == 302


def test_wrong_codes_count_toward_the_lock(app, client, people):
    client.post("/admin/login", data={"email": "admin@ag.vn", "password": PASSWORD})
    replies = [client.post("/admin/two-factor", data={"code": "000000"}) for _ in range(4)]
    assert "Tài khoản tạm bị khóa" in replies[-1].text  # the password was the 1st attempt
    right = client.post("/admin/two-factor", data={"code": totp_code(app, "admin@ag.vn")})
    assert right.status_code == 400 and "Tài khoản tạm bị khóa" in right.text
    again = app.test_client()
    locked = again.post("/admin/login", data={"email": "admin@ag.vn", "password": PASSWORD})
    assert locked.status_code == 400 and "Tài khoản tạm bị khóa" in locked.text


def test_recovery_codes_work_once_each(app, people):
    client = app.test_client()
    client.post("/admin/login", data={"email": "new-admin@ag.vn", "password": PASSWORD})
    codes = enrol(client)
    client.post("/admin/logout")
    later = app.test_client()
    later.post("/admin/login", data={"email": "new-admin@ag.vn", "password": PASSWORD})
    typed = codes[3].upper().replace("-", " ")  # as a person may type it
    assert later.post("/admin/two-factor", data={"code": typed}).status_code == 303
    with app.app_context():
        assert two_factor.codes_left(accounts.find_user("new-admin@ag.vn")) == 9
    third = app.test_client()
    third.post("/admin/login", data={"email": "new-admin@ag.vn", "password": PASSWORD})
    assert third.post("/admin/two-factor", data={"code": codes[3]}).status_code == 400
    assert "2fa.recovery_code" in actions(app)


def test_a_manager_may_turn_it_on_and_off_from_the_account_page(app, client, people):
    assert sign_in(client, "manager@ag.vn").headers["Location"] == "/admin/"  # offered only
    page = client.get("/admin/account")
    assert page.status_code == 200 and "/admin/two-factor/enrol" in page.text
    enrol(client)
    client.post("/admin/logout")
    reply = client.post("/admin/login", data={"email": "manager@ag.vn", "password": PASSWORD})
    assert reply.headers["Location"] == "/admin/two-factor"
    assert sign_in(client, "manager@ag.vn").status_code == 303
    wrong = client.post("/admin/account/two-factor/disable", data={"password": "sai mật khẩu"})
    assert wrong.status_code == 400
    off = client.post("/admin/account/two-factor/disable", data={"password": PASSWORD})
    assert off.status_code == 303
    with app.app_context():
        user = accounts.find_user("manager@ag.vn")
        assert user.totp_secret is None and two_factor.codes_left(user) == 0
    assert "2fa.disable" in actions(app)


def test_an_admin_cannot_turn_it_off(client, people):
    sign_in(client, "admin@ag.vn")
    assert "/admin/account/two-factor/disable" not in client.get("/admin/account").text
    reply = client.post("/admin/account/two-factor/disable", data={"password": PASSWORD})
    assert reply.status_code == 403


def test_an_admin_resets_a_lost_phone_and_it_is_audited(app, people):
    manager = app.test_client()
    sign_in(manager, "manager@ag.vn")
    enrol(manager)
    admin = app.test_client()
    sign_in(admin, "admin@ag.vn")
    with app.app_context():
        manager_id = accounts.find_user("manager@ag.vn").id
    page = admin.get(f"/admin/users/{manager_id}")
    assert f"/admin/users/{manager_id}/two-factor-reset" in page.text
    reply = admin.post(f"/admin/users/{manager_id}/two-factor-reset")
    assert reply.status_code == 303
    assert manager.get("/admin/").status_code == 302  # the manager's sessions ended
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="user.2fa_reset"))
        assert (event.actor, event.target) == ("admin@ag.vn", "manager@ag.vn")
        assert accounts.find_user("manager@ag.vn").totp_secret is None
    assert sign_in(manager, "manager@ag.vn").headers["Location"] == "/admin/"


def test_only_admins_reset(app, client, people):
    sign_in(client, "manager@ag.vn")
    with app.app_context():
        admin_id = accounts.find_user("admin@ag.vn").id
    assert client.post(f"/admin/users/{admin_id}/two-factor-reset").status_code == 403


def test_a_password_alone_cannot_replace_the_app(app, client, people):
    client.post("/admin/login", data={"email": "admin@ag.vn", "password": PASSWORD})
    assert client.get("/admin/two-factor/enrol").headers["Location"] == "/admin/login"
    assert client.get("/admin/two-factor/qr.svg").status_code == 404


def test_the_pending_sign_in_expires(app, client, people):
    client.post("/admin/login", data={"email": "admin@ag.vn", "password": PASSWORD})
    with client.session_transaction() as session:
        pending = session["pending_sign_in"]
        session["pending_sign_in"] = {**pending, "at": pending["at"] - 301}
    reply = client.post("/admin/two-factor", data={"code": totp_code(app, "admin@ag.vn")})
    assert reply.headers["Location"] == "/admin/login" and sessions(app) == 0


def test_a_manager_made_admin_must_enrol_first(app, client, people):
    sign_in(client, "manager@ag.vn")
    with app.app_context():
        db.session.execute(update(User).filter_by(email="manager@ag.vn").values(role="admin"))
        db.session.commit()
    assert client.get("/admin/users").headers["Location"] == "/admin/two-factor/enrol"
    enrol(client)
    assert client.get("/admin/users").status_code == 200


def test_codes_at_the_edges_of_the_time_window(app, people):
    with app.app_context():
        user = accounts.find_user("admin@ag.vn")
        totp, now = pyotp.TOTP(user.totp_secret), utcnow()
        step = totp.timecode(now)
        with pytest.raises(accounts.SignInRefused):
            two_factor.check_code(user, totp.generate_otp(step - 2), now=now)  # too old
        two_factor.check_code(user, totp.generate_otp(step + 1), now=now)  # clock drift
        with pytest.raises(accounts.SignInRefused):  # an earlier step after a later one
            two_factor.check_code(user, totp.generate_otp(step), now=now)


def test_the_reset_command_for_a_lost_phone(app, runner, people):
    result = runner.invoke(args=["two-factor", "reset", "admin@ag.vn"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert accounts.find_user("admin@ag.vn").totp_secret is None
        event = db.session.scalar(select(AuditEvent).filter_by(action="user.2fa_reset"))
        assert (event.actor, event.target) == ("cli", "admin@ag.vn")
    assert runner.invoke(args=["two-factor", "reset", "nobody@ag.vn"]).exit_code == 1


def test_the_reset_needs_the_csrf_token(app, client, people):
    sign_in(client, "admin@ag.vn")
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        manager_id = accounts.find_user("manager@ag.vn").id
    assert client.post(f"/admin/users/{manager_id}/two-factor-reset").status_code == 400
    assert "user.2fa_reset" not in actions(app)
