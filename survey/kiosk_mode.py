"""Kiosk mode: whether a request is a kiosk's. The one test, used everywhere.

A kiosk's pages live under /k: the citizen pages registered a second time (blueprint "kiosk")
and the kiosk's own endpoints (survey/kiosk.py). The test is the path, so that it holds for
every page under /k, an error page included, and this module imports nothing of ours: the
languages (survey/i18n.py) ask it too.
"""

from __future__ import annotations

from flask import has_request_context, request

PREFIX = "/k"


def in_kiosk() -> bool:
    """True for a request to a kiosk page (/k and everything under /k/)."""
    if not has_request_context():
        return False
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")
