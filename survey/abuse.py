"""Abuse control that fits a centre: every kiosk and phone shares one public address.

Kiosk limits are keyed by the device credential; a phone's by its browser session and, for
what is *counted*, by its address. A phone rating past its limits is kept but flagged:

- fast: sent sooner than a citizen can read the question (signed fill time);
- address: past the number of phone ratings one address may have counted for a service;
- surge: past 3x the usual busiest hour of a service or counter (and 20 more).

A kiosk's reasons (burst, streak), the flags themselves and their review are in flags.py.
Counters live in the shared store (tally.py), so they hold across workers and servers.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, current_app, g, request, session
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse
from sqlalchemy import select

from survey import errors, kiosks, tally
from survey.credentials import bearer_token
from survey.extensions import db, limiter
from survey.models import Response, utcnow

KIOSK_COOKIE = "kiosk_device"
PHONE_CHANNELS = ("qr", "web")
HOUR = 3600
BASELINE_DAYS = 30


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


parsed_limit = functools.lru_cache(maxsize=32)(parse)  # a setting's text, parsed once


def kiosk_requests_limited(view):
    """Refuse (429, with Retry-After) a device's request past SURVEY_KIOSK_RATE_LIMIT: a fixed
    window per credential (`rate_key`), counted in the shared tally, so that it holds across
    workers and servers.

    The kiosk's write routes count here rather than through Flask-Limiter: the same count on
    the same store, without the extension's per-request work (resolving the route's limits,
    their exemptions and the rate-limit headers), which was a tenth of the app's CPU per
    kiosk rating. A 429 says how long the window has left; other replies carry no rate-limit
    headers (a kiosk reads Retry-After only)."""

    @functools.wraps(view)
    def limited(*args, **kwargs):
        limit = parsed_limit(current_app.config["SURVEY_KIOSK_RATE_LIMIT"])
        key, moment = "kiosk-requests:" + rate_key(), now().timestamp()
        counter = tally.current()
        if counter.incr(key, expiry=limit.get_expiry(), now=moment) > limit.amount:
            response = errors.render_error(429, *errors.MESSAGES[429])
            response.headers["Retry-After"] = str(max(1, math.ceil(counter.left(key, now=moment))))
            return response
        return view(*args, **kwargs)

    return limited


def route_limits_only(app: Flask) -> None:
    """Drop Flask-Limiter's check before every request while every limit is a route's own.

    A route's limits are checked by its decorator, once; the check before the request counts
    default, application and blueprint limits only. With none of them (the app sets none) it
    finds nothing to count, yet costs every request, each kiosk rating included. Should any
    appear (or the library name them otherwise), the check stays.
    """
    manager = limiter.limit_manager
    kinds = ("_default_limits", "_application_limits", "_blueprint_limits")
    if not all(hasattr(manager, kind) and not getattr(manager, kind) for kind in kinds):
        return
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)


def current_kiosk():
    """The kiosk device of this request (cookie or bearer token), cached on g."""
    if "kiosk" not in g:
        token = _kiosk_token()
        g.kiosk = kiosks.device_for_token(token) if token else None
    return g.kiosk


def kiosk_for_write(
    service_code: str | None, public_id: str | None, captured_at: datetime | None = None
):
    """The kiosk of this request (a kiosks.WriteKiosk) with the active service and the stored
    response a write names, and the active questionnaire (kiosks.device_for_write: one
    statement, with the kiosk's recent ratings when `captured_at` is given)."""
    token = _kiosk_token()
    if not token:
        return None, None, None, None
    return kiosks.device_for_write(
        token, service_code=service_code, public_id=public_id, captured_at=captured_at
    )


def _kiosk_token() -> str | None:
    return bearer_token() or request.cookies.get(KIOSK_COOKIE)


def now() -> datetime:
    """The clock of the limits: the server's, moved by SURVEY_BENCH_CLOCK_FILE in a bench."""
    moment = utcnow()
    offset_file = current_app.config.get("SURVEY_BENCH_CLOCK_FILE")
    if offset_file and Path(offset_file).exists():
        moment += timedelta(seconds=float(Path(offset_file).read_text() or 0))
    return moment


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
    limit = parsed_limit(current_app.config["SURVEY_PHONE_ADDRESS_LIMIT"])
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
