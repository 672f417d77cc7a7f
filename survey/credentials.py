"""The bearer token a request carries: an API user's or a kiosk's (`Authorization: Bearer …`).

The one parser of that header; the API's users and the kiosks are found from it.
"""

from __future__ import annotations

from flask import request

from survey import accounts
from survey.models import User


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer …` header, parsed once by Werkzeug."""
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        return None
    return auth.token.strip() or None


def api_user() -> User | None:
    """The user whose API token this request carries, or None."""
    token = bearer_token()
    return accounts.user_for_api_token(token) if token else None
