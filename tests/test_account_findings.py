"""Regression tests of the review's low findings on accounts: parallel wrong passwords, control
characters in e-mails, and API tokens of a reactivated account."""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select

from survey import accounts, audit
from survey.extensions import db
from survey.models import AuditEvent, User
from tests.builders import PASSWORD, bearer, make_user, sign_in

THREADS = 8


def _post(url: str, data: dict) -> int:
    body = urllib.parse.urlencode(data).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def _parallel(url: str, data: dict) -> list[int]:
    """POST `data` from THREADS threads released at the same moment; return the statuses."""
    gate, codes = threading.Barrier(THREADS), []

    def one() -> None:
        gate.wait()
        codes.append(_post(url, data))

    threads = [threading.Thread(target=one) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_parallel_wrong_passwords_get_exactly_five_guesses(app, live_server):
    with app.app_context():
        make_user("manager@ag.vn", "manager")
    codes = _parallel(
        live_server + "/admin/login", {"email": "manager@ag.vn", "password": "sai mật khẩu"}
    )
    assert codes == [400] * THREADS
    with app.app_context():
        checked = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("signin.%"))
        ).all()
        user = accounts.find_user("manager@ag.vn")
        assert user.locked_until is not None
    assert sorted(checked) == ["signin.failed"] * 5 + ["signin.locked"] * (THREADS - 5)
    assert (
        _post(live_server + "/admin/login", {"email": "manager@ag.vn", "password": PASSWORD}) == 400
    )


def test_the_lock_clears_after_a_full_sign_in(app, client):
    with app.app_context():
        make_user("manager@ag.vn", "manager")
    for _ in range(accounts.MAX_FAILURES - 1):
        sign_in(client, "manager@ag.vn", "sai mật khẩu")
    assert sign_in(client, "manager@ag.vn").status_code == 303
    with app.app_context():
        user = accounts.find_user("manager@ag.vn")
        assert (user.failed_logins, user.locked_until) == (0, None)


@pytest.mark.parametrize("email", ["a@ag.vn\nforged line", "a@ag.vn\r\n", "a\x1b[31m@ag.vn"])
def test_control_characters_in_e_mails_are_refused(app, client, caplog, email):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
    caplog.set_level(logging.WARNING)
    reply = client.post("/admin/login", data={"email": email, "password": "sai mật khẩu"})
    assert reply.status_code == 400 and "Nhập địa chỉ thư điện tử" in reply.text
    assert not any("\n" in r.getMessage() or "\x1b" in r.getMessage() for r in caplog.records)
    sign_in(client, "admin@ag.vn")
    created = client.post("/admin/users", data={"email": email, "role": "viewer"})
    assert created.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(User.email)).all() == ["admin@ag.vn"]
        with pytest.raises(accounts.AccountError):
            accounts.create_user(email + ".vn", role="viewer", password=PASSWORD)


def test_log_lines_and_audit_records_escape_control_characters(app, caplog):
    caplog.set_level(logging.WARNING)
    with app.app_context():
        app.logger.warning("refused sign-in for %s", "x@y.vn\n2026-01-01 INFO forged")
        audit.record("signin.failed", actor="x@y.vn\nforged", detail={"k": "v\r\n"})
        event = db.session.scalar(select(AuditEvent))
    assert caplog.records[-1].getMessage() == "refused sign-in for x@y.vn\\n2026-01-01 INFO forged"
    assert event.actor == "x@y.vn\\nforged" and event.detail == {"k": "v\\r\\n"}
    assert audit.printable("Đăng ký ខ្មែរ") == "Đăng ký ខ្មែរ"


def test_a_reactivated_users_old_api_tokens_stay_dead(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        viewer = make_user("viewer@ag.vn", "viewer", ("XA1",))
        token = accounts.create_api_token(viewer, actor="t")
        viewer_id = viewer.id
    url = "/api/v1/summary?from=2020-01-01&to=2030-12-31"
    headers = bearer(token)
    assert client.get(url, headers=headers).status_code == 200
    sign_in(client, "admin@ag.vn")
    form = {"email": "viewer@ag.vn", "role": "viewer", "units": ["XA1"]}
    assert client.post(f"/admin/users/{viewer_id}", data=form).status_code == 303  # deactivate
    assert client.get(url, headers=headers).status_code == 401
    form["active"] = "y"
    assert client.post(f"/admin/users/{viewer_id}", data=form).status_code == 303  # reactivate
    assert client.get(url, headers=headers).status_code == 401
