"""The clients of the fault tests: kiosks on the JSON API and a citizen on the phone pages.

Each kiosk makes a UUID per rating and sends it again, by the same id, until the server
acknowledges it (201 created, 200 duplicate or updated). Every reply is checked: a 503 must
be JSON with Retry-After, a citizen's 503 an HTML page in Vietnamese; never a stack trace,
another 5xx, or a thank-you for a rating that was not stored.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from urllib.parse import urlencode

ACKNOWLEDGED = ("created", "duplicate", "updated")
UNAVAILABLE_VI = "<h1>Hệ thống tạm thời không phục vụ được</h1>"
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)
RETRY_PAUSE = 0.2  # the kiosk honours Retry-After; a fault run retries faster to stress the server


@dataclass
class Tally:
    """What the clients saw, shared by all client threads."""

    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    transport_errors: int = 0
    pending: int = 0
    citizen_sent: int = 0
    citizen_acknowledged: int = 0
    citizen_503: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, **changes) -> None:
        """Apply counter increments and set additions under the lock."""
        with self.lock:
            for name, value in changes.items():
                current = getattr(self, name)
                if isinstance(current, set):
                    current.add(value)
                elif isinstance(current, list):
                    current.append(value)
                elif isinstance(current, Counter):
                    current[value] += 1
                else:
                    setattr(self, name, current + value)


def request(base: str, method: str, path: str, body: bytes | None = None, headers=None):
    """One HTTP request on a fresh loopback connection: (status, headers, text)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, reply.headers, reply.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _json(text: str) -> dict | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def judge_api_reply(status: int, headers, text: str, rid: str) -> str:
    """ "ack", "retry" or "give-up" for a kiosk's reply; a wrong reply is a problem."""
    data = _json(text)
    if status in (200, 201):
        if data and data.get("id") == rid and data.get("status") in ACKNOWLEDGED:
            return "ack"
        raise ValueError(f"{status} without an acknowledgement: {text[:120]!r}")
    if "Traceback" in text:
        raise ValueError(f"{status} shows a stack trace")
    if status == 503:
        if not (data and data.get("errors")) or not str(headers.get("Retry-After", "")).isdigit():
            raise ValueError(f"503 without a JSON error and Retry-After: {text[:120]!r}")
        return "retry"
    if status == 429:
        return "retry"
    raise ValueError(f"unexpected {status}: {text[:120]!r}")


def _rating(rid: str, service: str) -> bytes:
    return json.dumps(
        {
            "id": rid,
            "service": service,
            "captured_at": datetime.now(UTC).isoformat(),
            "locale": "vi",
            "answers": {"OV": 5, "TC1": 4},
        }
    ).encode()


def kiosk_client(base: str, token: str, service: str, stop_at: float, give_up_at: float, tally):
    """Rate until `stop_at`; keep sending an unacknowledged rating until `give_up_at`."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    while time.monotonic() < stop_at:
        rid = str(uuid.uuid4())
        tally.note(sent=rid)
        body = _rating(rid, service)
        while True:
            if time.monotonic() > give_up_at:
                tally.note(pending=1)
                return
            try:
                status, reply_headers, text = request(
                    base, "POST", "/api/v1/responses", body, headers
                )
            except TRANSPORT_ERRORS:
                tally.note(transport_errors=1)
                time.sleep(RETRY_PAUSE)
                continue
            tally.note(statuses=status)
            try:
                verdict = judge_api_reply(status, reply_headers, text, rid)
            except ValueError as problem:
                tally.note(problems=f"kiosk: {problem}")
                if status < 500:
                    break
                verdict = "retry"  # a kiosk keeps what the server failed to take
            if verdict == "ack":
                tally.note(acknowledged=rid)
                break
            time.sleep(RETRY_PAUSE)
        time.sleep(0.1)


class Browser:
    """A phone's browser: one session cookie, no redirects followed."""

    def __init__(self, base: str):
        self.base, self.cookies = base, {}

    def call(self, method: str, path: str, form: dict | None = None):
        """Send a request with this browser's cookies; keep the ones it sets."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, reply_headers, text = request(self.base, method, path, body, headers)
        for raw in reply_headers.get_all("Set-Cookie") or []:
            self.cookies.update({k: m.value for k, m in SimpleCookie(raw).items()})
        return status, reply_headers, text


def judge_citizen_page(status: int, headers, text: str) -> str:
    """ "ack" (303 to the next page), "retry" (a 503 page) or a problem (ValueError)."""
    if "Traceback" in text:
        raise ValueError(f"{status} shows a stack trace")
    if status == 303 and "/more" in headers.get("Location", ""):
        return "ack"
    if status == 503:
        main = text.split('<main id="main"', 1)[-1].split("</main>", 1)[0]
        if UNAVAILABLE_VI not in main or "Cảm ơn" in main:
            raise ValueError("a 503 without the Vietnamese outage page")
        if not str(headers.get("Retry-After", "")).isdigit():
            raise ValueError("a 503 page without Retry-After")
        return "retry"
    if status == 429:
        return "give-up"
    raise ValueError(f"citizen: unexpected {status}")


def _citizen_form(browser: Browser, service: str) -> dict | None:
    try:
        status, _headers, page = browser.call("GET", f"/vi/s/{service}?via=qr")
    except TRANSPORT_ERRORS:
        return None
    if status != 200:
        return None
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    rid = re.search(r'name="rid" value="([^"]+)"', page)
    if not (csrf and rid):
        return None
    return {"csrf_token": csrf.group(1), "rid": rid.group(1), "via": "qr", "OV": "4"}


def citizen_client(base: str, service: str, stop_at: float, give_up_at: float, tally) -> None:
    """A phone rating every two seconds, sent again (same rid, same session) after a 503."""
    while time.monotonic() < stop_at:
        browser = Browser(base)
        form = _citizen_form(browser, service)
        if form is None:
            time.sleep(RETRY_PAUSE)
            continue
        tally.note(citizen_sent=1, sent=form["rid"])
        while time.monotonic() < give_up_at:
            try:
                verdict = judge_citizen_page(*browser.call("POST", f"/vi/s/{service}", form))
            except ValueError as problem:
                tally.note(problems=f"citizen: {problem}")
                break
            except TRANSPORT_ERRORS:
                verdict = "transport"
            if verdict == "ack":
                tally.note(citizen_acknowledged=1, acknowledged=form["rid"])
                break
            if verdict == "give-up":
                break
            tally.note(citizen_503=1 if verdict == "retry" else 0)
            time.sleep(RETRY_PAUSE)
        else:
            tally.note(pending=1)
        time.sleep(2)
