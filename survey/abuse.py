"""Abuse control that fits a centre: every kiosk and phone shares one public address.

Limits are keyed by the device credential, the visit code or the browser's own session, never
by IP. Suspect ratings (a burst from one kiosk, or a streak of identical answers) are kept,
flagged, left out of the index and listed for a manager to confirm or clear.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from flask import g, request, session
from sqlalchemy import select

from survey.extensions import db

BURST = timedelta(seconds=5)  # no citizen finishes the kiosk journey faster
STREAK_LENGTH = 8  # this many identical ratings in a row from one kiosk ...
STREAK_WINDOW = timedelta(minutes=15)  # ... within this time
KIOSK_COOKIE = "kiosk_device"


def rate_key() -> str:
    """The rate-limit key of a request: the device, else the visit code, else the browser."""
    header = request.headers.get("Authorization", "")
    credential = header[7:] if header.startswith("Bearer ") else request.cookies.get(KIOSK_COOKIE)
    if credential:
        return "device:" + hashlib.sha256(credential.encode()).hexdigest()[:16]
    if session.get("visit"):
        return "visit:" + session["visit"][:16]
    if "browser" not in session:
        session["browser"] = secrets.token_hex(8)
    return "browser:" + session["browser"]


def suspicion(kiosk, captured_at: datetime, answers: Mapping[str, int | None]) -> str | None:
    """Why a new rating from `kiosk` looks suspect ("burst", "streak"), or None."""
    from survey.models import Answer, Response

    last = kiosk.last_rating_at
    kiosk.last_rating_at = max(last, captured_at) if last else captured_at
    if last is not None and abs(captured_at - last) < BURST:
        return "burst"
    recent = list(
        db.session.scalars(
            select(Response.id)
            .where(
                Response.kiosk_id == kiosk.id, Response.captured_at >= captured_at - STREAK_WINDOW
            )
            .order_by(Response.captured_at.desc())
            .limit(STREAK_LENGTH - 1)
        )
    )
    if len(recent) < STREAK_LENGTH - 1:
        return None
    mine = {k: v for k, v in answers.items() if v is not None}
    rows = db.session.execute(
        select(Answer.response_id, Answer.item, Answer.value).where(
            Answer.response_id.in_(recent), Answer.value.is_not(None)
        )
    )
    earlier: dict[int, dict] = {rid: {} for rid in recent}
    for rid, item, value in rows:
        earlier[rid][item] = value
    return "streak" if all(a == mine for a in earlier.values()) else None


def current_kiosk():
    """The kiosk device of this request (cookie or bearer token), cached on g."""
    if "kiosk" not in g:
        from survey import kiosks

        header = request.headers.get("Authorization", "")
        token = (
            header[7:].strip()
            if header.startswith("Bearer ")
            else request.cookies.get(KIOSK_COOKIE)
        )
        g.kiosk = kiosks.device_for_token(token) if token else None
    return g.kiosk
