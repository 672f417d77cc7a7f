"""Abuse control that fits a centre: every kiosk and phone shares one public address.

Kiosk limits are keyed by the device credential; a phone's by its browser session and, for
what is *counted*, by its address. Suspect ratings are kept, flagged, left out of the index
and listed for a manager to confirm or clear (/admin/flags). The reasons:

- burst: a kiosk rating seconds after the previous one, by capture or by receive time;
- streak: a long run of identical answers from one kiosk;
- fast: a phone rating sent sooner than a citizen can read the question (signed fill time);
- address: past the number of phone ratings one address may have counted for a service;
- surge: past 3x the usual busiest hour of a service or counter (and 20 more).

Counters live in the shared store (tally.py), so they hold across workers and servers.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app, g, request, session
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse
from sqlalchemy import select

from survey import kiosks, tally
from survey.extensions import db, limiter
from survey.i18n import lazy_text as _l
from survey.models import Answer, Response, utcnow

BURST = timedelta(seconds=5)  # no citizen finishes the kiosk journey faster
STREAK_LENGTH = 8  # this many identical ratings in a row from one kiosk ...
STREAK_WINDOW = timedelta(minutes=15)  # ... within this time
KIOSK_COOKIE = "kiosk_device"
PHONE_CHANNELS = ("qr", "web")
HOUR = 3600
BASELINE_DAYS = 30
REASONS = {
    "burst": _l("Seconds after the previous rating"),
    "streak": _l("Streak of identical answers"),
    "fast": _l("Sent sooner than the question can be read"),
    "address": _l("Too many ratings counted from one address"),
    "surge": _l("Far more ratings than usual in this hour"),
}


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer …` header, parsed once by Werkzeug."""
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        return None
    return auth.token.strip() or None


def rate_key() -> str:
    """The rate-limit key of a request: the device, else the visit code, else the browser."""
    credential = bearer_token() or request.cookies.get(KIOSK_COOKIE)
    if credential:
        return "device:" + hashlib.sha256(credential.encode()).hexdigest()[:16]
    if session.get("visit"):
        return "visit:" + session["visit"][:16]
    if "browser" not in session:
        session["browser"] = secrets.token_hex(8)
    return "browser:" + session["browser"]


def current_kiosk():
    """The kiosk device of this request (cookie or bearer token), cached on g."""
    if "kiosk" not in g:
        token = bearer_token() or request.cookies.get(KIOSK_COOKIE)
        g.kiosk = kiosks.device_for_token(token) if token else None
    return g.kiosk


def now() -> datetime:
    """The clock of the limits: the server's, moved by SURVEY_BENCH_CLOCK_FILE in a bench."""
    moment = utcnow()
    offset_file = current_app.config.get("SURVEY_BENCH_CLOCK_FILE")
    if offset_file and Path(offset_file).exists():
        moment += timedelta(seconds=float(Path(offset_file).read_text() or 0))
    return moment


# --- Kiosks -------------------------------------------------------------------------------


def suspicion(kiosk, captured_at: datetime, answers: Mapping[str, int | None]) -> str | None:
    """Why a new rating from `kiosk` looks suspect ("burst", "streak"), or None.

    A kiosk chooses its own capture time, so the receive time counts too: the kiosk's ratings
    as received may not outrun one per BURST on average (a backlog after an outage fits).
    """
    last = kiosk.last_rating_at
    kiosk.last_rating_at = max(last, captured_at) if last else captured_at
    if last is not None and abs(captured_at - last) < BURST:
        return "burst"
    limit = parse(current_app.config["SURVEY_KIOSK_RECEIVE_LIMIT"])
    if not tally.current().acquire(
        f"kiosk:{kiosk.id}", limit=limit.amount, window=limit.get_expiry(), now=_epoch(now())
    ):
        return "burst"
    return "streak" if _streak(kiosk, captured_at, answers) else None


def _streak(kiosk, captured_at: datetime, answers: Mapping[str, int | None]) -> bool:
    """The last ratings of this kiosk, by capture or receive time, all equal to these."""
    since = now() - STREAK_WINDOW
    recent = list(
        db.session.scalars(
            select(Response.id)
            .where(
                Response.kiosk_id == kiosk.id,
                (Response.captured_at >= captured_at - STREAK_WINDOW)
                | (Response.received_at >= since),
            )
            .order_by(Response.id.desc())
            .limit(STREAK_LENGTH - 1)
        )
    )
    if len(recent) < STREAK_LENGTH - 1:
        return False
    mine = {k: v for k, v in answers.items() if v is not None}
    rows = db.session.execute(
        select(Answer.response_id, Answer.item, Answer.value).where(
            Answer.response_id.in_(recent), Answer.value.is_not(None)
        )
    )
    earlier: dict[int, dict] = {rid: {} for rid in recent}
    for rid, item, value in rows:
        earlier[rid][item] = value
    return all(a == mine for a in earlier.values())


# --- Phones (the QR and web path) -----------------------------------------------------------


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="fill-time")


def phone_ceilings(*, exempt_when):
    """Refuse (429) posts of a rating question past the session's and the address's ceiling."""

    def wrap(view):
        for setting, key, scope in (
            ("SURVEY_PHONE_SESSION_LIMIT", rate_key, "phone-session"),
            ("SURVEY_PHONE_ADDRESS_CEILING", get_remote_address, "phone-address"),
        ):
            view = limiter.limit(
                lambda setting=setting: current_app.config[setting],
                key_func=key,
                methods=["POST"],
                exempt_when=exempt_when,
                scope=scope,
            )(view)
        return view

    return wrap


def fill_token(rid: str) -> str:
    """A signed note of when the question page for response `rid` was shown."""
    return _signer().dumps({"r": rid, "t": round(_epoch(now()), 3)})


def _note(rid: str, token: str | None) -> dict | None:
    """The page's signed note, if it is genuine and was issued for response `rid`."""
    try:
        note = _signer().loads(token or "")
    except BadSignature:
        return None
    return note if isinstance(note, dict) and note.get("r") == rid else None


def issued_for(rid: str, token: str | None) -> bool:
    """Whether the question page that made the id `rid` sent this form (its note says so).

    A double tap sends the overall question twice at once: the second request's cookie does
    not list the response the first one stored yet, but its form carries the page's note.
    """
    return _note(rid, token) is not None


def read_too_fast(rid: str, token: str | None) -> bool:
    """True when the rating `rid` came sooner than the minimum fill time (or without a note)."""
    note = _note(rid, token)
    if note is None:
        return True
    minimum = float(current_app.config["SURVEY_PHONE_MIN_FILL_SECONDS"])
    return _epoch(now()) - float(note.get("t", 0)) < minimum


def address_key() -> str:
    """The client address (after ProxyFix), keyed with the secret so the store holds no IP."""
    secret = current_app.config["SECRET_KEY"].encode()
    address = (get_remote_address() or "").encode()
    return hmac.new(secret, address, hashlib.sha256).hexdigest()[:20]


def phone_flag(*, rid: str, token: str | None, service, counter, visit: bool) -> str | None:
    """Why a new phone rating must wait for review ("fast", "surge", "address"), or None."""
    moment = now()
    fast = not visit and read_too_fast(rid, token)
    surge = _surging(f"service:{service.id}", moment, Response.service_id == service.id)
    if counter is not None:
        at_counter = Response.counter_id == counter.id
        surge = _surging(f"counter:{counter.id}", moment, at_counter) or surge
    if fast or surge:
        return "fast" if fast else "surge"
    if visit:  # one rating per dossier already: the address is not the citizen's limit
        return None
    limit = parse(current_app.config["SURVEY_PHONE_ADDRESS_LIMIT"])
    counted = tally.current().acquire(
        f"address:{address_key()}:service:{service.id}",
        limit=limit.amount,
        window=limit.get_expiry(),
        now=_epoch(moment),
    )
    return None if counted else "address"


def _surging(key: str, moment: datetime, where) -> bool:
    """Count a rating in this hour of `key`; True when the hour is past the surge line."""
    hour = int(_epoch(moment)) // HOUR
    store = tally.current()
    received = store.incr(f"hour:{key}:{hour}", expiry=2 * HOUR, now=_epoch(moment))
    baseline = store.get(f"p95:{key}:{hour}", now=_epoch(moment))
    if baseline is None:
        baseline = busiest_hour(where, until=datetime.fromtimestamp(hour * HOUR, UTC))
        store.put(f"p95:{key}:{hour}", baseline, expiry=HOUR, now=_epoch(moment))
    config = current_app.config
    line = max(config["SURVEY_SURGE_FACTOR"] * baseline, baseline + config["SURVEY_SURGE_MARGIN"])
    return received > line


def busiest_hour(where, *, until: datetime) -> int:
    """The 95th-percentile hourly count of phone ratings over the 30 days before `until`.

    Read once per hour per service or counter (cached in the store), never per write.
    """
    since = until - timedelta(days=BASELINE_DAYS)
    times = db.session.scalars(
        select(Response.captured_at).where(
            where,
            Response.channel.in_(PHONE_CHANNELS),
            Response.captured_at >= since,
            Response.captured_at < until,
        )
    )
    per_hour: dict[int, int] = {}
    for moment in times:
        bucket = int(moment.timestamp()) // HOUR
        per_hour[bucket] = per_hour.get(bucket, 0) + 1
    hours = BASELINE_DAYS * 24
    counts = sorted(per_hour.values(), reverse=True)
    rank = hours - math.ceil(0.95 * hours) + 1  # the 37th busiest of 720 (empty hours are 0)
    return counts[rank - 1] if len(counts) >= rank else 0
