"""Screenshots of every page, in each language and viewport, for people to review.

`survey screens --out DIR` builds a throw-away instance (SQLite in a temporary folder, the demo
catalogue, demo ratings, an administrator and a kiosk), serves it on a free local port and
walks Chromium through the tours below. The accessibility tests walk the same tours.
Needs Playwright (`pip install -e '.[test]'`) and Chromium (`/usr/bin/chromium`): tooling, so
the app never imports this module; only the `survey screens` command does, when it runs.
"""

from __future__ import annotations

import html
import logging
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from survey import accounts, create_app, demo, first_run, kiosks

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORTS = {"phone": (360, 640), "kiosk": (1080, 1920), "desktop": (1366, 768)}
LANGS = ("vi", "en", "km")


def citizen_tour(page, base: str, lang: str) -> Iterator[str]:
    """The citizen pages, in every state: yields a name once the page is ready."""
    page.goto(f"{base}/{lang}/")
    yield "services"
    page.goto(f"{base}/{lang}/?q=khai")
    yield "search"
    page.goto(f"{base}/{lang}/?q=zzzz")
    yield "search without result"
    page.goto(f"{base}/{lang}/s/HT-KHAISINH")
    yield "overall question"
    page.click("button[type=submit]")
    expect(page.locator(".error-summary")).to_be_focused()
    yield "overall question with error"
    page.click("label[for=OV-1]")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/more$"))
    yield "recorded, more?"
    page.click("a.button")
    expect(page).to_have_url(re.compile("/tc$"))
    yield "element page"
    page.evaluate("document.getElementById('TC1-1').value = '9'")
    page.click("label[for=TC1-1]")
    page.click("button[type=submit]")
    expect(page.locator(".error-summary")).to_be_focused()
    yield "element page with error"
    for _ in range(5):
        page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/expectations$"))
    yield "expectations"
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/comment$"))
    yield "comment"
    page.fill("textarea", "ý" * 1300)
    page.click("button[type=submit]")
    expect(page.locator(".error-summary")).to_be_focused()
    yield "comment with error"
    page.fill("textarea", "Cảm ơn")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/about-you$"))
    yield "about you (optional)"
    page.evaluate("document.getElementById('gender-1').value = 'robot'")
    page.click("label[for=gender-1]")
    page.click("button[value=save]")
    expect(page.locator(".error-summary")).to_be_focused()
    yield "about you with error"
    page.click("label[for=gender-2]")
    page.click("button[value=save]")
    expect(page).to_have_url(re.compile("/call-back$"))  # a comment: the call-back offer
    yield "call-back offer"
    page.fill("#phone-1", "0912 345 678")
    page.click("main button[type=submit]")  # the consent box left unticked
    expect(page.locator(".error-summary")).to_be_focused()
    yield "call-back without consent"
    page.click("main a.button.secondary")  # "No, thank you"
    expect(page).to_have_url(re.compile("/thank-you$"))
    yield "thank-you"
    page.click(".site-footer a")
    expect(page).to_have_url(re.compile(f"/{lang}/privacy$"))
    yield "privacy notice"
    page.goto(f"{base}/{lang}/no-such-page")
    yield "not found"


def kiosk_tour(page, base: str, lang: str) -> Iterator[str]:
    """The kiosk pages of an activated kiosk whose clock Playwright controls."""
    page.goto(f"{base}/k/")
    yield "kiosk attract"
    page.goto(f"{base}/k/{lang}/")
    yield "kiosk services"
    page.click(".site-footer a")
    expect(page).to_have_url(re.compile(f"/k/{lang}/privacy$"))
    yield "kiosk privacy notice"
    page.goto(f"{base}/k/{lang}/s/HT-KHAISINH")
    yield "kiosk overall question"
    page.clock.run_for(61_000)
    expect(page.locator("#idle-dialog")).to_be_visible()
    yield "kiosk idle dialog"
    page.click("#idle-continue")
    page.click("#OV-1")  # a face tile: one tap sends the rating
    expect(page).to_have_url(re.compile("/more$"))
    yield "kiosk recorded, more?"
    page.click("form[data-step=finish] button")
    expect(page).to_have_url(re.compile("/thank-you$"))
    yield "kiosk thank-you"


def manager_tour(page, base: str, lang: str, *, email: str, password: str) -> Iterator[str]:
    """The manager pages: sign-in with two-step set-up (for an administrator who has none yet),
    the dashboard with and without data, administration, then a sign-in with a code."""
    page.goto(f"{base}/admin/language/{lang}?next=/admin/login")
    yield "sign-in"
    page.click("button[type=submit]")
    yield "sign-in with errors"
    _sign_in(page, email, password)
    # Not wait_for_function: its polling evaluates a string, which the page's CSP refuses.
    page.locator("img.qr-enrol").evaluate(
        "img => img.complete || new Promise(done => img.addEventListener('load', done))"
    )
    yield "two-step set-up"
    page.fill("#code", "000000")
    page.click("main button[type=submit]")
    yield "two-step set-up with error"
    key = page.inner_text("#totp-key").replace(" ", "")
    page.fill("#code", pyotp.TOTP(key).now())
    page.click("main button[type=submit]")
    yield "recovery codes"
    codes = page.locator(".recovery-codes code").all_inner_texts()
    page.goto(f"{base}/admin/?period=last-year")
    yield "dashboard with data"
    page.goto(f"{base}/admin/?period=custom&from=2001-01-01&to=2001-01-31")
    yield "dashboard without data"
    page.goto(f"{base}/admin/?period=custom&from=2025-13-01&to=2025-01-01")
    yield "dashboard with error"
    for path, state in (
        ("/admin/report?period=last-year", "printed report"),
        ("/admin/qr", "exports: QR posters"),
        ("/admin/users", "users"),
        ("/admin/tokens", "tokens"),
        ("/admin/kiosks", "kiosks"),
        ("/admin/kiosks/new", "kiosk registration"),
        ("/admin/catalogue", "catalogue"),
        ("/admin/catalogue/service/new", "catalogue: new procedure"),
        ("/admin/paper", "paper forms: typing"),
        ("/admin/paper/import", "paper forms: import"),
        ("/admin/paper/print", "paper forms: printing"),
        ("/admin/planning", "planning"),
        ("/admin/flags", "suspect ratings"),
        ("/admin/topics", "topic keywords"),
        ("/admin/audit", "audit log"),
        ("/admin/account", "account"),
        ("/admin/password", "password"),
    ):
        page.goto(base + path)
        yield state
    yield from _second_sign_in(page, email, password, codes[0])


def _sign_in(page, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")


def _second_sign_in(page, email: str, password: str, code: str) -> Iterator[str]:
    """Sign out, sign in again: the code prompt, a wrong code, then a recovery code."""
    page.click(".logout button")
    _sign_in(page, email, password)
    yield "two-step code"
    page.fill("#code", "000000")
    page.click("main button[type=submit]")
    yield "two-step code with error"
    page.fill("#code", code)
    page.click("main button[type=submit]")
    expect(page.locator(".logout button")).to_be_visible()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _demo_server(folder: Path) -> tuple[str, list[str], str, str]:
    """Serve a throw-away demo instance; return its URL, administrators' e-mails (one per
    manager tour, each without two-step sign-in yet), their password and a kiosk token."""
    os.environ["SURVEY_INSTANCE_PATH"] = str(folder)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'screens.db'}"})
    password = secrets.token_urlsafe(12)
    with app.app_context():
        first_run.prepare()
        demo.seed_responses(3000, seed=5, now=datetime.now(UTC))
        emails = [f"screens-{n}@localhost" for n in range(2 * len(LANGS))]
        for email in emails:
            accounts.create_user(email, role="admin", password=password)
        token = kiosks.create_kiosk(
            unit=demo.first_commune_code(), counter=None, name="Kiosk", actor="screens"
        )[1]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", emails, password, token


def _activate(page, link: str, shot: Path | None) -> list[Path]:
    """Open the activation link, screenshot its confirmation page if asked, and confirm."""
    page.clock.install()
    page.goto(link)
    if shot is not None:
        page.screenshot(path=str(shot), full_page=True)
    page.locator("main button[type=submit]").click()
    return [shot] if shot is not None else []


def take_screenshots(out: Path, *, chromium: str = "/usr/bin/chromium") -> list[Path]:
    """Save a full-page screenshot of every state of every page; return the files."""
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        base, emails, password, token = _demo_server(Path(folder))
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        plans = [
            ("phone", citizen_tour, {}),
            ("desktop", citizen_tour, {}),
            ("kiosk", kiosk_tour, {}),
            ("desktop", manager_tour, {"password": password}),
            ("phone", manager_tour, {"password": password}),
        ]
        for viewport, tour, extra in plans:
            for lang in LANGS:
                width, height = VIEWPORTS[viewport]
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                if tour is manager_tour:
                    extra = {**extra, "email": emails.pop()}
                if tour is kiosk_tour:
                    shot = out / f"{viewport}-activate.png" if lang == LANGS[0] else None
                    shots += _activate(page, f"{base}/k/activate?token={token}", shot)
                for number, state in enumerate(tour(page, base, lang, **extra), start=1):
                    path = (
                        out / f"{viewport}-{lang}-{tour.__name__[:-5]}-{number:02d}-"
                        f"{_slug(state)}.png"
                    )
                    page.screenshot(path=str(path), full_page=True)
                    shots.append(path)
                context.close()
        browser.close()
    _contact_sheet(out, shots)
    return shots


def _contact_sheet(out: Path, shots: list[Path]) -> None:
    """An index.html showing every screenshot small, each linked to the full image."""
    items = "\n".join(
        f'<figure><a href="{html.escape(p.name)}"><img src="{html.escape(p.name)}"'
        f' alt="" loading="lazy"></a><figcaption>{html.escape(p.stem)}'
        "</figcaption></figure>"
        for p in shots
    )
    (out / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>Screens</title><style>body{font:14px sans-"
        "serif;display:flex;flex-wrap:wrap;gap:12px}figure{width:220px;margin:0}img{width:220"
        "px;max-height:400px;object-fit:cover;object-position:top;border:1px solid #999}"
        f"</style>{items}",
        encoding="utf-8",
    )
