"""The kiosk in real Chromium: idle reset, offline queue, server errors, revocation.

Time is the browser's (Playwright's clock), the network is the browser context's offline
switch and request routing: nothing waits for real minutes.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from survey import kiosks, rollups
from survey.extensions import db
from survey.models import KioskDevice, Response

QUEUED = "() => window.kioskQueue.all('outbox').then(items => items.length)"
STORAGE = "() => localStorage.length + sessionStorage.length"


@pytest.fixture
def kiosk(app, browser, live_server):
    with app.app_context():
        _device, token = kiosks.create_kiosk(
            unit="XA1", counter="XA1-Q01", name="Sảnh", actor="test"
        )
    context = browser.new_context(viewport={"width": 1080, "height": 1920})
    page = context.new_page()
    page.clock.install()
    page.goto(f"{live_server}/k/activate?token={token}")
    page.locator("main button[type=submit]").click()  # the confirmation page
    expect(page.locator(".start-tile")).to_have_count(3)  # the start screen
    yield page
    context.close()


def responses(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def settled(page) -> None:
    """Wait until the page's kiosk script has started (its timers exist): only then may a test
    move the browser's clock, or the timers would start after the jump."""
    page.wait_for_function("() => window.kioskQueue !== undefined")


def open_overall(page, live_server):
    page.goto(f"{live_server}/k/vi/s/HT-KHAISINH")
    expect(page.locator("legend")).to_contain_text("Nhìn chung")
    settled(page)


def test_idle_dialog_continue_restores_the_page(kiosk, live_server):
    page = kiosk
    open_overall(page, live_server)
    page.click("#OV-2")  # a face tile: one tap sends
    expect(page).to_have_url(re.compile("/more$"))
    page.click(".actions a.button")  # the detailed survey
    expect(page).to_have_url(re.compile("/tc$"))
    page.click("label[for=TC1-2]")
    settled(page)
    page.clock.fast_forward("00:59")
    expect(page.locator("#idle-dialog")).not_to_be_visible()
    page.clock.fast_forward("00:02")
    expect(page.locator("#idle-dialog")).to_be_visible()
    expect(page.locator("#idle-title")).to_have_text("Ông/Bà vẫn đang đánh giá?")
    page.clock.run_for(10_000)
    seconds = int(page.locator("#idle-seconds").inner_text())
    assert 15 <= seconds <= 20  # counting down, visibly
    page.click("#idle-continue")
    expect(page.locator("#idle-dialog")).not_to_be_visible()
    expect(page.locator("#TC1-2")).to_be_checked()  # the page is as it was
    assert page.url.endswith("/tc")


def test_no_answer_returns_to_the_attract_screen_with_nothing_kept(app, kiosk, live_server):
    page = kiosk
    open_overall(page, live_server)
    page.click("#OV-1")  # a face tile: one tap sends
    expect(page).to_have_url(re.compile("/more$"))
    page.click("a.button")  # the detailed survey
    page.click("label[for=TC1-1]")
    settled(page)
    page.clock.run_for(61_000)
    expect(page.locator("#idle-dialog")).to_be_visible()
    page.clock.run_for(31_000)
    expect(page).to_have_url(re.compile("/k/$"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    assert page.evaluate(STORAGE) == 0
    assert page.locator("input:checked").count() == 0
    page.go_back()  # the back button shows no earlier answers
    assert page.locator("input:checked").count() == 0
    assert responses(app) == 1  # the first tap was stored (partial) before the reset


def test_offline_rating_is_queued_then_sent_once(app, kiosk, live_server):
    page = kiosk
    open_overall(page, live_server)
    page.evaluate("() => navigator.serviceWorker.ready")
    page.context.set_offline(True)
    page.click("#OV-1")  # a face tile: one tap sends
    expect(page.locator("h1")).to_have_text("Cảm ơn Ông/Bà")
    assert page.evaluate(QUEUED) == 1 and responses(app) == 0
    _sync(page)
    assert responses(app) == 1
    with app.app_context():
        stored = db.session.scalar(select(Response))
        assert (stored.channel, stored.counter.code, stored.status) == (
            "kiosk",
            "XA1-Q01",
            "partial",
        )


def _sync(page) -> None:
    page.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.clock.run_for(2000)
    for _ in range(50):
        if page.evaluate(QUEUED) == 0:
            break
        page.clock.run_for(1000)
    assert page.evaluate(QUEUED) == 0


def _to_comment(page, live_server) -> None:
    open_overall(page, live_server)
    page.click("#OV-2")  # a face tile: one tap sends
    expect(page).to_have_url(re.compile("/more$"))
    page.click("a.button")
    for step in ("tc", "tt", "cc", "kq", "pa", "expectations"):
        expect(page).to_have_url(re.compile(f"/{step}$"))
        page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/comment$"))
    settled(page)


def test_offline_at_the_comment_the_profile_travels_with_the_queued_rating(app, kiosk, live_server):
    page = kiosk
    _to_comment(page, live_server)
    page.evaluate("() => navigator.serviceWorker.ready")
    page.context.set_offline(True)
    page.fill("textarea", "Tốt")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Thông tin về Ông/Bà")  # asked on the spot
    page.click("label[for=ethnicity-2]")
    page.click("button[value=save]")
    expect(page.locator("h1")).to_have_text("Cảm ơn Ông/Bà")
    assert page.evaluate(QUEUED) == 1
    _sync(page)
    with app.app_context():
        stored = db.session.scalar(select(Response))
        assert (stored.status, stored.comment, stored.profile) == (
            "complete",
            "Tốt",
            {"ethnicity": "khmer"},
        )


def test_offline_on_the_profile_page_the_profile_is_queued_alone(app, kiosk, live_server):
    page = kiosk
    _to_comment(page, live_server)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/about-you$"))
    settled(page)
    page.evaluate("() => navigator.serviceWorker.ready")
    page.context.set_offline(True)
    page.click("label[for=gender-1]")
    page.click("button[value=save]")
    expect(page.locator("h1")).to_have_text("Cảm ơn Ông/Bà")
    assert page.evaluate(QUEUED) == 1
    _sync(page)
    with app.app_context():
        assert db.session.scalar(select(Response.profile)) == {"gender": "male"}
        assert rollups.stored() == rollups.recompute()


def test_a_server_error_during_sync_keeps_the_item(app, kiosk, live_server):
    page = kiosk
    open_overall(page, live_server)
    page.context.set_offline(True)
    page.click("#OV-3")  # a face tile: one tap sends
    expect(page.locator("h1")).to_have_text("Cảm ơn Ông/Bà")
    page.route("**/api/v1/responses/batch", lambda route: route.fulfill(status=503, body="{}"))
    page.context.set_offline(False)
    page.evaluate("() => window.kioskQueue.sync()")
    assert page.evaluate(QUEUED) == 1 and responses(app) == 0
    expect(page.locator("#kiosk-status")).to_contain_text("1")
    page.unroute("**/api/v1/responses/batch")
    page.evaluate("() => window.kioskQueue.sync()")
    assert page.evaluate(QUEUED) == 0 and responses(app) == 1


def test_a_revoked_kiosk_is_refused_and_keeps_its_queue(app, kiosk, live_server):
    page = kiosk
    open_overall(page, live_server)
    page.context.set_offline(True)
    page.click("#OV-1")  # a face tile: one tap sends
    expect(page.locator("h1")).to_have_text("Cảm ơn Ông/Bà")
    with app.app_context():
        kiosks.revoke_kiosk(db.session.scalar(select(KioskDevice)), actor="test")
    page.context.set_offline(False)
    page.evaluate("() => window.kioskQueue.sync()")
    assert page.evaluate(QUEUED) == 1 and responses(app) == 0
    expect(page.locator("#kiosk-status")).to_contain_text("1")
    reply = page.request.get(f"{live_server}/k/vi/")
    assert reply.status == 401


def test_the_kiosk_never_reaches_the_manager_pages(kiosk, live_server):
    assert kiosk.request.get(f"{live_server}/admin/").status == 404
    assert kiosk.request.get(f"{live_server}/admin/login").status == 404


def test_thank_you_returns_to_the_start_by_itself(kiosk, live_server):
    page = kiosk
    open_overall(page, live_server)
    page.click("#OV-1")  # a face tile: one tap sends
    expect(page).to_have_url(re.compile("/more$"))
    page.click("form[data-step=finish] button")
    expect(page).to_have_url(re.compile("/thank-you$"))
    settled(page)
    page.clock.run_for(21_000)
    expect(page).to_have_url(re.compile("/k/$"))


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)])
def test_the_activation_page_asks_first_at_kiosk_size(app, browser, live_server, shoot, size):
    from tests.browser.test_accessibility import axe_violations, small_targets

    with app.app_context():
        _device, token = kiosks.create_kiosk(unit="XA1", counter=None, name="Sảnh B", actor="t")
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(f"{live_server}/k/activate?token={token}")
    expect(page.locator("h1")).to_have_text("Kích hoạt ki-ốt này")
    assert context.cookies() == [] or all(c["name"] != "kiosk_device" for c in context.cookies())
    shoot(page, f"kiosk-activate-{size[0]}x{size[1]}")
    assert axe_violations(page) == []
    assert small_targets(page, "main button", 48, 48) == []
    assert page.locator("#kiosk-status, dialog").count() == 0  # no kiosk script before activation
    page.locator("main button[type=submit]").click()
    expect(page.locator(".start-tile")).to_have_count(3)
    assert any(c["name"] == "kiosk_device" for c in context.cookies())
    context.close()


# --- Sync answers: every item settles; refused ones go aside; retries back off (issue 8) ---

DEAD = "() => window.kioskQueue.all('deadletter').then(items => items.length)"
BATCH_URL = "**/api/v1/responses/batch"


def queue_one(page, live_server, handler) -> None:
    """Rate once while the network is down; bring it back with `handler` answering the batch."""
    open_overall(page, live_server)
    page.context.set_offline(True)
    page.click("#OV-3")  # a face tile: one tap sends
    expect(page.locator("h1")).to_have_text("Cảm ơn Ông/Bà")
    page.route(BATCH_URL, handler)
    page.context.set_offline(False)
    page.evaluate("() => window.kioskQueue.sync()")  # (joins the sync "online" started)


def answering(calls: list, status: int, body: dict, headers: dict | None = None):
    """A route handler that counts the batch calls and gives them all the same answer."""

    def handle(route):
        calls.append(route.request.post_data_json)
        route.fulfill(
            status=status,
            json=body,
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    return handle


def minutes(page, n: int) -> None:
    """Let the kiosk's clock run `n` minutes, a second at a time, so replies are handled."""
    for _ in range(n * 60):
        page.clock.run_for(1000)


def test_an_item_the_server_cannot_store_goes_to_the_dead_letter_list(app, kiosk, live_server):
    page, calls = kiosk, []
    # What the server used to answer for an item it could not store: before, the kiosk sent it
    # again every 500 ms for ever.
    queue_one(page, live_server, answering(calls, 200, {"results": [{"status": "error"}]}))
    minutes(page, 5)
    assert len(calls) == 1
    assert page.evaluate(QUEUED) == 0 and page.evaluate(DEAD) == 1
    expect(page.locator("#kiosk-status")).to_contain_text("1")  # staff can see it waits aside


def test_a_batch_refused_whole_sends_its_item_to_the_dead_letter_list(app, kiosk, live_server):
    page, calls = kiosk, []
    refusal = {"errors": [{"field": "responses", "message": "Gửi từ 1 đến 50 phiếu."}]}
    queue_one(page, live_server, answering(calls, 422, refusal))
    minutes(page, 2)
    assert len(calls) == 1 and page.evaluate(QUEUED) == 0
    errors = page.evaluate("() => window.kioskQueue.all('deadletter').then(i => i[0].errors)")
    assert errors == refusal["errors"]
    assert responses(app) == 0


def test_server_errors_are_retried_with_a_growing_delay(app, kiosk, live_server):
    page, calls = kiosk, []
    queue_one(page, live_server, answering(calls, 500, {"errors": [{"message": "x"}]}))
    minutes(page, 10)
    # 10 s, 20 s, 40 s … capped at 5 min: a handful of calls in ten minutes (the browser's
    # clock also runs on by itself a little), where a retry every 500 ms would make 1,200.
    assert 3 <= len(calls) <= 9
    assert page.evaluate(QUEUED) == 1 and page.evaluate(DEAD) == 0
    page.unroute(BATCH_URL)
    minutes(page, 6)  # the next try (at most 5 min away) goes through
    assert page.evaluate(QUEUED) == 0 and responses(app) == 1


def test_a_503_with_retry_after_is_waited_for(app, kiosk, live_server):
    page, calls = kiosk, []
    busy = {"errors": [{"field": None, "message": "x"}]}
    queue_one(page, live_server, answering(calls, 503, busy, {"Retry-After": "120"}))
    wait_for_calls(page, calls, 1)
    page.wait_for_timeout(500)  # the "online" sync and queue_one's may both have gone: 1 or 2
    first = len(calls)
    for _ in range(115):
        page.clock.run_for(1000)
    assert len(calls) == first  # not before the two minutes the server asked for
    for _ in range(10):
        page.clock.run_for(1000)
    wait_for_calls(page, calls, first + 1)
    assert len(calls) == first + 1 and page.evaluate(QUEUED) == 1


def wait_for_calls(page, calls: list, n: int) -> None:
    """Up to 5 s of real time for the n-th batch call to reach its route."""
    for _ in range(50):
        if len(calls) >= n:
            return
        page.wait_for_timeout(100)


def test_the_service_worker_keeps_the_fingerprinted_assets(kiosk, live_server):
    page = kiosk
    page.evaluate("() => navigator.serviceWorker.ready")
    kept = page.evaluate(
        "() => caches.open('kiosk-v1').then(c => c.keys()).then(k => k.map(r => r.url))"
    )
    linked = re.search(r'href="(/static/survey\.[0-9a-f]{10}\.css)"', page.content())[1]
    assert f"{live_server}{linked}" in kept and f"{live_server}/static/survey.css" in kept
