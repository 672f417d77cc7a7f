"""`survey serve` for real: first-run setup, gunicorn, and no state shared between requests."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests import servers
from tests.test_migration_0004 import empty_database  # noqa: F401  (the fixture)


@pytest.fixture
def served(tmp_path):
    server = servers.serve(tmp_path)
    yield server.base, server.process
    server.stop()


def _browser():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))


def test_serve_sets_up_and_keeps_requests_apart(served):
    base, process = served
    first, second = _browser(), _browser()
    page = first.open(base + "/admin/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    # A Khmer visitor and then a Vietnamese one: each sees their own language.
    assert '<html lang="km">' in second.open(base + "/km/").read().decode()
    assert '<html lang="vi">' in first.open(base + "/vi/").read().decode()
    # The first browser's form still works (its session cookie was set and kept).
    with pytest.raises(urllib.error.HTTPError) as refused:
        first.open(
            base + "/admin/login",
            data=f"csrf_token={token}&email=x%40y.vn&password=wrong-password".encode(),
        )
    body = refused.value.read().decode()
    assert refused.value.code == 400 and "Trang đã hết hạn" not in body
    assert "Địa chỉ thư điện tử hoặc mật khẩu không đúng" in body
    with pytest.raises(urllib.error.HTTPError):  # an activation link: its token is a secret
        second.open(base + "/k/activate?token=kd_SECRET-IN-THE-LINK")
    process.terminate()
    output = process.communicate(timeout=10)[0]
    assert "GET /k/activate?{query} HTTP/1.1" in output and "SECRET-IN-THE-LINK" not in output
    assert "One-time password (shown only now):" in output
    assert "Listening at: " + base in output


def test_a_clients_forwarded_headers_count_for_nothing_unless_configured(served):
    """gunicorn would take X-Forwarded-Proto from any client on 127.0.0.1: here only the
    SURVEY_PROXY_FIX_* settings (unset) decide, so a client cannot claim HTTPS."""
    base, _process = served
    request = urllib.request.Request(
        base + "/vi/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    )
    reply = urllib.request.urlopen(request, timeout=10)
    assert reply.status == 200
    assert "Strict-Transport-Security" not in reply.headers
    assert all("Secure" not in c for c in reply.headers.get_all("Set-Cookie"))


def _open_transactions(url: str) -> list[str]:
    """What holds a transaction open in the database at `url`, waiting for its client: on
    PostgreSQL the sessions "idle in transaction" (their last statement each); on SQLite a
    reader that keeps a checkpoint from emptying the write-ahead log."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                query = text(
                    "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%'"
                )
                return list(conn.execute(query).scalars())
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()[0]
            return ["a reader of the write-ahead log"] if busy else []
    finally:
        engine.dispose()


def test_a_running_server_holds_no_transaction_open(tmp_path, empty_database):  # noqa: F811
    """Between requests no process of the server (master or worker) keeps a transaction open:
    one would hold back VACUUM on every table, and the locks of what it read, for as long as
    the server runs."""
    server = servers.serve(tmp_path, workers=2, SURVEY_DATABASE_URL=empty_database)
    try:
        for path in ("/vi/", "/km/", "/healthz"):
            assert urllib.request.urlopen(server.base + path, timeout=10).status == 200
        deadline, found = time.monotonic() + 5, None
        while found != [] and time.monotonic() < deadline:  # a request may still be ending
            found = _open_transactions(empty_database)
            time.sleep(0.2)
        assert found == []
    finally:
        server.stop()
