"""Logs never tie a citizen to a rating: no address, no user agent, no response id, visit code
or token, in the access log of a real `survey serve`, in gunicorn's own lines or in the app's."""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from http.cookiejar import CookieJar
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from sqlalchemy import text

from survey import logs
from survey.extensions import db
from tests import servers

RID = "5f0c7e0e-3a57-4c1e-9d0b-6a1f2b3c4d5e"
AGENT = "Mozilla/5.0 (Linux; Android 9; CitizenPhone-7731)"
PORTS = range(18800, 18850)


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (f"/vi/r/{RID}/more", "/vi/r/{rid}/more"),
        (f"/km/r/{RID}/tc", "/km/r/{rid}/tc"),
        (f"/k/en/r/{RID}/thank-you", "/k/en/r/{rid}/thank-you"),
        ("/v/ABCDEFGHJKMN-PQRSTV", "/v/{code}"),
        ("/k/v/ABCDEFGHJKMN-PQRSTV", "/k/v/{code}"),
        ("/vi/s/HT-KHAISINH", "/vi/s/HT-KHAISINH"),
        ("/admin/users/7", "/admin/users/7"),
        ("/vi/r/x/%0Aforged line", "/vi/r/{rid}/{step}"),
        ("/vi/ABCDEFGHJKMN-PQRSTV", "/vi/{?}"),
    ],
)
def test_paths_are_logged_with_placeholders(app, path, logged):
    assert logs.redact_path(app.url_map, path) == logged


def _access_line(app, tmp_path, environ: dict) -> str:
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", logs.ACCESS_FORMAT)
    logger = logs.logger_for(app.url_map)(cfg)
    response = SimpleNamespace(status="303 See Other", sent=0, headers=[("Location", "/x")])
    request = SimpleNamespace(headers=[("USER-AGENT", AGENT), ("COOKIE", "session=abc")])
    logger.access(response, request, environ, timedelta(milliseconds=12))
    return (tmp_path / "access.log").read_text()


def test_access_line_holds_no_address_agent_or_secret(app, tmp_path):
    line = _access_line(
        app,
        tmp_path,
        {
            "REQUEST_METHOD": "POST",
            "RAW_URI": f"/vi/r/{RID}/tc?token=kd_SECRET",
            "PATH_INFO": f"/vi/r/{RID}/tc",
            "QUERY_STRING": "token=kd_SECRET",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "203.0.113.77",
            "HTTP_USER_AGENT": AGENT,
            "HTTP_REFERER": f"http://x/vi/r/{RID}/tt",
        },
    )
    assert '"POST /vi/r/{rid}/tc?{query} HTTP/1.1" 303' in line
    for secret in (RID, "kd_SECRET", "203.0.113.77", "CitizenPhone", "session=abc"):
        assert secret not in line


def test_an_operator_format_asking_for_address_or_agent_gets_dashes(app, tmp_path):
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", '%(h)s "%(a)s" "%(f)s" %(q)s %({user-agent}i)s %(U)s')
    logger = logs.logger_for(app.url_map)(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/v/ABCDEFGHJKMN-PQRSTV",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.77",
        "HTTP_USER_AGENT": AGENT,
        "RAW_URI": "/v/ABCDEFGHJKMN-PQRSTV",
    }
    request = SimpleNamespace(headers=[("USER-AGENT", AGENT)])
    response = SimpleNamespace(status="302 Found", sent=0, headers=[])
    logger.access(response, request, environ, timedelta(0))
    assert (tmp_path / "access.log").read_text().strip() == '- "-" "-" - - /v/{code}'


def test_gunicorn_request_errors_name_no_uri_or_address(app, caplog):
    logger = logs.logger_for(app.url_map)(Config())
    logger.error_log.propagate = True
    with caplog.at_level(logging.WARNING, logger="gunicorn.error"):
        try:
            raise RuntimeError("socket closed")
        except RuntimeError:
            logger.exception("Error handling request %s %s", "GET", f"/vi/r/{RID}/more?x=1")
        logger.warning("Invalid request from ip=203.0.113.77: Invalid Request Line 'GET /v/X'")
    assert "/vi/r/{rid}/more" in caplog.text and "Invalid request refused" in caplog.text
    for secret in (RID, "x=1", "203.0.113.77", "/v/X"):
        assert secret not in caplog.text


def test_app_error_log_redacts_the_path(app, client, caplog):
    def broken(lang: str, rid: str):
        raise RuntimeError("a fault")

    app.add_url_rule("/<lang:lang>/r/<rid>/broken", "broken", broken)
    with caplog.at_level(logging.ERROR):
        assert client.get(f"/vi/r/{RID}/broken?visit=SECRET").status_code == 500
    assert "unhandled error on GET /vi/r/{rid}/broken" in caplog.text
    assert RID not in caplog.text and "SECRET" not in caplog.text


def test_database_errors_carry_no_parameters(app):
    with app.app_context():
        with pytest.raises(Exception) as failed:
            db.session.execute(text("SELECT * FROM no_such_table WHERE x = :p"), {"p": "0909123"})
        db.session.rollback()
    assert "0909123" not in str(failed.value)


@pytest.fixture
def served(tmp_path):
    server = servers.serve(tmp_path, ports=PORTS)
    yield server.base, server.process, server.env
    server.stop()


def test_served_access_log_ties_no_citizen_to_a_rating(served):
    base, process, env = served
    visit_url = servers.cli("visit-codes", "mint", "--service", "HT-KETHON", env=env).stdout.strip()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    browser.addheaders = [("User-Agent", AGENT), ("Referer", base + "/vi/?q=from-referrer")]
    page = browser.open(base + "/vi/s/HT-KHAISINH?via=qr").read().decode()
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    rid = hidden["rid"]
    form = urllib.parse.urlencode({**hidden, "OV": "5"}).encode()
    after = browser.open(base + "/vi/s/HT-KHAISINH", data=form)
    assert after.url.endswith(f"/vi/r/{rid}/more")
    code = visit_url.rsplit("/", 1)[1]
    assert browser.open(visit_url).url.endswith("/vi/s/HT-KETHON?via=qr")
    with pytest.raises(urllib.error.HTTPError):
        browser.open(base + "/k/activate?token=kd_SECRET-IN-THE-LINK")
    process.terminate()
    output = process.communicate(timeout=10)[0]
    access = [line for line in output.splitlines() if '" 30' in line or '" 20' in line]
    assert any('"POST /vi/s/HT-KHAISINH HTTP/1.1" 303' in line for line in access), output
    assert any('"GET /vi/r/{rid}/more HTTP/1.1" 200' in line for line in access), output
    assert any('"GET /v/{code} HTTP/1.1" 302' in line for line in access), output
    assert '"GET /k/activate?{query} HTTP/1.1" 401' in output
    for secret in (rid, code, "kd_SECRET", "CitizenPhone", "from-referrer", "127.0.0.1 -"):
        assert secret not in output
    assert not any("127.0.0.1" in line for line in access)
