"""The edge of the app (issue 8): escaped messages, input no database stores, security
headers, proxies and trusted hosts, url_for options from the query string, calendar ends,
small groups, formula-safe CSV and the double-submitted first answer."""

from __future__ import annotations

import ast
import csv
import io
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import request
from markupsafe import escape
from sqlalchemy import func, select

from survey import accounts, config, visits
from survey.extensions import db
from survey.i18n import lazy_text
from survey.models import Response, Service, utcnow
from tests.builders import bearer, kiosk_token, make_user, overall_form, rate, sign_in
from tests.conftest import build_app

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
    sign_in(client, "admin@ag.vn")
    return client


def stored_responses(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


# --- Finding 1: a formatted message is text, never markup ----------------------------------


@pytest.mark.parametrize("name", ["unit", "service", "channel", "agency", "field", "counter"])
def test_dashboard_prints_a_code_from_the_url_as_text(admin, name):
    page = admin.get("/admin/", query_string={name: SCRIPT})
    assert page.status_code == 400
    assert SCRIPT not in page.text
    assert escape(SCRIPT) in page.text


def test_a_lazy_message_with_arguments_is_escaped(app):
    with app.test_request_context("/vi/"):
        message = lazy_text("There is no unit with the code %(code)s.", code=SCRIPT)
        assert not hasattr(message, "__html__")
        assert str(escape(message)).count("&lt;script&gt;") == 1


def test_no_module_uses_the_lazy_string_that_claims_to_be_markup():
    """flask_babel's lazy_gettext returns a string whose __html__ skips escaping."""
    offenders = []
    for path in Path("survey").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "flask_babel":
                names = {alias.name for alias in node.names}
                if names & {"lazy_gettext", "lazy_pgettext", "lazy_ngettext"}:
                    offenders.append(str(path))
    assert offenders == []


# --- Finding 4: the first answer posted twice at once ---------------------------------------


def twin(app, client):
    """A second client holding the first one's cookies as they are now (a racing request)."""
    other = app.test_client()
    for cookie in client._cookies.values():
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return other


def test_a_double_submitted_first_answer_keeps_the_rating_for_the_browser(app, client):
    form = overall_form(client, "/vi/s/HT-KHAISINH")
    racing = twin(app, client)  # sent before the first answer's cookie came back
    first = client.post("/vi/s/HT-KHAISINH", data={**form, "OV": "4"})
    second = racing.post("/vi/s/HT-KHAISINH", data={**form, "OV": "4"})
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    # Whichever cookie the browser keeps, it still reaches its own rating.
    assert racing.get(second.headers["Location"]).status_code == 200
    assert client.get(first.headers["Location"]).status_code == 200
    assert stored_responses(app) == 1


def test_another_pages_note_cannot_reach_another_browsers_rating(app, client):
    form = overall_form(client, "/vi/s/HT-KHAISINH")
    client.post("/vi/s/HT-KHAISINH", data={**form, "OV": "4"})
    stranger = app.test_client()
    own = overall_form(stranger, "/vi/s/HT-KHAISINH")  # a genuine note, for its own id
    reply = stranger.post("/vi/s/HT-KHAISINH", data={**own, "rid": form["rid"], "OV": "1"})
    assert reply.status_code == 404


def test_a_double_submit_with_a_visit_code_is_not_already_rated(app, client):
    with app.app_context():
        code = visits.mint(
            db.session.scalar(select(Service).filter_by(code="HT-KHAISINH")), 1, actor="t"
        )[0]
    client.get(f"/v/{code}")
    form = overall_form(client, "/vi/s/HT-KHAISINH")
    racing = twin(app, client)
    assert client.post("/vi/s/HT-KHAISINH", data={**form, "OV": "5"}).status_code == 303
    assert racing.post("/vi/s/HT-KHAISINH", data={**form, "OV": "5"}).status_code == 303
    assert stored_responses(app) == 1


# --- Finding 5: NUL bytes and lone surrogates, refused at the edge --------------------------


def test_a_nul_in_a_comment_is_refused_and_nothing_changes(app, client):
    form = overall_form(client, "/vi/s/HT-KHAISINH")
    more = client.post("/vi/s/HT-KHAISINH", data={**form, "OV": "2"}).headers["Location"]
    rid = more.split("/r/")[1].split("/")[0]
    reply = client.post(f"/vi/r/{rid}/comment", data={"comment": "Chờ lâu\x00quá"})
    assert reply.status_code == 400
    assert "NUL" in reply.text and "Traceback" not in reply.text
    with app.app_context():
        assert db.session.scalar(select(Response.comment)) is None


@pytest.mark.parametrize(
    "path", ["/vi/?q=k%00t", "/vi/s/HT%00KHAISINH", "/vi/?%00=1", "/admin/login?next=%00"]
)
def test_a_nul_in_the_path_or_query_is_a_400(client, path):
    reply = client.get(path)
    assert reply.status_code == 400
    assert "NUL" in reply.text


@pytest.mark.parametrize(
    "raw",
    [
        '{"id": "%s", "service": "HT-KHAISINH", "answers": {"OV": 4}, "comment": "a\\u0000b"}',
        '{"id": "%s", "service": "HT-KHAISINH", "answers": {"OV": 4}, "comment": "a\\ud800b"}',
        '{"id": "%s", "service": "HT\\udfffX", "answers": {"OV": 4}}',
        '{"id": "%s", "service": "HT-KHAISINH", "answers": {"OV": 4}, "p\\u0000": 1}',
    ],
    ids=["nul", "lone-high-surrogate", "lone-low-surrogate", "nul-in-a-key"],
)
def test_the_api_refuses_unstorable_json_with_a_422(app, client, raw):

    with app.app_context():
        token = kiosk_token(counter=None, name="K")
    reply = client.post(
        "/api/v1/responses",
        data=raw % uuid.uuid4(),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    assert reply.status_code == 422  # by the API's own item checks, naming the field
    assert "cannot be stored" in reply.get_json()["errors"][0]["message"]
    assert stored_responses(app) == 0


# --- Finding 8 and the hardening: headers on every response ---------------------------------


def activated_kiosk(app, client):

    with app.app_context():
        token = kiosk_token(counter=None, name="K")
    client.set_cookie("kiosk_device", token)
    return client


@pytest.mark.parametrize(
    "path", ["/vi/", "/vi/s/HT-KHAISINH", "/admin/", "/k/", "/api/v1/services", "/nowhere"]
)
def test_every_response_forbids_framing_and_inline_script(app, admin, path):
    activated_kiosk(app, admin) if path.startswith("/k/") else None
    reply = admin.get(path)
    csp = reply.headers["Content-Security-Policy"]
    # A JSON document may load nothing at all; a page only what this site serves.
    source = "'none'" if reply.is_json else "'self'"
    assert "frame-ancestors 'none'" in csp and f"default-src {source}" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in reply.headers  # plain http: no HSTS


def test_each_page_gets_its_own_nonce(client):
    first = client.get("/vi/").headers["Content-Security-Policy"]
    second = client.get("/vi/").headers["Content-Security-Policy"]
    assert re.search(r"'nonce-[\w-]{20,}'", first) and first != second


def test_manager_pages_exports_and_the_summary_api_are_never_cached(app, admin):
    for path in ("/admin/", "/admin/export/summary.csv?period=this-year", "/admin/audit"):
        assert admin.get(path).headers["Cache-Control"] == "no-store", path
    with app.app_context():
        token = accounts.create_api_token(accounts.find_user("admin@ag.vn"), actor="t")
    reply = admin.get(
        "/api/v1/summary?from=2025-01-01&to=2025-12-31",
        headers=bearer(token),
    )
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"


def test_no_template_carries_inline_script_or_style():
    """A strict CSP blocks them: the page would silently lose its behaviour or its look."""
    offenders = []
    for path in Path("templates").rglob("*.html"):
        if path.parts[1] == "posters":  # rendered to PDF by WeasyPrint, never served as a page
            continue
        if path.parts[1] == "mail":  # e-mails, never served: mail readers drop style sheets
            continue
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", text):
            offenders.append(str(path))
    assert offenders == []


# --- Proxies, HTTPS and trusted hosts --------------------------------------------------------


@pytest.fixture
def make_app(database_url, app, tmp_path):
    """An app on the test database with extra configuration (its data comes from `app`)."""

    def build(**settings):
        built = build_app(database_url, tmp_path / "instance", **settings)
        seen = {}

        @built.before_request
        def _record():
            seen.update(addr=request.remote_addr, scheme=request.scheme)

        return built, seen

    yield build


FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def test_proxy_headers_are_ignored_unless_configured(make_app):
    built, seen = make_app()
    reply = built.test_client().get("/vi/", headers=FORWARDED)
    assert seen == {"addr": "127.0.0.1", "scheme": "http"}
    assert "Strict-Transport-Security" not in reply.headers


def test_behind_a_configured_proxy_the_client_address_and_https_come_from_it(make_app):
    built, seen = make_app(SURVEY_PROXY_FIX_X_FOR=1, SURVEY_PROXY_FIX_X_PROTO=1)
    reply = built.test_client().get("/vi/", headers=FORWARDED)
    assert seen == {"addr": "203.0.113.7", "scheme": "https"}
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookies = reply.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)


def test_served_over_https_the_session_cookie_is_secure_and_host_only(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_PUBLIC_URL", "https://khaosat.angiang.gov.vn")
    settings = config.from_environment(str(tmp_path))
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_NAME"] == "__Host-session"
    monkeypatch.setenv("SURVEY_PUBLIC_URL", "http://127.0.0.1:8000")
    assert config.from_environment(str(tmp_path))["SESSION_COOKIE_SECURE"] is False


def test_trusted_hosts_refuse_an_unknown_host(make_app, monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_TRUSTED_HOSTS", "khaosat.angiang.gov.vn, 127.0.0.1")
    hosts = config.from_environment(str(tmp_path))["SURVEY_TRUSTED_HOSTS"]
    assert hosts == ["khaosat.angiang.gov.vn", "127.0.0.1"]
    built, _seen = make_app(SURVEY_TRUSTED_HOSTS=hosts)
    client = built.test_client()
    evil = client.get("/vi/", headers={"Host": "evil.example"})
    assert evil.status_code == 400 and "Traceback" not in evil.text
    assert client.get("/vi/", headers={"Host": "khaosat.angiang.gov.vn"}).status_code == 200


# --- Low findings: url_for options, calendar ends, pages, small groups, CSV ----------------


@pytest.mark.parametrize(
    "query", ["_method=POST", "_external=1&_scheme=javascript", "_anchor=x&_external=1"]
)
def test_url_for_options_in_the_query_string_are_ignored(admin, query):
    for path in ("/vi/", f"/admin/?period=this-year&{query}"):
        page = admin.get(f"{path}{'&' if '?' in path else '?'}{query}")
        assert page.status_code == 200, path
        assert "javascript:" not in page.text and "http://localhost" not in page.text


@pytest.mark.parametrize(
    "query", ["from=0001-01-01&to=2025-01-01", "from=2025-01-01&to=9999-12-31"]
)
def test_dates_at_the_calendars_ends_are_a_clear_400(app, admin, query):
    page = admin.get(f"/admin/?period=custom&{query}")
    assert page.status_code == 400 and "01/01/2000" in page.text
    with app.app_context():
        token = accounts.create_api_token(accounts.find_user("admin@ag.vn"), actor="t")
    reply = admin.get(f"/api/v1/summary?{query}", headers=bearer(token))
    assert reply.status_code == 400 and "2000-01-01" in reply.get_json()["errors"][0]["message"]


@pytest.mark.parametrize("path", ["/admin/?period=this-year&page=", "/admin/audit?page="])
def test_a_huge_page_number_shows_a_page(admin, path):
    assert admin.get(path + "9" * 30).status_code == 200


def test_one_rating_at_a_one_counter_unit_is_hidden_whatever_the_filter(app, client):
    with app.app_context():
        make_user("admin@ag.vn", "admin")
        rate(counter="XA1-Q01", answers={"OV": 1})
        for _ in range(5):
            rate(counter="CTR-Q01", answers={"OV": 5})
        token = accounts.create_api_token(accounts.find_user("admin@ag.vn"), actor="t")

    def summary(query):
        return client.get(
            f"/api/v1/summary?from=2020-01-01&to=2030-12-31&{query}",
            headers=bearer(token),
        ).get_json()

    by_unit = summary("unit=XA1")  # XA1 has one counter: its figure is the counter's
    assert by_unit["hidden"] is True and by_unit["overall"] is None
    groups = {g["key"]: g for g in summary("group_by=unit")["groups"]}
    assert groups["XA1"]["hidden"] is True
    assert groups["XA1"]["responses"] == 0 and groups["XA1"]["overall"] is None
    assert groups["CTR"]["responses"] == 5 and not groups["CTR"].get("hidden")


def test_csv_cells_never_start_a_formula(app, admin):
    with app.app_context():
        service = db.session.scalar(select(Service).filter_by(code="HT-KHAISINH"))
        service.name_vi = '=HYPERLINK("http://evil.example","Bấm")'
        db.session.commit()
        for _ in range(5):  # fewer would be hidden
            rate(answers={"OV": 4}, captured_at=utcnow() - timedelta(minutes=5))
    text = admin.get("/admin/export/summary.csv?period=this-year").data.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]
    assert next(c for c in cells if "HYPERLINK" in c).startswith("'=HYPERLINK")
    assert not any(cell[:1] in ("=", "+", "@") for cell in cells)


# Every place that prints markup without escaping, and why it is safe. A new one fails here
# until it is looked at: a translated message with arguments must never be one of them.
ALLOWED_SAFE = {
    # Constant elements passed into the countdown sentences; the sentences are escaped.
    ("templates/public/kiosk_parts.html", """n='<span id="idle-seconds">30</span>'|safe"""),
    ("templates/public/kiosk_parts.html", """n='<span class="countdown-seconds">20</span>'|safe"""),
    # The QR code's SVG from segno: made of paths only, with no text from the request.
    ("templates/posters/poster.html", "qr|safe"),
}


def test_every_unescaped_output_is_known_and_constant():
    found = set()
    for path in Path("templates").rglob("*.html"):
        for match in re.finditer(r"""[\w.]+\|safe|n='[^']*'\|safe|Markup\(""", path.read_text()):
            found.add((str(path), match.group(0)))
    for path in Path("survey").rglob("*.py"):
        if re.search(r"\bMarkup\(|__html__\s*=|\|safe", path.read_text()):
            found.add((str(path), "Markup"))
    assert found == ALLOWED_SAFE
