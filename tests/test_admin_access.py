"""Accounts, sessions and who may see what on the manager side."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from survey import accounts, audit
from survey.extensions import db
from survey.models import ApiToken, AuditEvent, User, UserSession, utcnow
from tests.builders import PASSWORD, bearer, make_user, rate, sign_in


@pytest.fixture
def people(app):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        make_user("manager@ag.vn", "manager", ("XA1",))
        make_user("viewer@ag.vn", "viewer", ("XA1",))
        make_user("other@ag.vn", "manager", ("CTR",))
        # Five each: a figure from fewer than 5 ratings is hidden whoever looks.
        for n in range(5):
            rate(
                counter="XA1-Q01", answers={"OV": 5, "TC1": 4}, comment=None if n else "Quầy xã tốt"
            )
            rate(
                unit="CTR", answers={"OV": 1, "TC1": 1}, comment=None if n else "Trung tâm chờ lâu"
            )
        tokens = {
            e.split("@")[0]: accounts.create_api_token(accounts.find_user(e), actor="t")
            for e in ("admin@ag.vn", "manager@ag.vn", "viewer@ag.vn", "other@ag.vn")
        }
        other_token_id = db.session.scalar(
            select(ApiToken.id).join(User).filter(User.email == "other@ag.vn")
        )
    return {"tokens": tokens, "other_token_id": other_token_id}


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).filter_by(action=action)))


MATRIX = [  # (method, path, anonymous, viewer, manager, admin)
    ("GET", "/admin/", 302, 200, 200, 200),
    ("GET", "/admin/?unit=XA1", 302, 200, 200, 200),
    ("GET", "/admin/?unit=CTR", 302, 403, 403, 200),
    ("GET", "/admin/?counter=CTR-Q01", 302, 403, 403, 200),
    ("GET", "/admin/export/summary.csv", 302, 200, 200, 200),
    ("GET", "/admin/export/summary.csv?unit=CTR", 302, 403, 403, 200),
    ("GET", "/admin/export/responses.xlsx?unit=CTR", 302, 403, 403, 200),
    ("GET", "/admin/export/comments.csv", 302, 403, 200, 200),
    ("GET", "/admin/export/figures.csv", 302, 404, 404, 404),
    ("GET", "/admin/users", 302, 403, 403, 200),
    ("GET", "/admin/users/1", 302, 403, 403, 200),
    ("GET", "/admin/tokens", 302, 403, 200, 200),
    ("POST", "/admin/tokens/{other}/revoke", 302, 403, 404, 303),
    ("GET", "/admin/audit", 302, 403, 403, 200),
    ("GET", "/admin/password", 302, 200, 200, 200),
    ("GET", "/admin/account", 302, 200, 200, 200),
    ("GET", "/admin/two-factor", 303, 303, 303, 303),  # only while a sign-in is pending
    ("GET", "/admin/two-factor/enrol", 303, 200, 200, 200),
    ("GET", "/admin/two-factor/qr.svg", 404, 404, 404, 404),  # only after the enrol page
    ("POST", "/admin/account/two-factor/disable", 302, 403, 403, 403),  # none is on
    ("POST", "/admin/users/1/two-factor-reset", 302, 403, 403, 303),
]


@pytest.mark.parametrize(("method", "path", *("anonymous", "viewer", "manager", "admin")), MATRIX)
def test_permission_matrix(app, people, method, path, anonymous, viewer, manager, admin):
    path = path.format(other=people["other_token_id"])
    with app.app_context():
        first_id = db.session.scalar(select(User.id).order_by(User.id))
    path = path.replace("/users/1", f"/users/{first_id}")
    for who, expected in (
        ("anonymous", anonymous),
        ("viewer", viewer),
        ("manager", manager),
        ("admin", admin),
    ):
        client = app.test_client()
        if who != "anonymous":
            assert sign_in(client, f"{who}@ag.vn").status_code == 303
        reply = client.open(path, method=method)
        assert reply.status_code == expected, (who, path, reply.status_code)
        if expected == 302:
            assert reply.headers["Location"].startswith("/admin/login")


@pytest.mark.parametrize(
    ("who", "query", "expected"),
    [
        (None, "", 401),
        ("bogus", "", 401),
        ("viewer", "", 200),
        ("manager", "&unit=XA1", 200),
        ("manager", "&unit=CTR", 403),
        ("manager", "&counter=CTR-Q01", 403),
        ("admin", "&unit=CTR", 200),
    ],
)
def test_summary_api_permissions(client, people, who, query, expected):
    headers = {}
    if who == "bogus":
        headers["Authorization"] = "Bearer sv_not-a-real-token"
    elif who:
        headers["Authorization"] = f"Bearer {people['tokens'][who]}"
    reply = client.get(f"/api/v1/summary?from=2020-01-01&to=2030-12-31{query}", headers=headers)
    assert reply.status_code == expected
    assert reply.is_json and (expected == 200) == ("errors" not in reply.get_json())


def test_a_manager_sees_only_their_units(client, people):
    token = people["tokens"]["manager"]
    data = client.get(
        "/api/v1/summary?from=2020-01-01&to=2030-12-31",
        headers=bearer(token),
    ).get_json()
    assert data["responses"] == 5 and data["overall_question"]["index"] == 100.0
    sign_in(client, "manager@ag.vn")
    page = client.get("/admin/?period=this-year").text
    assert "Quầy xã tốt" in page and "Trung tâm chờ lâu" not in page
    assert "Điểm phục vụ xã Một" in page and "Trung tâm Phục vụ hành chính công tỉnh" not in page


def test_viewers_see_figures_but_not_comments(client, people):
    sign_in(client, "viewer@ag.vn")
    page = client.get("/admin/?period=this-year").text
    assert "Chỉ số hài lòng về sự phục vụ (theo cách tiếp cận SIPAS)" in page
    assert "Quầy xã tốt" not in page


def test_revoked_token_is_refused_at_once(app, client, people):
    headers = bearer(people["tokens"]["other"])
    url = "/api/v1/summary?from=2020-01-01&to=2030-12-31"
    assert client.get(url, headers=headers).status_code == 200
    sign_in(client, "admin@ag.vn")
    assert client.post(f"/admin/tokens/{people['other_token_id']}/revoke").status_code == 303
    assert client.get(url, headers=headers).status_code == 401
    assert events(app, "token.revoke")[0].target == "other@ag.vn"


def test_sign_in_gives_a_new_session_and_sign_out_ends_it(app, people):
    client = app.test_client()
    assert sign_in(client, "admin@ag.vn").headers["Location"] == "/admin/"
    before = client.get_cookie("session").value
    assert sign_in(client, "admin@ag.vn").status_code == 303  # signing in again
    cookie = client.get_cookie("session").value
    assert cookie != before
    with app.app_context():
        assert len(set(db.session.scalars(select(UserSession.token)))) == 2
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout")
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/admin/").status_code == 302  # the old cookie no longer opens anything
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1
    assert [e.action for e in events(app, "signin")] == ["signin", "signin"]
    assert len(events(app, "signout")) == 1


@pytest.mark.parametrize(
    "column, age",
    [("last_seen", timedelta(minutes=31)), ("created_at", timedelta(hours=8, minutes=1))],
)
def test_idle_and_absolute_timeouts(app, client, people, column, age):
    sign_in(client, "admin@ag.vn")
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        db.session.execute(update(UserSession).values({column: utcnow() - age}))
        db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_every_page_says_when_the_session_ends_and_has_sign_out(client, people):
    sign_in(client, "viewer@ag.vn")
    for path in ("/admin/", "/admin/password"):
        page = client.get(path).text
        assert "phiên làm việc kết thúc sau 30 phút" in page and "Đăng xuất" in page


def test_failed_sign_ins_lock_the_account_even_for_the_right_password(app, client, people):
    replies = [
        sign_in(client, "manager@ag.vn", "sai mật khẩu") for _ in range(accounts.MAX_FAILURES)
    ]
    assert [r.status_code for r in replies] == [400] * accounts.MAX_FAILURES
    assert "Địa chỉ thư điện tử hoặc mật khẩu không đúng" in replies[0].text
    assert "Tài khoản tạm bị khóa" in replies[-1].text
    locked = sign_in(client, "manager@ag.vn", PASSWORD)
    assert locked.status_code == 400 and "Tài khoản tạm bị khóa" in locked.text
    assert len(events(app, "signin.failed")) == accounts.MAX_FAILURES
    assert len(events(app, "signin.locked")) == 1
    with app.app_context():
        db.session.execute(
            update(User)
            .filter_by(email="manager@ag.vn")
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert sign_in(client, "manager@ag.vn", PASSWORD).status_code == 303


def test_sign_in_attempts_are_limited_per_address(app, people):
    client = app.test_client()
    codes = [sign_in(client, f"nobody{i}@ag.vn", "x" * 9).status_code for i in range(21)]
    assert codes[:20] == [400] * 20 and codes[20] == 429
    other_address = app.test_client()
    reply = other_address.post(
        "/admin/login",
        data={"email": "admin@ag.vn", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert reply.status_code == 303


def test_one_time_password_must_be_changed_and_policy_applies(app, client):
    with app.app_context():
        accounts.create_user(
            "new@ag.vn", role="viewer", password="Một-lần-2025-xyz", must_change=True
        )
    sign_in(client, "new@ag.vn", "Một-lần-2025-xyz")
    assert client.get("/admin/").headers["Location"] == "/admin/password"
    page = client.get("/admin/password").text
    assert "onpaste" not in page and 'autocomplete="new-password"' in page
    weak = client.post(
        "/admin/password",
        data={"current": "Một-lần-2025-xyz", "new": "matkhau123", "confirm": "matkhau123"},
    )
    assert weak.status_code == 400 and "quá phổ biến" in weak.text
    done = client.post(
        "/admin/password",
        data={
            "current": "Một-lần-2025-xyz",
            "new": "cầu Long Xuyên lúc 6 giờ",
            "confirm": "cầu Long Xuyên lúc 6 giờ",
        },
    )
    assert done.status_code == 303
    assert sign_in(client, "new@ag.vn", "cầu Long Xuyên lúc 6 giờ").status_code == 303
    assert client.get("/admin/").status_code == 200


def test_admin_creates_a_manager_with_units(app, client, people):
    sign_in(client, "admin@ag.vn")
    reply = client.post(
        "/admin/users",
        data={"email": "Hoa@AG.vn", "role": "manager", "units": ["XA1"], "active": "y"},
    )
    assert reply.status_code == 200 and "hoa@ag.vn" in reply.text
    with app.app_context():
        user = accounts.find_user("hoa@ag.vn")
        assert [u.code for u in user.units] == ["XA1"] and user.must_change_password
    assert events(app, "user.create")[-1].actor == "admin@ag.vn"
    audit_page = client.get("/admin/audit").text
    assert "user.create" in audit_page and "signin" in audit_page


def test_exports_are_audited(app, client, people):
    sign_in(client, "manager@ag.vn")
    reply = client.get("/admin/export/summary.csv?period=this-year")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    assert "Đăng ký khai sinh" in reply.text
    assert events(app, "export")[0].actor == "manager@ag.vn"


def test_api_token_command_prints_the_token_last(app, runner, people):
    result = runner.invoke(args=["api-token", "create", "--user", "viewer@ag.vn"])
    token = result.output.strip().splitlines()[-1]
    with app.app_context():
        assert accounts.user_for_api_token(token).email == "viewer@ag.vn"
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored


def test_an_admin_gives_a_new_one_time_password_from_the_account_page(app, client, people):
    """The reset button replaces the password; saving the account form beside it does not."""
    sign_in(client, "admin@ag.vn")
    with app.app_context():
        viewer_id = accounts.find_user("viewer@ag.vn").id
    saved = client.post(f"/admin/users/{viewer_id}", data={"role": "viewer", "units": ["XA1"]})
    assert saved.status_code == 303
    with app.app_context():
        viewer = accounts.find_user("viewer@ag.vn")
        assert accounts.check_password(viewer, PASSWORD) and not viewer.must_change_password
    page = client.post(f"/admin/users/{viewer_id}", data={"action": "reset"})
    assert page.status_code == 200
    with app.app_context():
        viewer = accounts.find_user("viewer@ag.vn")
        assert not accounts.check_password(viewer, PASSWORD) and viewer.must_change_password
        shown = page.text.split('<p class="secret">')[1].split("</p>")[0]
        assert accounts.check_password(viewer, html.unescape(shown))


def test_the_audit_log_pages_through_its_events(app, client, people):
    """Page 2 shows older events; a page number that is not a number shows the first page."""
    with app.app_context():
        for n in range(60):
            audit.record("export", actor=f"person{n:02d}@ag.vn")
    sign_in(client, "admin@ag.vn")
    first, second = client.get("/admin/audit"), client.get("/admin/audit?page=2")
    assert "person59@ag.vn" in first.text and "person59@ag.vn" not in second.text
    assert "person00@ag.vn" in second.text
    for odd in ("x", "-3", "0", "9" * 40):
        reply = client.get(f"/admin/audit?page={odd}")
        assert reply.status_code == 200
        assert ("person59@ag.vn" in reply.text) == (odd != "9" * 40)
